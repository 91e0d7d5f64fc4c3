//! Customers: the list with search and a service filter, and create, edit (the services they
//! follow as checkboxes) and delete.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures::TryStreamExt;
use serde::Deserialize;

use super::form::{service_choices, store_errors, FieldErrors, FormData, ServiceChoice};
use super::page::{
    deleted, parse_id, render, render_status, saved, urlencode, Chrome, ConfirmPage, GuiError, Nav,
    Paging,
};
use super::session::Session;
use crate::domain::Customer;
use crate::state::AppState;
use crate::store::{CustomerFilter, Store};
use crate::wire::model::parse_customer;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list).post(save))
        .route("/customers/new", get(new_form))
        .route("/customers/{id}", get(edit_form).post(save))
        .route("/customers/{id}/delete", get(confirm_delete).post(delete))
}

#[derive(Template)]
#[template(path = "gui/customers/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Customer>,
    search: String,
    services: Vec<ServiceChoice>,
    filtered: bool,
    total: i64,
    page: i64,
    pages: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    q: Option<String>,
    service: Option<String>,
    page: Option<String>,
    done: Option<String>,
}

fn list_href(search: &str, service: Option<i64>, page: i64) -> String {
    let mut href = format!("/customers?q={}", urlencode(search));
    if let Some(s) = service {
        href.push_str(&format!("&service={s}"));
    }
    href.push_str(&format!("&page={page}"));
    href
}

async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Response, GuiError> {
    let search = q.q.unwrap_or_default().trim().to_owned();
    let service_id = q.service.as_deref().and_then(|s| s.parse::<i64>().ok());
    let filter = CustomerFilter {
        search: (!search.is_empty()).then(|| search.clone()),
        service_id,
    };
    let total = state.store.count_customers(&filter).await?;
    let paging = Paging::of(total, q.page.as_deref());
    let rows = state
        .store
        .search_customers(filter, paging.window())
        .try_collect()
        .await?;
    let services = service_choices(&state.store, service_id.as_slice()).await?;
    render(&ListPage {
        chrome: Chrome::new(&session, Nav::Customers, "Customers").with_notice(q.done.as_deref()),
        rows,
        filtered: !search.is_empty() || service_id.is_some(),
        prev_href: paging.previous().map(|p| list_href(&search, service_id, p)),
        next_href: paging.next().map(|p| list_href(&search, service_id, p)),
        search,
        services,
        total,
        page: paging.page,
        pages: paging.pages,
    })
}

#[derive(Template)]
#[template(path = "gui/customers/form.html")]
struct FormPage {
    chrome: Chrome,
    editing: Option<i64>,
    name: String,
    email: String,
    cell_phone: String,
    services: Vec<ServiceChoice>,
    errors: FieldErrors,
}

async fn form_page(
    store: &Store,
    session: &Session,
    editing: Option<i64>,
    values: (String, String, String, Vec<i64>),
    errors: FieldErrors,
) -> Result<FormPage, GuiError> {
    let (name, email, cell_phone, checked) = values;
    let title = if editing.is_some() {
        "Edit customer"
    } else {
        "New customer"
    };
    Ok(FormPage {
        chrome: Chrome::new(session, Nav::Customers, title),
        editing,
        name,
        email,
        cell_phone,
        services: service_choices(store, &checked).await?,
        errors,
    })
}

fn form_values(form: &FormData) -> (String, String, String, Vec<i64>) {
    (
        form.get("Name").to_owned(),
        form.get("Email").to_owned(),
        form.get("CellPhone").to_owned(),
        form.service_ids(),
    )
}

async fn new_form(State(state): State<AppState>, session: Session) -> Result<Response, GuiError> {
    let values = form_values(&FormData::default());
    render(&form_page(&state.store, &session, None, values, FieldErrors::none()).await?)
}

async fn edit_form(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let c = state.store.get_customer(parse_id(&id)?).await?;
    let values = (
        c.name,
        c.email.unwrap_or_default(),
        c.cell_phone.unwrap_or_default(),
        c.services.iter().map(|s| s.id).collect(),
    );
    render(
        &form_page(
            &state.store,
            &session,
            Some(c.id),
            values,
            FieldErrors::none(),
        )
        .await?,
    )
}

/// Creates (`POST /customers`) or saves (`POST /customers/{id}`).
async fn save(
    State(state): State<AppState>,
    session: Session,
    id: Option<Path<String>>,
    body: Bytes,
) -> Result<Response, GuiError> {
    let editing = id.map(|Path(id)| parse_id(&id)).transpose()?;
    let form = FormData::parse(&body)?;
    let again = |errors: FieldErrors| {
        let (state, session, form) = (&state, &session, &form);
        async move {
            let page = form_page(&state.store, session, editing, form_values(form), errors).await?;
            render_status(StatusCode::BAD_REQUEST, &page)
        }
    };
    let new = match parse_customer(&form.doc(&[])) {
        Ok((new, _)) => new,
        Err(model) => return again(model.into()).await,
    };
    let result = match editing {
        None => state.store.create_customer(&new).await,
        Some(id) => state.store.update_customer(id, &new, None).await,
    };
    match result {
        Ok(_) => Ok(saved("customer", editing)),
        Err(e) => again(store_errors(e)?).await,
    }
}

async fn confirm_delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let c = state.store.get_customer(parse_id(&id)?).await?;
    render(&ConfirmPage::deletion(
        &session,
        Nav::Customers,
        "customer",
        c.id,
        format!("Delete the customer {}?", c.name),
        "They will not be emailed about tickets any more. This cannot be undone.".into(),
    ))
}

async fn delete(
    State(state): State<AppState>,
    _session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    state.store.delete_customer(parse_id(&id)?, None).await?;
    Ok(deleted("customer"))
}
