//! Services: the list with follower counts, and the form (name, description, shown on the
//! public status page or not). The pages
//! themselves are [`super::resource`]'s.

use askama::Template;
use futures::TryStreamExt;

use super::form::FormData;
use super::page::{Chrome, GuiError, Kind, Nav};
use super::resource::{form_page, ListQuery, Resource};
use super::session::Session;
use crate::domain::{Extension, NewService, Service};
use crate::state::AppState;
use crate::store::Page;
use crate::wire::model::parse_service;
use crate::wire::ModelState;

#[derive(Debug, Clone)]
pub struct Row {
    id: i64,
    name: String,
    description: String,
    followers: i64,
    is_public: bool,
}

#[derive(Template)]
#[template(path = "gui/services/list.html")]
pub struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
}

form_page!("gui/services/form.html");

impl Resource for Service {
    const KIND: Kind = Kind::Service;
    const PLURAL: &'static str = "Services";
    const NAV: Nav = Nav::Services;
    type Who = Session;
    type FormPage = FormPage;

    fn parse(form: &FormData, _creating: bool) -> Result<Self::New, ModelState> {
        // The form always shows the checkbox: not ticked is not public.
        parse_service(&form.doc(&[])).map(|(new, _)| NewService {
            is_public: Extension::Set(form.checked("IsPublic")),
            ..new
        })
    }

    async fn list_page(
        state: &AppState,
        _who: &Session,
        chrome: Chrome,
        _query: ListQuery,
    ) -> Result<impl Template + Send, GuiError> {
        let followers = state.store.follower_counts().await?;
        let rows = state
            .store
            .list_services(Page::default())
            .map_ok(|s| Row {
                followers: followers.get(&s.id).copied().unwrap_or(0),
                id: s.id,
                name: s.name,
                description: s.description.unwrap_or_default(),
                is_public: s.is_public,
            })
            .try_collect()
            .await?;
        Ok(ListPage { chrome, rows })
    }

    async fn deletion(
        &self,
        state: &AppState,
        _who: &Session,
    ) -> Result<(String, String), GuiError> {
        let followers = state
            .store
            .follower_counts()
            .await?
            .get(&self.id)
            .copied()
            .unwrap_or(0);
        Ok((
            format!("Delete the service {}?", self.name),
            format!(
                "{followers} customer(s) follow it; they stop following it. Its tickets keep \
                 showing it."
            ),
        ))
    }
}
