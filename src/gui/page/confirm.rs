//! The page that asks before a deletion.

use askama::Template;

use super::frame::{Chrome, Nav};
use crate::gui::session::Session;

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
