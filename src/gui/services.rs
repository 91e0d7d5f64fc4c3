//! Services: the list with follower counts, and create, edit and delete.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures::TryStreamExt;

use super::form::{store_errors, FieldErrors, FormData};
use super::page::{
    deleted, parse_id, render, render_status, saved, Chrome, ConfirmPage, Done, GuiError, Nav,
};
use super::session::Session;
use crate::state::AppState;
use crate::store::Page;
use crate::wire::model::parse_service;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/services", get(list).post(save))
        .route("/services/new", get(new_form))
        .route("/services/{id}", get(edit_form).post(save))
        .route("/services/{id}/delete", get(confirm_delete).post(delete))
}

#[derive(Debug, Clone)]
struct Row {
    id: i64,
    name: String,
    description: String,
    followers: i64,
}

#[derive(Template)]
#[template(path = "gui/services/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
}

async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<Done>,
) -> Result<Response, GuiError> {
    let followers = state.store.follower_counts().await?;
    let rows = state
        .store
        .list_services(Page::default())
        .map_ok(|s| Row {
            followers: followers.get(&s.id).copied().unwrap_or(0),
            id: s.id,
            name: s.name,
            description: s.description.unwrap_or_default(),
        })
        .try_collect()
        .await?;
    render(&ListPage {
        chrome: Chrome::new(&session, Nav::Services, "Services").with_notice(q.done.as_deref()),
        rows,
    })
}

#[derive(Template)]
#[template(path = "gui/services/form.html")]
struct FormPage {
    chrome: Chrome,
    editing: Option<i64>,
    name: String,
    description: String,
    errors: FieldErrors,
}

fn form_page(
    session: &Session,
    editing: Option<i64>,
    form: &FormData,
    errors: FieldErrors,
) -> FormPage {
    let title = if editing.is_some() {
        "Edit service"
    } else {
        "New service"
    };
    FormPage {
        chrome: Chrome::new(session, Nav::Services, title),
        editing,
        name: form.get("Name").to_owned(),
        description: form.get("Description").to_owned(),
        errors,
    }
}

async fn new_form(session: Session) -> Result<Response, GuiError> {
    render(&form_page(
        &session,
        None,
        &FormData::default(),
        FieldErrors::none(),
    ))
}

async fn edit_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let service = state.store.get_service(parse_id(&id)?).await?;
    let mut page = form_page(
        &session,
        Some(service.id),
        &FormData::default(),
        FieldErrors::none(),
    );
    page.name = service.name;
    page.description = service.description.unwrap_or_default();
    render(&page)
}

/// Creates (`POST /services`) or saves (`POST /services/{id}`).
async fn save(
    State(state): State<AppState>,
    session: Session,
    id: Option<Path<String>>,
    body: Bytes,
) -> Result<Response, GuiError> {
    let editing = id.map(|Path(id)| parse_id(&id)).transpose()?;
    let form = FormData::parse(&body)?;
    let again = |errors: FieldErrors| {
        render_status(
            StatusCode::BAD_REQUEST,
            &form_page(&session, editing, &form, errors),
        )
    };
    let new = match parse_service(&form.doc(&[])) {
        Ok((new, _)) => new,
        Err(model) => return again(model.into()),
    };
    let result = match editing {
        None => state.store.create_service(&new).await,
        Some(id) => state.store.update_service(id, &new, None).await,
    };
    match result {
        Ok(_) => Ok(saved("service", editing)),
        Err(e) => again(store_errors(e)?),
    }
}

async fn confirm_delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let service = state.store.get_service(parse_id(&id)?).await?;
    let followers = state
        .store
        .follower_counts()
        .await?
        .get(&service.id)
        .copied()
        .unwrap_or(0);
    render(&ConfirmPage::deletion(
        &session,
        Nav::Services,
        "service",
        service.id,
        format!("Delete the service {}?", service.name),
        format!("{followers} customer(s) follow it; they stop following it. Its tickets keep showing it."),
    ))
}

async fn delete(
    State(state): State<AppState>,
    _session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    state.store.delete_service(parse_id(&id)?, None).await?;
    Ok(deleted("service"))
}
