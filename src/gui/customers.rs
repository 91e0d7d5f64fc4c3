//! Customers: the list with search and a service filter, and the form (the services they
//! follow as checkboxes). The pages themselves are [`super::resource`]'s.

use askama::Template;
use futures::TryStreamExt;

use super::form::{service_choices, FormData, ServiceChoice};
use super::page::{urlencode, Chrome, GuiError, Kind, Nav, Paging};
use super::resource::{form_page, ListQuery, Resource};
use super::session::Session;
use crate::domain::Customer;
use crate::state::AppState;
use crate::store::CustomerFilter;
use crate::wire::model::parse_customer;
use crate::wire::ModelState;

#[derive(Template)]
#[template(path = "gui/customers/list.html")]
pub struct ListPage {
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
        let rows = state
            .store
            .search_customers(filter, paging.window())
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
