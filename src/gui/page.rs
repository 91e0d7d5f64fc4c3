//! What every page shares: the frame around it ([`Chrome`]), rendering, the GUI's error type
//! and its error page, the one-line notices shown after a change, and how times are shown.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Datelike, Timelike};

use super::session::Session;
use crate::domain::{Operator, Timestamp};
use crate::store::StoreError;

/// The navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Tickets,
    Customers,
    Services,
    Operators,
    Settings,
    Account,
}

/// The frame of a page: who is signed in, the CSRF token for its forms, the active
/// navigation entry and the notice to show.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub operator: Option<Operator>,
    pub csrf: String,
    pub nav: Nav,
    pub notice: Option<&'static str>,
}

impl Chrome {
    pub fn new(session: &Session, nav: Nav, title: impl Into<String>) -> Self {
        Chrome {
            title: title.into(),
            operator: Some(session.operator.clone()),
            csrf: session.csrf.clone(),
            nav,
            notice: None,
        }
    }

    /// A page shown before signing in; `csrf` is the pre-session token.
    pub fn anonymous(title: impl Into<String>, csrf: String) -> Self {
        Chrome {
            title: title.into(),
            operator: None,
            csrf,
            nav: Nav::None,
            notice: None,
        }
    }

    /// Shows the notice named by a `?done=` code, if it is one.
    pub fn with_notice(mut self, code: Option<&str>) -> Self {
        self.notice = code.and_then(notice);
        self
    }

    /// The active navigation entry, as the templates compare it.
    pub fn section(&self) -> &'static str {
        match self.nav {
            Nav::None => "",
            Nav::Tickets => "tickets",
            Nav::Customers => "customers",
            Nav::Services => "services",
            Nav::Operators => "operators",
            Nav::Settings => "settings",
            Nav::Account => "account",
        }
    }

    pub fn css(&self) -> &'static str {
        super::assets::css_url()
    }

    pub fn js(&self) -> &'static str {
        super::assets::js_url()
    }
}

/// The notices a redirect can ask for with `?done=<code>`: fixed texts, so a link cannot
/// make Herald say something else.
const NOTICES: &[(&str, &str)] = &[
    (
        "welcome",
        "Welcome to Herald. Start by adding the services your customers use.",
    ),
    ("signed-in", "Signed in."),
    (
        "password-changed",
        "Your password was changed. Other sessions of yours were signed out.",
    ),
    ("ticket-created", "Ticket created."),
    ("ticket-saved", "Ticket saved."),
    (
        "ticket-deleted",
        "Ticket deleted. Its messages not sent yet were cancelled.",
    ),
    (
        "ticket-unchanged",
        "Nothing was changed, so nobody was notified.",
    ),
    ("ticket-closed", "Ticket closed."),
    ("ticket-reopened", "Ticket reopened."),
    (
        "ticket-changed",
        "Someone changed this ticket a moment ago, so nothing was done. Check it and try again.",
    ),
    ("customer-created", "Customer created."),
    ("customer-saved", "Customer saved."),
    ("customer-deleted", "Customer deleted."),
    ("service-created", "Service created."),
    ("service-saved", "Service saved."),
    (
        "service-deleted",
        "Service deleted. Its tickets still show it.",
    ),
    ("operator-created", "Operator created."),
    ("operator-saved", "Operator saved."),
    (
        "operator-deleted",
        "Operator deleted. Their tickets and history still show their name.",
    ),
    (
        "settings-saved",
        "Settings saved. Every instance uses them within a few seconds.",
    ),
    (
        "api-key-set",
        "API key changed. The old key stops working within a few seconds.",
    ),
];

pub fn notice(code: &str) -> Option<&'static str> {
    NOTICES.iter().find(|(c, _)| *c == code).map(|(_, t)| *t)
}

/// Renders a template as a page.
pub fn render(template: &impl Template) -> Result<Response, GuiError> {
    Ok(Html(template.render()?).into_response())
}

/// Renders a template with a status other than 200 (a form with errors, say).
pub fn render_status(status: StatusCode, template: &impl Template) -> Result<Response, GuiError> {
    Ok((status, Html(template.render()?)).into_response())
}

/// After a successful POST: 303 to the page that shows the result.
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

#[derive(Debug, thiserror::Error)]
pub enum GuiError {
    #[error("sign-in required")]
    SignInRequired { next: String },
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("missing or wrong CSRF token")]
    BadCsrf,
    #[error("request body too large")]
    TooLarge,
    #[error("unreadable form: {0}")]
    BadForm(String),
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("storage full")]
    StorageFull(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for GuiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => GuiError::NotFound,
            e @ StoreError::Unavailable(_) => GuiError::Unavailable(e.into()),
            e @ StoreError::StorageFull(_) => GuiError::StorageFull(e.into()),
            e => GuiError::Internal(e.into()),
        }
    }
}

impl From<askama::Error> for GuiError {
    fn from(e: askama::Error) -> Self {
        GuiError::Internal(e.into())
    }
}

#[derive(Template)]
#[template(path = "gui/error.html")]
struct ErrorPage {
    title: &'static str,
    message: &'static str,
    css: &'static str,
}

impl IntoResponse for GuiError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            GuiError::SignInRequired { next } => {
                let target = format!("/login?next={}", urlencode(next));
                return Redirect::to(&target).into_response();
            }
            GuiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Administrators only",
                "This page is for administrators. Ask an administrator of your Herald if you need access.",
            ),
            GuiError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here. It may have been deleted.",
            ),
            GuiError::BadCsrf => (
                StatusCode::FORBIDDEN,
                "The form has expired",
                "This form was not sent by a page Herald showed you in this session (or the session ended). Go back, reload the page and try again.",
            ),
            GuiError::BadForm(_) => (
                StatusCode::BAD_REQUEST,
                "The form could not be read",
                "The form's data is not valid text. Go back, check what you typed and try again.",
            ),
            GuiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much data",
                concat!("The form sent more than ", crate::body_limit_text!(), "."),
            ),
            GuiError::Unavailable(e) => {
                tracing::warn!(error = %crate::telemetry::error_chain(&**e), "GUI: database unavailable");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Temporarily unavailable",
                    "Herald cannot reach its database right now. Try again in a moment.",
                )
            }
            GuiError::StorageFull(e) => {
                tracing::error!(error = %crate::telemetry::error_chain(&**e), "GUI: database storage full");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage full",
                    crate::store::STORAGE_FULL,
                )
            }
            GuiError::Internal(e) => {
                tracing::error!(error = %crate::telemetry::error_chain(&**e), "GUI: internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Herald could not show this page. The error was logged.",
                )
            }
        };
        let page = ErrorPage {
            title,
            message,
            css: super::assets::css_url(),
        };
        match page.render() {
            Ok(html) => {
                let mut r = (status, Html(html)).into_response();
                if status == StatusCode::SERVICE_UNAVAILABLE {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                }
                r
            }
            Err(_) => status.into_response(),
        }
    }
}

/// "Delete X?": the page between a delete link and the deletion (so it works without a script).
#[derive(Template)]
#[template(path = "gui/confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub heading: String,
    pub message: String,
    pub action: String,
    pub cancel: String,
    pub button: String,
    pub error: Option<String>,
    /// The version of the thing to delete, checked when deleting (see [`super::resource`]).
    pub version: Option<String>,
}

impl ConfirmPage {
    /// Asks before `POST /{what}s/{id}/delete`, with a way back to the thing's own page. `what`
    /// is the resource's singular noun as in its URLs ("service").
    pub fn deletion(
        session: &Session,
        nav: Nav,
        what: &str,
        id: i64,
        heading: String,
        message: String,
    ) -> Self {
        ConfirmPage {
            chrome: Chrome::new(session, nav, format!("Delete {what}")),
            heading,
            message,
            action: format!("/{what}s/{id}/delete"),
            cancel: format!("/{what}s/{id}"),
            button: format!("Delete {what}"),
            error: None,
            version: None,
        }
    }
}

/// Where a deletion ends: the list of its kind, saying what happened.
pub fn deleted(what: &str) -> Response {
    see_other(&format!("/{what}s?done={what}-deleted"))
}

/// Where a create form (`editing` is `None`) or an edit form ends: the list of its kind, saying
/// which of the two happened.
pub fn saved(what: &str, editing: Option<i64>) -> Response {
    let done = if editing.is_none() {
        "created"
    } else {
        "saved"
    };
    see_other(&format!("/{what}s?done={what}-{done}"))
}

/// Which page of a long list is shown (50 rows a page).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: i64,
    pub pages: i64,
}

impl Paging {
    pub const SIZE: i64 = 50;

    /// The requested page (`?page=`, anything odd is the first) of `total` rows.
    pub fn of(total: i64, requested: Option<&str>) -> Paging {
        let pages = ((total + Self::SIZE - 1) / Self::SIZE).max(1);
        let page = requested
            .and_then(|p| p.trim().parse::<i64>().ok())
            .unwrap_or(1)
            .clamp(1, pages);
        Paging { page, pages }
    }

    /// The rows to read.
    pub fn window(&self) -> crate::store::Page {
        crate::store::Page {
            top: Some(Self::SIZE),
            skip: Some((self.page - 1) * Self::SIZE),
        }
    }

    pub fn previous(&self) -> Option<i64> {
        (self.page > 1).then_some(self.page - 1)
    }

    pub fn next(&self) -> Option<i64> {
        (self.page < self.pages).then_some(self.page + 1)
    }
}

/// The `?done=` of a page a change redirected to.
#[derive(Debug, serde::Deserialize)]
pub struct Done {
    pub done: Option<String>,
}

/// An entity id in a path; anything else is a page that does not exist.
pub fn parse_id(raw: &str) -> Result<i64, GuiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(GuiError::NotFound)
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A `next` target after signing in: only a path on this site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/tickets".to_owned(),
    }
}

/// A time as shown on pages: always UTC, labelled so, with a relative hint.
#[derive(Debug, Clone)]
pub struct When {
    /// `27 Nov 2026 14:30 UTC`
    pub text: String,
    /// `27 Nov 14:30` (with the year when it is not this one), for tables.
    pub short: String,
    /// `in 2 h`, `5 min ago`
    pub relative: String,
    /// ISO 8601, for `<time datetime>`.
    pub iso: String,
}

impl When {
    pub fn of(ts: Timestamp, now: Timestamp) -> When {
        When {
            text: utc_text(ts),
            short: short_text(ts, now),
            relative: relative(ts, now),
            iso: crate::wire::datetime::format(ts),
        }
    }

    pub fn opt(ts: Option<Timestamp>, now: Timestamp) -> Option<When> {
        ts.map(|t| When::of(t, now))
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub fn utc_text(ts: Timestamp) -> String {
    let dt = ts.to_chrono();
    let seconds = if dt.second() != 0 {
        format!(":{:02}", dt.second())
    } else {
        String::new()
    };
    format!(
        "{} {} {} {:02}:{:02}{seconds} UTC",
        dt.day(),
        MONTHS[dt.month0() as usize],
        dt.year(),
        dt.hour(),
        dt.minute()
    )
}

fn short_text(ts: Timestamp, now: Timestamp) -> String {
    let dt = ts.to_chrono();
    let year = if dt.year() == now.to_chrono().year() {
        String::new()
    } else {
        format!(" {}", dt.year())
    };
    format!(
        "{} {}{year} {:02}:{:02}",
        dt.day(),
        MONTHS[dt.month0() as usize],
        dt.hour(),
        dt.minute()
    )
}

pub fn relative(ts: Timestamp, now: Timestamp) -> String {
    let delta = (ts.micros() - now.micros()) / 1_000_000;
    let abs = delta.unsigned_abs();
    let amount = if abs < 60 {
        return "now".into();
    } else if abs < 3600 {
        format!("{} min", abs / 60)
    } else if abs < 48 * 3600 {
        format!("{} h", abs / 3600)
    } else {
        format!("{} days", abs / 86400)
    };
    if delta > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// The value of a `datetime-local` input for a time (UTC): minutes, seconds or milliseconds,
/// as precise as the time needs.
pub fn input_value(ts: Timestamp) -> String {
    let dt = ts.to_chrono();
    if dt.nanosecond() != 0 {
        dt.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
    } else if dt.second() != 0 {
        dt.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        dt.format("%Y-%m-%dT%H:%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::datetime::parse;

    #[test]
    fn times_are_utc_and_labelled() {
        let t = parse("2026-11-27T14:30:00Z").unwrap();
        assert_eq!(utc_text(t), "27 Nov 2026 14:30 UTC");
        let t = parse("2026-01-02T03:04:05Z").unwrap();
        assert_eq!(utc_text(t), "2 Jan 2026 03:04:05 UTC");
    }

    #[test]
    fn short_times_leave_out_this_year() {
        let now = parse("2026-11-27T12:00:00Z").unwrap();
        assert_eq!(
            short_text(parse("2026-11-27T14:30:59Z").unwrap(), now),
            "27 Nov 14:30"
        );
        assert_eq!(
            short_text(parse("2025-01-02T03:04:00Z").unwrap(), now),
            "2 Jan 2025 03:04"
        );
    }

    #[test]
    fn relative_times() {
        let now = parse("2026-11-27T12:00:00Z").unwrap();
        assert_eq!(relative(parse("2026-11-27T12:00:30Z").unwrap(), now), "now");
        assert_eq!(
            relative(parse("2026-11-27T12:05:00Z").unwrap(), now),
            "in 5 min"
        );
        assert_eq!(
            relative(parse("2026-11-27T09:00:00Z").unwrap(), now),
            "3 h ago"
        );
        assert_eq!(
            relative(parse("2026-11-30T12:00:00Z").unwrap(), now),
            "in 3 days"
        );
    }

    #[test]
    fn input_values_round_trip() {
        for s in [
            "2026-11-27T14:30:00Z",
            "2026-11-27T14:30:05Z",
            "2026-11-27T14:30:05.250Z",
        ] {
            let t = parse(s).unwrap();
            assert_eq!(parse(&input_value(t)), Some(t), "{s}");
        }
    }

    #[test]
    fn next_targets_stay_on_site() {
        assert_eq!(safe_next(Some("/tickets/3")), "/tickets/3");
        assert_eq!(safe_next(Some("//evil.example")), "/tickets");
        assert_eq!(safe_next(Some("https://evil.example")), "/tickets");
        assert_eq!(safe_next(Some("/\\evil.example")), "/tickets");
        assert_eq!(safe_next(None), "/tickets");
    }

    #[test]
    fn paging() {
        let p = Paging::of(120, Some("3"));
        assert_eq!((p.page, p.pages), (3, 3));
        assert_eq!(p.window().skip, Some(100));
        assert_eq!((p.previous(), p.next()), (Some(2), None));
        let p = Paging::of(0, Some("-4"));
        assert_eq!((p.page, p.pages), (1, 1));
        assert_eq!(Paging::of(51, Some("x")).next(), Some(2));
    }

    #[test]
    fn notices_are_fixed_texts() {
        assert_eq!(notice("ticket-created"), Some("Ticket created."));
        assert_eq!(notice("<script>"), None);
    }
}
