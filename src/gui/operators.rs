//! Operators (administrators only): the list, and the form (administrator flag, a new
//! password). A changed password or a deletion ends the operator's sessions (the store does it
//! in the same transaction). The pages themselves are [`super::resource`]'s.

use askama::Template;
use axum::response::Response;
use futures::TryStreamExt;

use super::form::FormData;
use super::page::{see_other, Chrome, GuiError, Kind, Nav, Notice};
use super::resource::{form_page, ListQuery, Resource};
use super::session::Admin;
use crate::domain::{NewOperator, Operator};
use crate::state::AppState;
use crate::store::Page;
use crate::wire::model::parse_operator;
use crate::wire::ModelState;

#[derive(Template)]
#[template(path = "gui/operators/list.html")]
pub struct ListPage {
    chrome: Chrome,
    rows: Vec<Operator>,
    me: i64,
}

form_page!("gui/operators/form.html");

impl Resource for Operator {
    const KIND: Kind = Kind::Operator;
    const PLURAL: &'static str = "Operators";
    const NAV: Nav = Nav::Operators;
    type Who = Admin;
    type FormPage = FormPage;

    /// A blank password on the edit form keeps the current one.
    fn parse(form: &FormData, creating: bool) -> Result<NewOperator, ModelState> {
        parse_operator(&form.doc(&["Password"]), creating).map(|(new, _)| new)
    }

    async fn list_page(
        state: &AppState,
        admin: &Admin,
        chrome: Chrome,
        _query: ListQuery,
    ) -> Result<impl Template + Send, GuiError> {
        let rows = state
            .store
            .list_operators(Page::default())
            .try_collect()
            .await?;
        Ok(ListPage {
            chrome,
            rows,
            me: admin.0.operator.id,
        })
    }

    async fn deletion(
        &self,
        _state: &AppState,
        admin: &Admin,
    ) -> Result<(String, String), GuiError> {
        let yourself = if self.id == admin.0.operator.id {
            " That is you: you will be signed out."
        } else {
            ""
        };
        Ok((
            format!("Delete the operator {}?", self.name),
            format!(
                "They cannot sign in any more. Their tickets and history keep their name.\
                 {yourself}"
            ),
        ))
    }

    fn after_save(admin: &Admin, saved: &Operator, new: &NewOperator) -> Option<Response> {
        let me = admin.0.operator.id;
        if saved.id != me {
            None
        } else if new.password.is_some() {
            // A new password of one's own ended this session too.
            Some(see_other("/login"))
        } else if !saved.is_admin {
            // Who is no administrator any more cannot see this list.
            Some(Notice::Saved(Kind::Operator).redirect("/tickets"))
        } else {
            None
        }
    }

    fn after_delete(admin: &Admin, deleted: &Operator) -> Option<Response> {
        (deleted.id == admin.0.operator.id).then(|| see_other("/login"))
    }
}
