//! Settings (administrators only): the API key (set one, or generate one that is shown once),
//! the settings stored in the database (driven by [`config::SETTINGS`]: every setting with a
//! stored name appears, and the page says when a flag or environment variable overrides it),
//! the test email and the test text.
//!
//! Secrets are never shown in full: the mail server URL appears with its password as `***`,
//! and saving it back with `***` keeps the stored password.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use super::form::FormData;
use super::page::{render_status, see_other, Chrome, Done, GuiError, Nav};
use super::session::{Admin, Session};
use crate::config::{self, SettingSpec, Source};
use crate::domain::{ApiKey, EmailAddress};
use crate::live_settings::set_api_key;
use crate::notify::{redact_url, MailStatus};
use crate::state::AppState;

/// What a secret's password shows as.
const MASK: &str = "***";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page).post(save))
        .route("/settings/api-key", post(api_key))
        .route("/settings/test-email", post(test_email))
        .route("/settings/test-sms", post(test_sms))
}

/// One stored setting as the page shows it.
#[derive(Debug, Clone)]
struct Row {
    name: &'static str,
    label: &'static str,
    help: &'static str,
    default: Option<&'static str>,
    /// The stored value (secrets masked), or what was typed when saving failed.
    input: String,
    /// The value in effect and where it comes from.
    effective: Option<String>,
    source: &'static str,
    /// Set when a flag or environment variable overrides the stored value.
    overridden_by: Option<String>,
    error: Option<String>,
}

/// The outcome of a test send (the test email, the test text, a webhook's test event).
#[derive(Debug, Clone)]
pub(super) struct TestResult {
    pub ok: bool,
    pub message: String,
}

impl TestResult {
    /// What a test send came to: `sent` followed by the server's reply, or `failed` followed by
    /// the reason.
    pub(super) fn of<E: std::fmt::Display>(
        result: Result<String, E>,
        sent: &str,
        failed: &str,
    ) -> Self {
        match result {
            Ok(reply) => TestResult {
                ok: true,
                message: format!("{sent}{reply}"),
            },
            Err(e) => TestResult {
                ok: false,
                message: format!("{failed}{e}"),
            },
        }
    }
}

#[derive(Template)]
#[template(path = "gui/settings.html")]
struct SettingsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    /// A key just generated: shown on this response only.
    new_key: Option<String>,
    key_error: Option<String>,
    mail_status: String,
    mail_ready: bool,
    test_to: String,
    test_result: Option<TestResult>,
    /// The message templates' override folder, if any, and its broken overrides (file, line).
    templates_folder: Option<String>,
    template_problems: Vec<String>,
    sms_status: String,
    sms_ready: bool,
    test_sms_to: String,
    test_sms_result: Option<TestResult>,
}

fn stored_specs() -> impl Iterator<Item = (&'static SettingSpec, &'static str)> {
    config::SETTINGS
        .iter()
        .filter_map(|s| s.stored_as.map(|name| (s, name)))
}

/// A value as it may be shown.
fn shown(spec: &SettingSpec, value: &str) -> String {
    if spec.secret {
        redact_url(value)
    } else {
        value.to_owned()
    }
}

fn describe_override(spec: &SettingSpec, source: Source) -> Option<String> {
    match source {
        Source::Flag => Some(format!("the command-line flag --{}", spec.flag)),
        Source::Environment => Some(format!("the environment variable {}", spec.env)),
        Source::Stored | Source::Default => None,
    }
}

async fn settings_page(state: &AppState, session: &Session) -> Result<SettingsPage, GuiError> {
    let stored = state.store.all_settings().await?;
    let config = state.settings.config();
    let rows = stored_specs()
        .map(|(spec, name)| {
            let value = stored
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str());
            let effective = config.resolve(spec.key, value);
            Row {
                name,
                label: spec.label,
                help: spec.help,
                default: spec.default,
                input: value.map(|v| shown(spec, v)).unwrap_or_default(),
                effective: effective.as_ref().map(|(v, _)| shown(spec, v)),
                source: effective.as_ref().map_or("not set", |(_, s)| s.describe()),
                overridden_by: effective.and_then(|(_, s)| describe_override(spec, s)),
                error: None,
            }
        })
        .collect();
    let status = MailStatus::of(&state.settings.get());
    let (sms_ready, sms_status) = crate::notify::sms::describe_status(&state.settings.get());
    Ok(SettingsPage {
        chrome: Chrome::new(session, Nav::Settings, "Settings"),
        rows,
        new_key: None,
        key_error: None,
        mail_ready: matches!(status, MailStatus::Ready { .. }),
        mail_status: status.describe(),
        test_to: session.operator.email.clone(),
        test_result: None,
        templates_folder: state.templates.folder().map(|f| f.display().to_string()),
        template_problems: state
            .templates
            .problems()
            .iter()
            .map(ToString::to_string)
            .collect(),
        sms_ready,
        sms_status,
        test_sms_to: String::new(),
        test_sms_result: None,
    })
}

async fn page(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(q): Query<Done>,
) -> Result<Response, GuiError> {
    let mut page = settings_page(&state, &session).await?;
    page.chrome = page.chrome.with_notice(q.done);
    render_status(StatusCode::OK, &page)
}

/// A secret URL saved back with its password masked keeps the stored password.
fn unmask(submitted: &str, stored: Option<&str>) -> String {
    let (Ok(mut new), Some(Ok(old))) = (url::Url::parse(submitted), stored.map(url::Url::parse))
    else {
        return submitted.to_owned();
    };
    if new.password() == Some(MASK) {
        if new.set_password(old.password()).is_err() {
            return submitted.to_owned();
        }
        return new.to_string();
    }
    submitted.to_owned()
}

async fn save(
    State(state): State<AppState>,
    Admin(session): Admin,
    body: Bytes,
) -> Result<Response, GuiError> {
    let form = FormData::parse(&body)?;
    let stored = state.store.all_settings().await?;
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for (spec, name) in stored_specs() {
        let typed = form.get(name).trim();
        let old = stored
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let value = if spec.secret {
            unmask(typed, old)
        } else {
            typed.to_owned()
        };
        if value.is_empty() {
            changes.push((name, None));
            continue;
        }
        match config::values::check(spec.key, &value) {
            Ok(()) => changes.push((name, Some(value))),
            Err(message) => errors.push((name, message)),
        }
    }
    if !errors.is_empty() {
        let mut page = settings_page(&state, &session).await?;
        for row in &mut page.rows {
            row.input = form.get(row.name).to_owned();
            row.error = errors
                .iter()
                .find(|(n, _)| *n == row.name)
                .map(|(_, m)| m.clone());
        }
        return render_status(StatusCode::BAD_REQUEST, &page);
    }
    let changes: Vec<(&str, Option<&str>)> = changes
        .iter()
        .map(|(name, value)| (*name, value.as_deref()))
        .collect();
    state.store.set_settings(&changes, &session.who()).await?;
    state.settings.refresh(&state.store).await?;
    tracing::info!(
        operator = session.operator.id,
        "settings changed in the GUI"
    );
    Ok(see_other("/settings?done=settings-saved"))
}

async fn api_key(
    State(state): State<AppState>,
    Admin(session): Admin,
    body: Bytes,
) -> Result<Response, GuiError> {
    let form = FormData::parse(&body)?;
    let (key, generated) = if form.get("action") == "generate" {
        (ApiKey::generate(), true)
    } else {
        match ApiKey::parse(form.get("key").trim()) {
            Ok(k) => (k, false),
            Err(message) => {
                let mut page = settings_page(&state, &session).await?;
                page.key_error = Some(message);
                return render_status(StatusCode::BAD_REQUEST, &page);
            }
        }
    };
    set_api_key(&state.store, &key, &session.who()).await?;
    state.settings.refresh(&state.store).await?;
    tracing::info!(
        operator = session.operator.id,
        generated,
        "API key changed in the GUI"
    );
    if !generated {
        return Ok(see_other("/settings?done=api-key-set"));
    }
    let mut page = settings_page(&state, &session).await?;
    page.new_key = Some(key.expose().to_owned());
    render_status(StatusCode::OK, &page)
}

async fn test_email(
    State(state): State<AppState>,
    Admin(session): Admin,
    body: Bytes,
) -> Result<Response, GuiError> {
    let form = FormData::parse(&body)?;
    let to = form.get("to").trim().to_owned();
    let result = match EmailAddress::parse(&to) {
        Err(message) => Err(message),
        Ok(address) => {
            crate::notify::send_test_email(
                &state.settings.get(),
                &state.templates,
                address.as_str(),
            )
            .await
        }
    };
    let mut page = settings_page(&state, &session).await?;
    page.test_to = to;
    page.test_result = Some(TestResult::of(
        result,
        "The mail server accepted the test email: ",
        "The test email was not sent: ",
    ));
    render_status(StatusCode::OK, &page)
}

async fn test_sms(
    State(state): State<AppState>,
    Admin(session): Admin,
    body: Bytes,
) -> Result<Response, GuiError> {
    let form = FormData::parse(&body)?;
    let to = form.get("to").trim().to_owned();
    let result = crate::notify::sms::send_test(&state.settings.get(), &to).await;
    let mut page = settings_page(&state, &session).await?;
    page.test_sms_to = to;
    page.test_sms_result = Some(TestResult::of(
        result.map(|reply| format!("{reply}.")),
        "The test text was sent: ",
        "The test text was not sent: ",
    ));
    render_status(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_passwords_are_kept() {
        let stored = "smtp://user:s3cret@mail.example.com:587";
        assert_eq!(
            unmask("smtp://user:***@mail.example.com:587", Some(stored)),
            stored
        );
        assert_eq!(
            unmask("smtp://user:***@other.example.com", Some(stored)),
            "smtp://user:s3cret@other.example.com"
        );
        assert_eq!(
            unmask("smtp://user:new@mail.example.com:587", Some(stored)),
            "smtp://user:new@mail.example.com:587"
        );
        assert_eq!(unmask("smtp://mail:25", None), "smtp://mail:25");
    }
}
