//! Operators (administrators only): the list, and create, edit (administrator flag, a new
//! password) and delete. A changed password or a deletion ends the operator's sessions (the
//! store does it in the same transaction).

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
    deleted, parse_id, render, render_status, saved, see_other, Chrome, ConfirmPage, Done,
    GuiError, Nav,
};
use super::session::Admin;
use crate::domain::Operator;
use crate::state::AppState;
use crate::store::{Page, StoreError};
use crate::wire::model::parse_operator;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/operators", get(list).post(save))
        .route("/operators/new", get(new_form))
        .route("/operators/{id}", get(edit_form).post(save))
        .route("/operators/{id}/delete", get(confirm_delete).post(delete))
}

#[derive(Template)]
#[template(path = "gui/operators/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Operator>,
    me: i64,
}

async fn list(
    State(state): State<AppState>,
    Admin(session): Admin,
    Query(q): Query<Done>,
) -> Result<Response, GuiError> {
    let rows = state
        .store
        .list_operators(Page::default())
        .try_collect()
        .await?;
    render(&ListPage {
        chrome: Chrome::new(&session, Nav::Operators, "Operators").with_notice(q.done.as_deref()),
        rows,
        me: session.operator.id,
    })
}

#[derive(Template)]
#[template(path = "gui/operators/form.html")]
struct FormPage {
    chrome: Chrome,
    editing: Option<i64>,
    name: String,
    email: String,
    cell_phone: String,
    is_admin: bool,
    errors: FieldErrors,
}

fn form_page(
    admin: &Admin,
    editing: Option<i64>,
    form: &FormData,
    errors: FieldErrors,
) -> FormPage {
    let title = if editing.is_some() {
        "Edit operator"
    } else {
        "New operator"
    };
    FormPage {
        chrome: Chrome::new(&admin.0, Nav::Operators, title),
        editing,
        name: form.get("Name").to_owned(),
        email: form.get("Email").to_owned(),
        cell_phone: form.get("CellPhone").to_owned(),
        is_admin: form.checked("IsAdmin"),
        errors,
    }
}

async fn new_form(admin: Admin) -> Result<Response, GuiError> {
    render(&form_page(
        &admin,
        None,
        &FormData::default(),
        FieldErrors::none(),
    ))
}

async fn edit_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let op = state.store.get_operator(parse_id(&id)?).await?;
    let mut page = form_page(
        &admin,
        Some(op.id),
        &FormData::default(),
        FieldErrors::none(),
    );
    page.name = op.name;
    page.email = op.email;
    page.cell_phone = op.cell_phone.unwrap_or_default();
    page.is_admin = op.is_admin;
    render(&page)
}

/// Creates (`POST /operators`) or saves (`POST /operators/{id}`).
async fn save(
    State(state): State<AppState>,
    admin: Admin,
    id: Option<Path<String>>,
    body: Bytes,
) -> Result<Response, GuiError> {
    let editing = id.map(|Path(id)| parse_id(&id)).transpose()?;
    let form = FormData::parse(&body)?;
    let again = |errors: FieldErrors| {
        render_status(
            StatusCode::BAD_REQUEST,
            &form_page(&admin, editing, &form, errors),
        )
    };
    // A blank password on the edit form keeps the current one.
    let new = match parse_operator(&form.doc(&["Password"]), editing.is_none()) {
        Ok((new, _)) => new,
        Err(model) => return again(model.into()),
    };
    let result = match editing {
        None => state.store.create_operator(&new).await,
        Some(id) => state.store.update_operator(id, &new, None).await,
    };
    let me = admin.0.operator.id;
    match result {
        Ok(_) if editing.is_none() => Ok(saved("operator", editing)),
        // A new password of one's own ended this session too.
        Ok(op) if op.id == me && new.password.is_some() => Ok(see_other("/login")),
        // Who is no administrator any more cannot see this list.
        Ok(op) if op.id == me && !op.is_admin => Ok(see_other("/tickets?done=operator-saved")),
        Ok(_) => Ok(saved("operator", editing)),
        Err(e) => again(store_errors(e)?),
    }
}

async fn confirm_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let op = state.store.get_operator(parse_id(&id)?).await?;
    render(&delete_page(&admin, &op, None))
}

fn delete_page(admin: &Admin, op: &Operator, error: Option<String>) -> ConfirmPage {
    let yourself = if op.id == admin.0.operator.id {
        " That is you: you will be signed out."
    } else {
        ""
    };
    ConfirmPage {
        error,
        ..ConfirmPage::deletion(
            &admin.0,
            Nav::Operators,
            "operator",
            op.id,
            format!("Delete the operator {}?", op.name),
            format!("They cannot sign in any more. Their tickets and history keep their name.{yourself}"),
        )
    }
}

async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    match state.store.delete_operator(id, None).await {
        Ok(op) if op.id == admin.0.operator.id => Ok(see_other("/login")),
        Ok(_) => Ok(deleted("operator")),
        Err(StoreError::Conflict(message)) => {
            let op = state.store.get_operator(id).await?;
            render_status(
                StatusCode::CONFLICT,
                &delete_page(&admin, &op, Some(message)),
            )
        }
        Err(e) => Err(e.into()),
    }
}
