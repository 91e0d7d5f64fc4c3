//! Where a request goes next: after a change, and after signing in.

use axum::response::{IntoResponse, Redirect, Response};

use super::notice::{Kind, Notice};

/// After a successful POST: 303 to the page that shows the result.
pub fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// Where a deletion ends: the list of its kind, saying what happened.
pub fn deleted(kind: Kind) -> Response {
    Notice::Deleted(kind).redirect(&kind.list())
}

/// Where a create form (`editing` is `None`) or an edit form ends: the list of its kind, saying
/// which of the two happened.
pub fn saved(kind: Kind, editing: Option<i64>) -> Response {
    let notice = match editing {
        None => Notice::Created(kind),
        Some(_) => Notice::Saved(kind),
    };
    notice.redirect(&kind.list())
}

/// A `next` target after signing in: only a path on this site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/tickets".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_targets_stay_on_site() {
        assert_eq!(safe_next(Some("/tickets/3")), "/tickets/3");
        assert_eq!(safe_next(Some("//evil.example")), "/tickets");
        assert_eq!(safe_next(Some("https://evil.example")), "/tickets");
        assert_eq!(safe_next(Some("/\\evil.example")), "/tickets");
        assert_eq!(safe_next(None), "/tickets");
    }

    #[test]
    fn changes_end_on_their_list() {
        let location = |r: Response| r.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(
            location(saved(Kind::Service, None)),
            "/services?done=service-created"
        );
        assert_eq!(
            location(saved(Kind::Service, Some(3))),
            "/services?done=service-saved"
        );
        assert_eq!(
            location(deleted(Kind::Ticket)),
            "/tickets?done=ticket-deleted"
        );
    }
}
