//! Customers from and to CSV: the upload (kept in a temporary file, read by a background task
//! a batch at a time into the database, see [`crate::store::StagedRow`]), its progress and
//! preview (counts, and the rows a page at a time: to create, to update, unchanged, refused
//! with the reason), the confirmation that applies it in one transaction, and the export
//! ([`export`]).
//!
//! The upload is `multipart/form-data`; its CSRF token travels in the query string, since the
//! CSRF check does not read such a body (see [`crate::gui::session::require_csrf`]).

mod export;
mod read;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use futures::TryStreamExt;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use super::page::{parse_id, render_status, see_other, Chrome, GuiError, Nav, Paging};
use super::session::Session;
use crate::domain::Timestamp;
use crate::state::AppState;
use crate::store::{ImportAction, ImportRow, ImportState, Page, Store, StoreError};

/// The largest upload: 100,000 customers take about 6 MiB.
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;
const UPLOAD_LIMIT_TEXT: &str = "64 MiB";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/customers/import",
            get(upload_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/customers/import/{id}", get(preview))
        .route("/customers/import/{id}/confirm", post(confirm))
        .route("/customers/export.csv", get(export::export))
}

#[derive(Template)]
#[template(path = "gui/customers/import.html")]
struct UploadPage {
    chrome: Chrome,
    columns: String,
    limit: &'static str,
    error: Option<String>,
}

fn upload_form(
    session: &Session,
    status: StatusCode,
    error: Option<String>,
) -> Result<Response, GuiError> {
    let page = UploadPage {
        chrome: Chrome::new(session, Nav::Customers, "Import customers"),
        columns: read::COLUMNS.join(","),
        limit: UPLOAD_LIMIT_TEXT,
        error,
    };
    render_status(status, &page)
}

async fn upload_page(session: Session) -> Result<Response, GuiError> {
    upload_form(&session, StatusCode::OK, None)
}

/// Keeps the upload in a temporary file, starts reading it, and shows its progress.
async fn upload(
    State(state): State<AppState>,
    session: Session,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, GuiError> {
    let refuse = |m: &str| upload_form(&session, StatusCode::BAD_REQUEST, Some(m.to_owned()));
    let too_large = || {
        let m = format!("The file is larger than {UPLOAD_LIMIT_TEXT}.");
        upload_form(&session, StatusCode::PAYLOAD_TOO_LARGE, Some(m))
    };
    let Ok(mut multipart) = multipart else {
        return refuse("Choose a CSV file to upload.");
    };
    let mut kept = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_large(),
            Err(_) => return refuse("The upload was cut off; try again."),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload.csv").to_owned();
        let file = tempfile::NamedTempFile::new()
            .map_err(|e| GuiError::Internal(anyhow::anyhow!("a temporary file: {e}")))?;
        let mut out = tokio::fs::File::from_std(
            file.reopen()
                .map_err(|e| GuiError::Internal(anyhow::anyhow!("a temporary file: {e}")))?,
        );
        let mut size = 0usize;
        let mut field = field;
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len();
                    out.write_all(&chunk).await.map_err(|e| {
                        GuiError::Internal(anyhow::anyhow!("writing the upload: {e}"))
                    })?;
                }
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_large(),
                Err(_) => return refuse("The upload was cut off; try again."),
            }
        }
        out.flush()
            .await
            .map_err(|e| GuiError::Internal(anyhow::anyhow!("writing the upload: {e}")))?;
        kept = Some((name, file, size));
    }
    let Some((name, file, size)) = kept.filter(|(name, _, size)| *size > 0 || !name.is_empty())
    else {
        return refuse("Choose a CSV file to upload.");
    };
    let id = state
        .store
        .start_import(session.operator.id, &name, Timestamp::now())
        .await?;
    tracing::info!(
        import = id,
        bytes = size,
        "customer import: reading the upload"
    );
    tokio::spawn(read_upload(state.store.clone(), id, file));
    Ok(see_other(&format!("/customers/import/{id}")))
}

/// Reads the upload into the store; a file that cannot be read is recorded as failed.
async fn read_upload(store: Store, id: i64, file: tempfile::NamedTempFile) {
    let outcome = async {
        let services: read::ServicesByName = store
            .list_services(Page::default())
            .map_ok(|s| (s.name.to_lowercase(), s.id))
            .try_collect::<HashMap<_, _>>()
            .await?;
        let (sink, mut batches) = tokio::sync::mpsc::channel::<read::Batch>(2);
        let path = file.path().to_owned();
        let reader = tokio::task::spawn_blocking(move || read::read_file(&path, &services, &sink));
        while let Some((rows, read)) = batches.recv().await {
            store.stage_import_rows(id, &rows, read).await?;
        }
        let result = reader
            .await
            .unwrap_or_else(|e| Err(format!("The file could not be read: {e}")));
        match result {
            Ok(()) => store.finish_import_reading(id).await,
            Err(reason) => store.fail_import(id, &reason).await,
        }
    }
    .await;
    drop(file);
    match outcome {
        Ok(()) => tracing::info!(import = id, "customer import: read"),
        Err(e) => {
            tracing::error!(import = id, error = %crate::telemetry::error_chain(&e), "customer import failed");
            let _ = store
                .fail_import(id, "The file could not be stored; try again.")
                .await;
        }
    }
}

#[derive(Template)]
#[template(path = "gui/customers/import_preview.html")]
struct PreviewPage {
    chrome: Chrome,
    id: i64,
    file_name: String,
    state: &'static str,
    rows_read: i64,
    error: Option<String>,
    counts: Vec<(&'static str, i64, String)>,
    show: String,
    rows: Vec<ImportRow>,
    page: i64,
    pages: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
    /// Why the confirmation was refused.
    conflict: Option<String>,
}

#[derive(Deserialize)]
struct PreviewQuery {
    show: Option<String>,
    page: Option<String>,
}

async fn preview(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
    Query(q): Query<PreviewQuery>,
) -> Result<Response, GuiError> {
    preview_page(&state, &session, parse_id(&id)?, &q, StatusCode::OK, None).await
}

async fn preview_page(
    state: &AppState,
    session: &Session,
    id: i64,
    q: &PreviewQuery,
    status: StatusCode,
    conflict: Option<String>,
) -> Result<Response, GuiError> {
    let summary = state.store.import_summary(id).await?;
    let show = q.show.as_deref().and_then(ImportAction::parse);
    let total = match show {
        Some(a) => summary.counts[ImportAction::ALL.iter().position(|x| *x == a).unwrap_or(0)],
        None => summary.counts.iter().sum(),
    };
    let paging = Paging::of(total, q.page.as_deref());
    let rows = if summary.state == ImportState::Reading {
        Vec::new()
    } else {
        state
            .store
            .import_rows(
                summary.id,
                show,
                Paging::SIZE,
                (paging.page - 1) * Paging::SIZE,
            )
            .await?
    };
    let show_text = show.map_or("", ImportAction::as_str).to_owned();
    let href = |page: i64| {
        format!(
            "/customers/import/{}?show={show_text}&page={page}",
            summary.id
        )
    };
    let page = PreviewPage {
        chrome: Chrome::new(session, Nav::Customers, "Import customers"),
        id: summary.id,
        file_name: summary.file_name,
        state: match summary.state {
            ImportState::Reading => "reading",
            ImportState::Ready => "ready",
            ImportState::Failed => "failed",
            ImportState::Applied => "applied",
        },
        rows_read: summary.rows_read,
        error: summary.error,
        counts: ImportAction::ALL
            .iter()
            .zip(summary.counts)
            .map(|(a, n)| {
                (
                    a.as_str(),
                    n,
                    format!("/customers/import/{}?show={}", summary.id, a.as_str()),
                )
            })
            .collect(),
        show: show_text.clone(),
        rows,
        page: paging.page,
        pages: paging.pages,
        prev_href: (paging.page > 1).then(|| href(paging.page - 1)),
        next_href: (paging.page < paging.pages).then(|| href(paging.page + 1)),
        conflict,
    };
    let mut response = render_status(status, &page)?;
    if summary.state == ImportState::Reading {
        // The progress page reloads itself, without a script.
        response
            .headers_mut()
            .insert(header::REFRESH, HeaderValue::from_static("1"));
    }
    Ok(response)
}

async fn confirm(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    let (created, updated) = match state.store.apply_import(id, &session.who()).await {
        Ok(done) => done,
        Err(StoreError::Conflict(why)) => {
            let q = PreviewQuery {
                show: None,
                page: None,
            };
            return preview_page(&state, &session, id, &q, StatusCode::CONFLICT, Some(why)).await;
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(import = id, created, updated, "customer import applied");
    Ok(see_other(&format!("/customers/import/{id}")))
}
