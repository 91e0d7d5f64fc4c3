//! Incident-day load: every public page and feed is rendered once and served from memory
//! until something it shows changes, on this instance or any other on the same database.
//!
//! Whether anything changed is one tiny read: the `public_version` counter, which triggers
//! bump in the transaction of every change to tickets and services. Requests share reads: a
//! request uses the latest read when it began after the request arrived, or when it began at
//! most [`SHARED_READ`] before (by the store's clock) and this instance committed no change to
//! tickets or services since it began ([`Store::public_writes`]); else it waits for a new read,
//! shared by the requests waiting with it. So a change committed through this instance is seen
//! by the next request, and one committed through another instance (or by hand in SQL) within
//! [`SHARED_READ`], well inside the [`MAX_AGE`] a CDN may keep a page anyway; a crowd costs one
//! small read per [`SHARED_READ`], not one per round trip to the database. The page is
//! rendered again only when the counter moved, when the minute changed (the page says "in 2 h"
//! and whether planned work has begun) or when the settings it shows did.
//!
//! Answers carry a strong `ETag` (a digest of the bytes, the same on every instance) and
//! `Last-Modified`; `If-None-Match` / `If-Modified-Since` get a 304. `Cache-Control` lets a
//! CDN keep a page for [`MAX_AGE`] seconds and serve it stale while it revalidates, or while
//! Herald cannot answer. When the database cannot be read, the last page rendered is served.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime};

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::frame::PublicError;
use crate::domain::Timestamp;
use crate::live_settings::Snapshot;
use crate::store::{Store, StoreError};

/// How long a CDN (or a browser) may keep a page without asking again, in seconds.
pub const MAX_AGE: u32 = 10;

/// How long a read of the change counter serves the requests that arrive after it began, while
/// this instance commits no change the pages show: the longest a change committed through
/// another instance goes unseen here.
pub const SHARED_READ: std::time::Duration = std::time::Duration::from_secs(1);

const CACHE_CONTROL: &str = "public, max-age=10, stale-while-revalidate=30, stale-if-error=86400";

/// Which page or feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PageKey {
    Status,
    Ticket(i64),
    Feed(super::feeds::Format, Option<i64>),
}

/// A page as rendered, ready to serve.
#[derive(Debug)]
pub struct Rendered {
    body: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
    last_modified: HeaderValue,
    /// Rendered at `SystemTime` truncated to the second (what `Last-Modified` says).
    modified: SystemTime,
    /// What it was rendered from.
    version: i64,
    minute: i64,
    settings: Shown,
}

/// The settings the pages show: the organisation's name, the public URL, and whether the
/// status page offers self-subscription.
type Shown = (Option<String>, Option<String>, bool);

/// What a render produced: the body and its type, or nothing (a 404, not kept).
pub type Output = Option<(String, &'static str)>;

/// The settings a page shows: when they change, it is rendered again.
fn shown_settings(settings: &Snapshot) -> Shown {
    (
        settings.organisation_name.clone(),
        settings.public_url.clone(),
        settings.self_subscription,
    )
}

#[derive(Debug, Default)]
struct Checked {
    /// When the latest read of the counter began.
    began: Option<Instant>,
    /// The same by the store's clock, and this instance's [`Store::public_writes`] then.
    began_at: Option<Timestamp>,
    writes: u64,
    version: i64,
}

impl Checked {
    /// May a request that arrived at `arrived` (`arrived_at` by the store's clock, when this
    /// instance had committed `writes` changes) use this read?
    fn serves(&self, arrived: Instant, arrived_at: Timestamp, writes: u64) -> bool {
        let Some((began, began_at)) = self.began.zip(self.began_at) else {
            return false;
        };
        let age = arrived_at.ticks() - began_at.ticks();
        let recent = (0..=SHARED_READ.as_nanos() as i64 / 100).contains(&age);
        began >= arrived || (recent && self.writes == writes)
    }
}

/// The rendered pages of this instance.
#[derive(Debug, Default)]
pub struct PublicCache {
    checked: Mutex<Checked>,
    pages: RwLock<HashMap<PageKey, Arc<Rendered>>>,
    /// One render at a time: a crowd arriving at a change waits for one render, not 64.
    rendering: Mutex<()>,
}

impl PublicCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The change counter as of a read that began after this call did, or a recent one (see
    /// [`Checked::serves`]).
    async fn version(&self, store: &Store) -> Result<i64, StoreError> {
        let (arrived, arrived_at, writes) = (Instant::now(), store.now(), store.public_writes());
        let mut checked = self.checked.lock().await;
        if checked.serves(arrived, arrived_at, writes) {
            return Ok(checked.version);
        }
        // Taken before the read: a change committed after this may be missing from it.
        let (began, began_at, writes) = (Instant::now(), store.now(), store.public_writes());
        let version = store.public_version().await?;
        *checked = Checked {
            began: Some(began),
            began_at: Some(began_at),
            writes,
            version,
        };
        Ok(version)
    }

    fn current(&self, key: PageKey) -> Option<Arc<Rendered>> {
        self.pages
            .read()
            .expect("the page cache lock is never poisoned")
            .get(&key)
            .cloned()
    }

    /// Serves `key`: from memory when nothing it shows changed, else rendered by `render`
    /// (given the time to render for) and kept.
    pub async fn serve<F, Fut>(
        &self,
        store: &Store,
        settings: &Snapshot,
        now: Timestamp,
        key: PageKey,
        request: &HeaderMap,
        render: F,
    ) -> Result<Option<Response>, PublicError>
    where
        F: FnOnce(Timestamp) -> Fut,
        Fut: Future<Output = Result<Output, PublicError>>,
    {
        let version = match self.version(store).await {
            Ok(v) => v,
            Err(e) => match self.current(key) {
                // The database is away: the last page is better than none.
                Some(page) => {
                    tracing::warn!(error = %e, "public page served from memory: the database cannot be read");
                    return Ok(Some(answer(&page, request)));
                }
                None => return Err(e.into()),
            },
        };
        let minute = now.unix_micros().div_euclid(60_000_000);
        let shown = shown_settings(settings);
        let fresh = |page: &Rendered| {
            page.version == version && page.minute == minute && page.settings == shown
        };
        if let Some(page) = self.current(key).filter(|p| fresh(p)) {
            return Ok(Some(answer(&page, request)));
        }
        let _one_at_a_time = self.rendering.lock().await;
        if let Some(page) = self.current(key).filter(|p| fresh(p)) {
            return Ok(Some(answer(&page, request)));
        }
        let Some((body, content_type)) = render(now).await? else {
            return Ok(None);
        };
        let page = Arc::new(Rendered::new(body, content_type, version, minute, shown));
        let mut pages = self
            .pages
            .write()
            .expect("the page cache lock is never poisoned");
        // Pages of older versions are of no more use.
        pages.retain(|_, p| p.version == version);
        pages.insert(key, page.clone());
        drop(pages);
        Ok(Some(answer(&page, request)))
    }
}

impl Rendered {
    fn new(
        body: String,
        content_type: &'static str,
        version: i64,
        minute: i64,
        settings: Shown,
    ) -> Rendered {
        let digest = Sha256::digest(body.as_bytes());
        let etag = HeaderValue::from_str(&format!("\"{}\"", hex::encode(&digest[..12])))
            .expect("hex digests are valid header values");
        let modified = whole_second(SystemTime::now());
        let last_modified = HeaderValue::from_str(&httpdate::fmt_http_date(modified))
            .expect("HTTP dates are valid header values");
        Rendered {
            body: Bytes::from(body),
            content_type,
            etag,
            last_modified,
            modified,
            version,
            minute,
            settings,
        }
    }
}

fn whole_second(t: SystemTime) -> SystemTime {
    let since = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(since)
}

/// Does the request already hold this page? `If-None-Match` (weak comparison, `*`) wins over
/// `If-Modified-Since` (RFC 9110 §13.2.2).
fn not_modified(page: &Rendered, request: &HeaderMap) -> bool {
    let tags: Vec<&str> = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if !tags.is_empty() {
        let ours = page.etag.to_str().unwrap_or_default();
        return tags
            .iter()
            .any(|t| *t == "*" || t.strip_prefix("W/").unwrap_or(t) == ours);
    }
    request
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .is_some_and(|since| page.modified <= since)
}

fn answer(page: &Rendered, request: &HeaderMap) -> Response {
    let mut response = if not_modified(page, request) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = page.body.clone().into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(page.content_type),
        );
        r
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, page.etag.clone());
    headers.insert(header::LAST_MODIFIED, page.last_modified.clone());
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Rendered {
        Rendered::new("<p>ok</p>".into(), "text/html", 1, 2, (None, None, false))
    }

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn conditional_requests() {
        let p = page();
        let tag = p.etag.to_str().unwrap().to_owned();
        assert!(not_modified(&p, &with(header::IF_NONE_MATCH, &tag)));
        assert!(not_modified(
            &p,
            &with(header::IF_NONE_MATCH, &format!("\"x\", W/{tag}"))
        ));
        assert!(not_modified(&p, &with(header::IF_NONE_MATCH, "*")));
        assert!(!not_modified(&p, &with(header::IF_NONE_MATCH, "\"other\"")));
        assert!(!not_modified(&p, &HeaderMap::new()));
        let date = p.last_modified.to_str().unwrap().to_owned();
        assert!(not_modified(&p, &with(header::IF_MODIFIED_SINCE, &date)));
        assert!(!not_modified(
            &p,
            &with(header::IF_MODIFIED_SINCE, "Sat, 01 Jan 2000 00:00:00 GMT")
        ));
        assert!(!not_modified(
            &p,
            &with(header::IF_MODIFIED_SINCE, "yesterday")
        ));
        // A tag that does not match wins over a date that would.
        let mut both = with(header::IF_NONE_MATCH, "\"other\"");
        both.insert(
            header::IF_MODIFIED_SINCE,
            HeaderValue::from_str(&date).unwrap(),
        );
        assert!(!not_modified(&p, &both));
    }

    #[test]
    fn a_read_serves_later_requests_only_while_recent_and_nothing_was_written_here() {
        let (began, at) = (Instant::now(), Timestamp::from_ticks(1_000_000_000));
        let read = Checked {
            began: Some(began),
            began_at: Some(at),
            writes: 7,
            version: 3,
        };
        let later = began + std::time::Duration::from_millis(1);
        assert!(read.serves(later, at.plus(SHARED_READ), 7));
        assert!(
            !read.serves(later, at.plus(SHARED_READ).plus_millis(1), 7),
            "too old"
        );
        assert!(
            !read.serves(later, at.plus_millis(1), 8),
            "a change committed here since"
        );
        assert!(
            !read.serves(later, at.minus(SHARED_READ), 7),
            "the clock went back"
        );
        // A read that began after the request arrived always serves it.
        assert!(read.serves(began, at.plus(SHARED_READ * 100), 8));
        assert!(!Checked::default().serves(later, at, 0));
    }

    #[test]
    fn the_same_bytes_have_the_same_tag() {
        assert_eq!(page().etag, page().etag);
        let other = Rendered::new(
            "<p>changed</p>".into(),
            "text/html",
            1,
            2,
            (None, None, false),
        );
        assert_ne!(page().etag, other.etag);
    }
}
