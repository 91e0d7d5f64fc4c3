//! The Atom and RSS 2.0 feeds of the public services: all of them at `/status/feed.atom` and
//! `/status/feed.rss`, one at `/status/services/{id}/feed.atom` (and `.rss`). Each entry is a
//! ticket (open, planned, or resolved in the last 14 days), under an id that never changes (its
//! page's address), so a feed reader shows a new event as an update of the same entry. Written
//! with the `atom_syndication` and `rss` crates.

use atom_syndication as atom;

use super::cache::Output;
use super::frame::{self, PublicError};
use super::status::RESOLVED_FOR;
use super::view::{self, TicketView};
use crate::domain::{Service, Timestamp};
use crate::live_settings::Snapshot;
use crate::store::{PublicBoard, Store};

/// The most entries a feed holds (the most recently changed).
const ENTRIES: usize = 100;

pub const ATOM: &str = "application/atom+xml; charset=utf-8";
pub const RSS: &str = "application/rss+xml; charset=utf-8";

/// Which feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Atom,
    Rss,
}

/// What a feed holds: its title, its page, its entries (newest change first).
struct Contents {
    title: String,
    page: String,
    self_url: String,
    organisation: String,
    entries: Vec<(TicketView, Timestamp)>,
}

/// The feed of every public service (`service: None`) or of one; `None` for a service that is
/// not public.
pub async fn feed(
    store: &Store,
    settings: &Snapshot,
    base: &str,
    format: Format,
    service: Option<i64>,
    now: Timestamp,
) -> Result<Output, PublicError> {
    let board = store.public_board(now.minus(RESOLVED_FOR)).await?;
    let Some(contents) = contents(&board, settings, base, format, service, now) else {
        return Ok(None);
    };
    Ok(Some(match format {
        Format::Atom => (atom_feed(&contents, now).to_string(), ATOM),
        Format::Rss => (rss_feed(&contents, now).to_string(), RSS),
    }))
}

fn contents(
    board: &PublicBoard,
    settings: &Snapshot,
    base: &str,
    format: Format,
    service: Option<i64>,
    now: Timestamp,
) -> Option<Contents> {
    let organisation = frame::organisation(settings);
    let chosen: Option<&Service> = match service {
        Some(id) => Some(board.services.iter().find(|s| s.id == id)?),
        None => None,
    };
    let mut entries: Vec<(TicketView, Timestamp)> = board
        .tickets
        .iter()
        .filter(|t| chosen.is_none_or(|s| t.ticket.services.iter().any(|x| x.id == s.id)))
        .map(|t| (TicketView::of(t, now), t.updated))
        .collect();
    entries.sort_by_key(|(t, at)| std::cmp::Reverse((*at, t.id)));
    entries.truncate(ENTRIES);
    let extension = match format {
        Format::Atom => "atom",
        Format::Rss => "rss",
    };
    let (title, path) = match chosen {
        Some(s) => (
            format!("{organisation} status: {}", s.name),
            format!("/status/services/{}/feed.{extension}", s.id),
        ),
        None => (
            format!("{organisation} status"),
            format!("/status/feed.{extension}"),
        ),
    };
    Some(Contents {
        title,
        page: format!("{base}/status"),
        self_url: format!("{base}{path}"),
        organisation,
        entries: entries
            .into_iter()
            .map(|(mut t, at)| {
                t.url = format!("{base}{}", t.url);
                (t, at)
            })
            .collect(),
    })
}

/// An entry's title: what kind of ticket, and its first line.
fn entry_title(t: &TicketView) -> String {
    format!("{}: {}", t.phase.label(), t.title)
}

/// An entry's text: the description, the services and the times, as plain text.
fn entry_text(t: &TicketView) -> String {
    let mut text = format!("{}\n\nAffects: {}", t.description, t.services_text());
    let mut line = |label: &str, w: &Option<crate::when::When>| {
        if let Some(w) = w {
            text.push_str(&format!("\n{label}: {}", w.text));
        }
    };
    line(
        if t.phase.is_planned() {
            "Starts"
        } else {
            "Started"
        },
        &t.start,
    );
    line("Ends", &t.end);
    line("Expected resolution", &t.expected);
    line("Next update", &t.next_update);
    line("Resolved", &t.closed);
    text
}

fn chrono_of(ts: Timestamp) -> atom::FixedDateTime {
    ts.to_chrono().fixed_offset()
}

/// The feed's time: its newest entry's, else now (to the minute, as the page).
fn feed_updated(c: &Contents, now: Timestamp) -> Timestamp {
    c.entries
        .first()
        .map(|(_, at)| *at)
        .unwrap_or_else(|| view::minute_of(now))
}

fn atom_feed(c: &Contents, now: Timestamp) -> atom::Feed {
    let link = |href: &str, rel: &str, kind: Option<&str>| {
        let mut l = atom::Link::default();
        l.set_href(href);
        l.set_rel(rel);
        l.set_mime_type(kind.map(str::to_owned));
        l
    };
    let author = {
        let mut p = atom::Person::default();
        p.set_name(c.organisation.clone());
        p
    };
    let mut feed = atom::Feed::default();
    feed.set_title(c.title.clone());
    feed.set_id(c.self_url.clone());
    feed.set_updated(chrono_of(feed_updated(c, now)));
    feed.set_authors(vec![author]);
    feed.set_links(vec![
        link(&c.self_url, "self", Some("application/atom+xml")),
        link(&c.page, "alternate", Some("text/html")),
    ]);
    feed.set_entries(
        c.entries
            .iter()
            .map(|(t, at)| {
                let mut e = atom::Entry::default();
                e.set_id(t.url.clone());
                e.set_title(entry_title(t));
                e.set_updated(chrono_of(*at));
                e.set_published(Some(chrono_of(t.created_ts)));
                e.set_links(vec![link(&t.url, "alternate", Some("text/html"))]);
                e.set_categories(
                    t.services
                        .iter()
                        .map(|s| {
                            let mut cat = atom::Category::default();
                            cat.set_term(s.clone());
                            cat
                        })
                        .collect::<Vec<_>>(),
                );
                let mut content = atom::Content::default();
                content.set_content_type(Some("text".to_owned()));
                content.set_value(Some(entry_text(t)));
                e.set_content(Some(content));
                e
            })
            .collect::<Vec<_>>(),
    );
    feed
}

fn rss_feed(c: &Contents, now: Timestamp) -> rss::Channel {
    let mut channel = rss::Channel::default();
    channel.set_title(c.title.clone());
    channel.set_link(c.page.clone());
    channel.set_description(format!(
        "What is happening with {}'s services",
        c.organisation
    ));
    channel.set_last_build_date(Some(feed_updated(c, now).to_chrono().to_rfc2822()));
    channel.set_generator(Some("Herald".to_owned()));
    channel.set_items(
        c.entries
            .iter()
            .map(|(t, at)| {
                let mut item = rss::Item::default();
                item.set_title(Some(entry_title(t)));
                item.set_link(Some(t.url.clone()));
                let mut guid = rss::Guid::default();
                guid.set_value(t.url.clone());
                guid.set_permalink(true);
                item.set_guid(Some(guid));
                item.set_pub_date(Some(at.to_chrono().to_rfc2822()));
                item.set_description(Some(entry_text(t)));
                item.set_categories(
                    t.services
                        .iter()
                        .map(|s| {
                            let mut cat = rss::Category::default();
                            cat.set_name(s.clone());
                            cat
                        })
                        .collect::<Vec<_>>(),
                );
                item
            })
            .collect::<Vec<_>>(),
    );
    channel
}
