//! The GUI's error type and its error page.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::store::StoreError;

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
                let target = format!("/login?next={}", super::urlencode(next));
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
            css: crate::gui::assets::css_url(),
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
