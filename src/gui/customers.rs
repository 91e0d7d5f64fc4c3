//! Customers: the list with search and a service filter, and the form (the services they
//! follow as checkboxes). The pages themselves are [`super::resource`]'s. Beside the form, a
//! customer's page shows their address's opt-out (since when; who lifted an earlier one and
//! when), the button with which an administrator lifts it, and the one that issues the
//! customer a new personal link (the links in earlier emails stop working).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use futures::TryStreamExt;

use super::form::{service_choices, FormData, ServiceChoice};
use super::page::{
    parse_id, see_other, urlencode, Chrome, GuiError, Kind, Nav, Notice, Paging, When,
};
use super::resource::{form_page, ListQuery, Notes, Resource};
use super::session::{Admin, Session};
use crate::domain::Customer;
use crate::state::AppState;
use crate::store::CustomerFilter;
use crate::wire::model::parse_customer;
use crate::wire::ModelState;

#[derive(Template)]
#[template(path = "gui/customers/list.html")]
pub struct ListPage {
    chrome: Chrome,
    /// Each customer, with when their address opted out (if it did).
    rows: Vec<(Customer, Option<When>)>,
    search: String,
    services: Vec<ServiceChoice>,
    filtered: bool,
    total: i64,
    page: i64,
    pages: i64,
    prev_href: Option<String>,
    next_href: Option<String>,
}

fn list_href(search: &str, service: Option<i64>, page: i64) -> String {
    let mut href = format!("/customers?q={}", urlencode(search));
    if let Some(s) = service {
        href.push_str(&format!("&service={s}"));
    }
    href.push_str(&format!("&page={page}"));
    href
}

form_page!("gui/customers/form.html");

impl Resource for Customer {
    const KIND: Kind = Kind::Customer;
    const PLURAL: &'static str = "Customers";
    const NAV: Nav = Nav::Customers;
    type Who = Session;
    type FormPage = FormPage;

    fn parse(form: &FormData, _creating: bool) -> Result<Self::New, ModelState> {
        parse_customer(&form.doc(&[])).map(|(new, _)| new)
    }

    async fn list_page(
        state: &AppState,
        _who: &Session,
        chrome: Chrome,
        q: ListQuery,
    ) -> Result<impl Template + Send, GuiError> {
        let search = q.q.unwrap_or_default().trim().to_owned();
        let service_id = q.service.as_deref().and_then(|s| s.parse::<i64>().ok());
        let filter = CustomerFilter {
            search: (!search.is_empty()).then(|| search.clone()),
            service_id,
        };
        let total = state.store.count_customers(&filter).await?;
        let paging = Paging::of(total, q.page.as_deref());
        let now = state.store.now();
        let rows = state
            .store
            .search_customers(filter, paging.window())
            .map_ok(|c| {
                let out = When::opt(c.opted_out_time, now);
                (c, out)
            })
            .try_collect()
            .await?;
        let services = service_choices(&state.store, service_id.as_slice()).await?;
        Ok(ListPage {
            chrome,
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

    async fn notes(state: &AppState, id: i64) -> Result<Notes, GuiError> {
        let customer = state.store.get_customer(id).await?;
        let Some(email) = customer.email.filter(|e| !e.is_empty()) else {
            return Ok(Notes::default());
        };
        let Some(record) = state.store.opt_out_of(&email).await? else {
            return Ok(Notes::default());
        };
        let now = state.store.now();
        let since = When::of(record.opted_out_at, now);
        let notes = Notes::default().with("address", record.address);
        Ok(match record.lifted {
            None => notes
                .with("opted_out", since.text)
                .with("opted_out_relative", since.relative),
            Some((at, by)) => notes
                .with("lifted_at", When::of(at, now).text)
                .with("lifted_by", by)
                .with("earlier_opt_out", since.text),
        })
    }

    async fn choices(state: &AppState, values: &FormData) -> Result<Vec<ServiceChoice>, GuiError> {
        Ok(service_choices(&state.store, &values.service_ids()).await?)
    }

    async fn deletion(
        &self,
        _state: &AppState,
        _who: &Session,
    ) -> Result<(String, String), GuiError> {
        Ok((
            format!("Delete the customer {}?", self.name),
            "They will not be emailed about tickets any more. This cannot be undone.".into(),
        ))
    }
}

/// The buttons of a customer's page beside the form.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/opt-out/lift", post(lift_opt_out))
        .route("/customers/{id}/personal-link", post(new_personal_link))
}

/// An administrator lifts the opt-out of the customer's address (recorded with who and when).
async fn lift_opt_out(
    State(state): State<AppState>,
    Admin(session): Admin,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    let store = &state.store;
    let page = format!("/customers/{id}");
    if store
        .lift_customer_opt_out(id, &session.who(), store.now())
        .await?
    {
        Ok(Notice::OptOutLifted.redirect(&page))
    } else {
        // Lifted meanwhile (or never there): the page shows how it is now.
        Ok(see_other(&page))
    }
}

/// Any operator issues the customer a new personal link: every earlier one stops working.
async fn new_personal_link(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    state.store.revoke_links(id, &session.who()).await?;
    Ok(Notice::PersonalLinkIssued.redirect(&format!("/customers/{id}")))
}
