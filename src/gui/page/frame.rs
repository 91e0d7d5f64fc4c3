//! The frame around every page ([`Chrome`]: who is signed in, the CSRF token, the active
//! navigation entry, the notice) and rendering a page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::error::GuiError;
use super::notice::Notice;
use crate::domain::Operator;
use crate::gui::session::Session;

/// The navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    None,
    Tickets,
    Customers,
    Services,
    Operators,
    Webhooks,
    Settings,
    Audit,
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
    pub notice: Option<Notice>,
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

    /// Is the signed-in operator an administrator?
    pub fn is_admin(&self) -> bool {
        self.operator.as_ref().is_some_and(|o| o.is_admin)
    }

    /// Shows a notice (the one a `?done=` asked for, say).
    pub fn with_notice(mut self, notice: Option<Notice>) -> Self {
        self.notice = notice;
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
            Nav::Webhooks => "webhooks",
            Nav::Settings => "settings",
            Nav::Audit => "audit",
            Nav::Account => "account",
        }
    }

    pub fn css(&self) -> &'static str {
        super::super::assets::css_url()
    }

    pub fn js(&self) -> &'static str {
        super::super::assets::js_url()
    }
}

/// Renders a template as a page.
pub fn render(template: &impl Template) -> Result<Response, GuiError> {
    Ok(Html(template.render()?).into_response())
}

/// Renders a template with a status other than 200 (a form with errors, say).
pub fn render_status(status: StatusCode, template: &impl Template) -> Result<Response, GuiError> {
    Ok((status, Html(template.render()?)).into_response())
}
