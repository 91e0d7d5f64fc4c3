//! What every customer page shares: the organisation's name, the error and notice pages, and
//! the mapping of store errors to them.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::live_settings::Snapshot;
use crate::store::StoreError;

/// The organisation the pages speak for: the setting `organisation_name`, else Herald's own name.
pub fn organisation(settings: &Snapshot) -> String {
    settings
        .organisation_name
        .clone()
        .unwrap_or_else(|| "Herald".to_owned())
}

/// A feed a status page links to (`<link rel="alternate">` and a link in the footer).
#[derive(Debug, Clone)]
pub struct Alternate {
    /// `application/atom+xml`, `application/rss+xml`, `text/calendar`.
    pub kind: &'static str,
    pub title: String,
    /// What the footer's link says.
    pub label: &'static str,
    pub href: String,
}

/// The Atom, RSS and iCalendar feeds under `base` (`/status` or a service's), about `about`.
pub fn feeds(base: &str, about: &str) -> Vec<Alternate> {
    vec![
        Alternate {
            kind: "application/atom+xml",
            title: format!("{about} (Atom)"),
            label: "Atom feed",
            href: format!("{base}/feed.atom"),
        },
        Alternate {
            kind: "application/rss+xml",
            title: format!("{about} (RSS)"),
            label: "RSS feed",
            href: format!("{base}/feed.rss"),
        },
        Alternate {
            kind: "text/calendar",
            title: format!("{about}: planned work (iCalendar)"),
            label: "Calendar of planned work",
            href: format!("{base}/calendar.ics"),
        },
    ]
}

/// A page that says what went wrong (or right), with its status.
#[derive(Template)]
#[template(path = "public/notice.html")]
pub struct Notice {
    pub organisation: String,
    pub title: String,
    pub message: String,
    /// A link back to the personal page, when there is one to go back to.
    pub back: Option<String>,
}

/// Why a customer page did not do what was asked.
#[derive(Debug)]
pub enum PublicError {
    /// Unknown, revoked or malformed link: nothing was changed.
    LinkInvalid,
    /// The form's CSRF token is missing or wrong.
    Forbidden,
    /// The form asked for something that cannot be (an unknown service).
    BadRequest(String),
    /// The database cannot be reached (or is full): try again later.
    Unavailable,
    /// A page that is switched off (self-subscription off): a plain 404.
    Off,
    /// A link that worked once and cannot any more (a confirmation used or expired): 410.
    Gone(&'static str, String),
    /// Too many requests from this client: 429.
    TooMany,
    Internal(anyhow::Error),
}

impl From<StoreError> for PublicError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => PublicError::LinkInvalid,
            StoreError::Invalid(problems) => PublicError::BadRequest(
                problems
                    .into_iter()
                    .map(|(_, m)| m)
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            StoreError::Unavailable(_) | StoreError::StorageFull(_) => PublicError::Unavailable,
            e => PublicError::Internal(e.into()),
        }
    }
}

impl From<askama::Error> for PublicError {
    fn from(e: askama::Error) -> Self {
        PublicError::Internal(e.into())
    }
}

impl PublicError {
    /// The error page, naming `organisation`.
    pub fn page(self, organisation: String) -> Response {
        let (status, title, message) = match self {
            PublicError::LinkInvalid => (
                StatusCode::NOT_FOUND,
                "This link is no longer valid",
                "Nothing was changed. The newest email you received has a link that works."
                    .to_owned(),
            ),
            PublicError::Forbidden => (
                StatusCode::FORBIDDEN,
                "The form had expired",
                "Nothing was changed. Open the page again from your email and try once more."
                    .to_owned(),
            ),
            PublicError::BadRequest(why) => (
                StatusCode::BAD_REQUEST,
                "That could not be saved",
                format!("Nothing was changed. {why}"),
            ),
            PublicError::Off => (
                StatusCode::NOT_FOUND,
                "There is no such page",
                "Nothing is here.".to_owned(),
            ),
            PublicError::Gone(title, message) => (StatusCode::GONE, title, message),
            PublicError::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "Nothing was sent. Too many subscriptions were asked for from your network \
                 lately: please try again in an hour."
                    .to_owned(),
            ),
            PublicError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Please try again in a moment",
                "Nothing was changed: the service is briefly unavailable.".to_owned(),
            ),
            PublicError::Internal(e) => {
                tracing::error!(error = %crate::telemetry::error_chain(e.as_ref()), "customer page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Nothing was changed. Please try again later.".to_owned(),
                )
            }
        };
        let notice = Notice {
            organisation,
            title: title.to_owned(),
            message,
            back: None,
        };
        (status, render(&notice)).into_response()
    }
}

/// A template as an HTML answer (a page that cannot render is a plain 500).
pub fn render(page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "customer page could not be rendered");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
