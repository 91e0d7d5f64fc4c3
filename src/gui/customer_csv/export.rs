//! All customers with their services as CSV, streamed from the database a customer at a time
//! (the columns the import reads, so an export imports again as it is).

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::read::{COLUMNS, SERVICE_SEPARATOR};
use crate::domain::Customer;
use crate::gui::page::GuiError;
use crate::gui::session::Session;
use crate::state::AppState;
use crate::store::Page;

/// One CSV record, as bytes.
fn record(fields: &[&str]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(fields)?;
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

fn customer_record(c: &Customer) -> Result<Vec<u8>, csv::Error> {
    let separator = format!("{SERVICE_SEPARATOR} ");
    let services = c
        .services
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(&separator);
    record(&[
        &c.name,
        c.email.as_deref().unwrap_or(""),
        c.cell_phone.as_deref().unwrap_or(""),
        &services,
    ])
}

pub(super) async fn export(
    State(state): State<AppState>,
    _session: Session,
) -> Result<Response, GuiError> {
    let header_row = record(&COLUMNS).map_err(|e| GuiError::Internal(e.into()))?;
    let rows = state.store.list_customers(Page::default()).map(|c| {
        let c = c.map_err(std::io::Error::other)?;
        customer_record(&c).map_err(std::io::Error::other)
    });
    let body =
        futures::stream::once(async move { Ok::<_, std::io::Error>(header_row) }).chain(rows);
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"customers.csv\""),
    );
    Ok(response)
}
