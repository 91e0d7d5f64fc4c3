//! The pages of an entity with plain CRUD (customers, services, operators), written once: the
//! list, the new form and its create, the edit form and its save, the delete confirmation and
//! the deletion. Each entity says only what differs ([`Resource`]): its fields, how its form is
//! read, its templates, who may use its pages and what its deletion warns about.
//!
//! An edit form (and a delete confirmation) carries the entity's version, its entity tag, as
//! the hidden field `version`; the store checks it in the same transaction as the change. When
//! someone else changed the entity meanwhile nothing is changed, and the form is shown again
//! with the current values and the version it now has, so saving again is deliberate. A request
//! without the field (not sent by a Herald form) is not checked, like an API request without
//! `If-Match`.

use std::future::Future;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use super::form::{store_errors, FieldErrors, FormData, ServiceChoice};
use super::page::{
    deleted, notice_code, parse_id, render, render_status, saved, Chrome, ConfirmPage, Done,
    GuiError, Kind, Nav, Notice,
};
use super::session::{Admin, Session};
use crate::state::AppState;
use crate::store::{Entity, StoreError};
use crate::wire::etag;
use crate::wire::model::WireEntity;
use crate::wire::ModelState;

/// What a form or a delete confirmation says when the entity changed after it was shown.
pub const CHANGED_MEANWHILE: &str = "This was changed by someone else meanwhile, so nothing was \
     saved. The form now shows the current values: make your change again if it is still needed.";

/// The same on a delete confirmation.
pub const CHANGED_BEFORE_DELETE: &str = "This was changed by someone else meanwhile, so it was \
     not deleted. Check the current values, then delete it again if it is still needed.";

/// Who may use a resource's pages: any signed-in operator ([`Session`]) or administrators
/// only ([`Admin`]).
pub trait Signed: FromRequestParts<AppState, Rejection = GuiError> + Send + Sync + 'static {
    fn session(&self) -> &Session;
}

impl Signed for Session {
    fn session(&self) -> &Session {
        self
    }
}

impl Signed for Admin {
    fn session(&self) -> &Session {
        &self.0
    }
}

/// The query of a list page: each list reads the parameters it has.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Search text.
    pub q: Option<String>,
    /// A service to filter by.
    pub service: Option<String>,
    pub page: Option<String>,
    #[serde(default, deserialize_with = "notice_code")]
    pub done: Option<Notice>,
}

/// What every form of a resource shows: which entity it edits (`None` on a new form), the
/// version it was read at, its fields' values and errors.
#[derive(Debug, Clone)]
pub struct FormFrame {
    /// The singular noun of its URLs (`customer`).
    pub noun: &'static str,
    /// The list's heading (`Customers`).
    pub plural: &'static str,
    pub editing: Option<i64>,
    /// The version the edit form was filled from; empty on a new form.
    pub version: String,
    /// The fields, as submitted or as stored.
    pub values: FormData,
    pub errors: FieldErrors,
    /// The services to tick, on a form that has them ([`Resource::choices`]).
    pub choices: Vec<ServiceChoice>,
    /// What an edit page shows beside its form ([`Resource::notes`]).
    pub notes: Notes,
}

/// Read-only facts an edit page shows beside its form, by name (a customer's opt-out).
#[derive(Debug, Clone, Default)]
pub struct Notes(Vec<(&'static str, String)>);

impl Notes {
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.0.push((name, value.into()));
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FormFrame {
    fn new<R: Resource>(editing: Option<i64>, version: String, values: FormData) -> Self {
        FormFrame {
            noun: R::KIND.noun(),
            plural: R::PLURAL,
            editing,
            version,
            values,
            errors: FieldErrors::none(),
            choices: Vec::new(),
            notes: Notes::default(),
        }
    }

    /// The edit form of an entity as it is stored.
    fn stored<R: Resource>(entity: &R) -> Self {
        Self::new::<R>(
            Some(entity.id()),
            version_tag(entity),
            FormData::of_entity(entity),
        )
    }

    /// A form as it was submitted.
    fn submitted<R: Resource>(editing: Option<i64>, submitted: &Submitted) -> Self {
        let version = submitted.version.clone().unwrap_or_default();
        Self::new::<R>(editing, version, submitted.form.clone())
    }

    fn with_errors(self, errors: FieldErrors) -> Self {
        FormFrame { errors, ..self }
    }

    /// Where the form posts.
    pub fn action(&self) -> String {
        match self.editing {
            Some(id) => format!("/{}s/{id}", self.noun),
            None => format!("/{}s", self.noun),
        }
    }
}

/// Declares `FormPage`, a resource's form page: the [`FormFrame`] in the template at `$path`
/// (which extends `gui/resource/form.html` with the entity's fields).
macro_rules! form_page {
    ($path:tt) => {
        #[derive(askama::Template)]
        #[template(path = $path)]
        pub struct FormPage {
            chrome: $crate::gui::page::Chrome,
            form: $crate::gui::resource::FormFrame,
        }

        impl From<($crate::gui::page::Chrome, $crate::gui::resource::FormFrame)> for FormPage {
            fn from(
                (chrome, form): ($crate::gui::page::Chrome, $crate::gui::resource::FormFrame),
            ) -> Self {
                FormPage { chrome, form }
            }
        }
    };
}
pub(super) use form_page;

/// An entity with pages. The handlers below are the same for every one; its forms are
/// filled from its wire form ([`FormData::of_entity`]) and read by the API's parser.
pub trait Resource: Entity + WireEntity {
    /// What it is, in its URLs (`/customers`) and notices.
    const KIND: Kind;
    /// The list's title and heading (`Customers`).
    const PLURAL: &'static str;
    const NAV: Nav;
    type Who: Signed;
    /// Its form page, declared with [`form_page!`].
    type FormPage: Template + Send + From<(Chrome, FormFrame)>;

    /// Reads the form with the API's parser.
    fn parse(form: &FormData, creating: bool) -> Result<Self::New, ModelState>;

    fn list_page(
        state: &AppState,
        who: &Self::Who,
        chrome: Chrome,
        query: ListQuery,
    ) -> impl Future<Output = Result<impl Template + Send, GuiError>> + Send;

    /// The services its form offers to tick, those in `values` ticked (none by default).
    fn choices(
        _state: &AppState,
        _values: &FormData,
    ) -> impl Future<Output = Result<Vec<ServiceChoice>, GuiError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// What the edit page of the entity `editing` shows beside its form (nothing by default;
    /// nothing on a new form).
    fn notes(
        _state: &AppState,
        _editing: i64,
    ) -> impl Future<Output = Result<Notes, GuiError>> + Send {
        async { Ok(Notes::default()) }
    }

    /// The delete confirmation's heading and what it warns about.
    fn deletion(
        &self,
        state: &AppState,
        who: &Self::Who,
    ) -> impl Future<Output = Result<(String, String), GuiError>> + Send;

    /// Where a successful create or save goes when not to the list (`None`).
    fn after_save(_who: &Self::Who, _saved: &Self, _new: &Self::New) -> Option<Response> {
        None
    }

    /// Where a successful deletion goes when not to the list (`None`).
    fn after_delete(_who: &Self::Who, _deleted: &Self) -> Option<Response> {
        None
    }
}

/// `/{noun}s`, `/{noun}s/new`, `/{noun}s/{id}` and `/{noun}s/{id}/delete` for a resource.
pub fn router<R: Resource>() -> Router<AppState> {
    let base = R::KIND.list();
    Router::new()
        .route(&base, get(list::<R>).post(write::<R>))
        .route(&format!("{base}/new"), get(new_form::<R>))
        .route(
            &format!("{base}/{{id}}"),
            get(edit_form::<R>).post(write::<R>),
        )
        .route(
            &format!("{base}/{{id}}/delete"),
            get(confirm_delete::<R>).post(delete::<R>),
        )
}

async fn list<R: Resource>(
    State(state): State<AppState>,
    who: R::Who,
    Query(query): Query<ListQuery>,
) -> Result<Response, GuiError> {
    let chrome = Chrome::new(who.session(), R::NAV, R::PLURAL).with_notice(query.done);
    render(&R::list_page(&state, &who, chrome, query).await?)
}

/// A form page, answered with `status`.
async fn form_of<R: Resource>(
    state: &AppState,
    who: &R::Who,
    status: StatusCode,
    frame: FormFrame,
) -> Result<Response, GuiError> {
    form_with_notice::<R>(state, who, status, frame, None).await
}

/// [`form_of`] with a notice (after a change made from the edit page).
async fn form_with_notice<R: Resource>(
    state: &AppState,
    who: &R::Who,
    status: StatusCode,
    mut frame: FormFrame,
    notice: Option<Notice>,
) -> Result<Response, GuiError> {
    let verb = if frame.editing.is_some() {
        "Edit"
    } else {
        "New"
    };
    let chrome = Chrome::new(who.session(), R::NAV, format!("{verb} {}", R::KIND.noun()))
        .with_notice(notice);
    frame.choices = R::choices(state, &frame.values).await?;
    if let Some(id) = frame.editing {
        frame.notes = R::notes(state, id).await?;
    }
    render_status(status, &R::FormPage::from((chrome, frame)))
}

async fn new_form<R: Resource>(
    State(state): State<AppState>,
    who: R::Who,
) -> Result<Response, GuiError> {
    let frame = FormFrame::new::<R>(None, String::new(), FormData::default());
    form_of::<R>(&state, &who, StatusCode::OK, frame).await
}

async fn edit_form<R: Resource>(
    State(state): State<AppState>,
    who: R::Who,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, GuiError> {
    let entity = R::get(&state.store, parse_id(&id)?).await?;
    let frame = FormFrame::stored(&entity);
    form_with_notice::<R>(&state, &who, StatusCode::OK, frame, done.done).await
}

/// The version of an entity a form carries: its entity tag, without the quotes.
pub(super) fn version_tag<R: Resource>(entity: &R) -> String {
    etag::of(entity).trim_matches('"').to_owned()
}

/// A submitted form and the version it was read at (none when the request did not say).
struct Submitted {
    form: FormData,
    version: Option<String>,
}

impl Submitted {
    fn parse(body: &[u8]) -> Result<Submitted, GuiError> {
        let form = FormData::parse(body)?;
        let version = Some(form.get("version").to_owned()).filter(|v| !v.is_empty());
        Ok(Submitted { form, version })
    }

    /// Is the entity still at the version the form was read at?
    fn current<R: Resource>(&self, entity: &R) -> bool {
        self.version
            .as_ref()
            .is_none_or(|v| *v == version_tag(entity))
    }
}

/// Creates (`POST /{noun}s`) or saves (`POST /{noun}s/{id}`).
async fn write<R: Resource>(
    State(state): State<AppState>,
    who: R::Who,
    id: Option<Path<String>>,
    body: Bytes,
) -> Result<Response, GuiError> {
    let editing = id.map(|Path(id)| parse_id(&id)).transpose()?;
    let submitted = Submitted::parse(&body)?;
    let again = |errors: FieldErrors| {
        let frame = FormFrame::submitted::<R>(editing, &submitted).with_errors(errors);
        let (state, who) = (&state, &who);
        async move { form_of::<R>(state, who, StatusCode::BAD_REQUEST, frame).await }
    };
    let new = match R::parse(&submitted.form, editing.is_none()) {
        Ok(new) => new,
        Err(model) => return again(model.into()).await,
    };
    let by = who.session().who();
    let result = match editing {
        None => R::create(&state.store, &new, &by).await,
        Some(id) => {
            let check = |current: &R| submitted.current(current);
            R::update(&state.store, id, &new, Some(&check), &by).await
        }
    };
    match (result, editing) {
        (Ok(done), _) => {
            Ok(R::after_save(&who, &done, &new).unwrap_or_else(|| saved(R::KIND, editing)))
        }
        (Err(StoreError::PreconditionFailed), Some(id)) => {
            // Shown as it is now, under the version it has now.
            let current = R::get(&state.store, id).await?;
            let frame =
                FormFrame::stored(&current).with_errors(FieldErrors::general(CHANGED_MEANWHILE));
            form_of::<R>(&state, &who, StatusCode::CONFLICT, frame).await
        }
        (Err(e), _) => again(store_errors(e)?).await,
    }
}

/// The delete confirmation of `entity`, with an error when a deletion was refused.
async fn confirmation<R: Resource>(
    state: &AppState,
    who: &R::Who,
    entity: &R,
    error: Option<String>,
) -> Result<ConfirmPage, GuiError> {
    let (heading, message) = entity.deletion(state, who).await?;
    let page = ConfirmPage::deletion(
        who.session(),
        R::NAV,
        R::KIND.noun(),
        entity.id(),
        heading,
        message,
    );
    Ok(ConfirmPage {
        error,
        version: Some(version_tag(entity)),
        ..page
    })
}

async fn confirm_delete<R: Resource>(
    State(state): State<AppState>,
    who: R::Who,
    Path(id): Path<String>,
) -> Result<Response, GuiError> {
    let entity = R::get(&state.store, parse_id(&id)?).await?;
    render(&confirmation(&state, &who, &entity, None).await?)
}

async fn delete<R: Resource>(
    State(state): State<AppState>,
    who: R::Who,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, GuiError> {
    let id = parse_id(&id)?;
    let submitted = Submitted::parse(&body)?;
    let check = |current: &R| submitted.current(current);
    let by = who.session().who();
    let refused = match R::delete(&state.store, id, Some(&check), &by).await {
        Ok(gone) => {
            return Ok(R::after_delete(&who, &gone).unwrap_or_else(|| deleted(R::KIND)));
        }
        Err(StoreError::Conflict(message)) => message,
        Err(StoreError::PreconditionFailed) => CHANGED_BEFORE_DELETE.to_owned(),
        Err(e) => return Err(e.into()),
    };
    let current = R::get(&state.store, id).await?;
    let page = confirmation(&state, &who, &current, Some(refused)).await?;
    render_status(StatusCode::CONFLICT, &page)
}
