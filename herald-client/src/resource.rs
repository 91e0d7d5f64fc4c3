//! The operations every resource has: list (whole or a page), get (optionally with its ETag),
//! create, update (optionally returning the entity, optionally under `If-Match`), delete.

use std::marker::PhantomData;

use reqwest::header::{CONTENT_TYPE, ETAG, IF_MATCH};
use reqwest::{Method, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Client, Customer, Error, Operator, Service, Ticket, Webhook};

/// An entity type of the API.
pub trait Entity: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// The collection's path segment (`Services`).
    const COLLECTION: &'static str;
    /// The XML element name (`Service`).
    const NAME: &'static str;
    fn id(&self) -> i64;
}

macro_rules! entity {
    ($t:ty, $collection:literal, $name:literal) => {
        impl Entity for $t {
            const COLLECTION: &'static str = $collection;
            const NAME: &'static str = $name;
            fn id(&self) -> i64 {
                self.id
            }
        }
    };
}
entity!(Service, "Services", "Service");
entity!(Customer, "Customers", "Customer");
entity!(Operator, "Operators", "Operator");
entity!(Ticket, "Tickets", "Ticket");
entity!(Webhook, "Webhooks", "Webhook");

/// An entity tag, as returned in `ETag` and sent back in `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(pub String);

impl ETag {
    fn of(response: &Response) -> Option<ETag> {
        response
            .headers()
            .get(ETAG)
            .and_then(|v| v.to_str().ok())
            .map(|v| ETag(v.to_owned()))
    }
}

/// An entity together with the ETag of the version read.
#[derive(Debug, Clone)]
pub struct Tagged<T> {
    pub entity: T,
    pub etag: ETag,
}

/// `$skip` then `$top`: a window of a list (ordered by `Id`).
///
/// ```
/// # use herald_client::Page;
/// let third_page = Page::first(20).skipping(40);
/// assert_eq!((third_page.top, third_page.skip), (Some(20), Some(40)));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Page {
    pub top: Option<u32>,
    pub skip: Option<u32>,
}

impl Page {
    /// At most `top` entities.
    pub fn first(top: u32) -> Page {
        Page {
            top: Some(top),
            skip: None,
        }
    }

    /// Skip the first `skip` entities.
    pub fn skipping(mut self, skip: u32) -> Page {
        self.skip = Some(skip);
        self
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(top) = self.top {
            q.push(("$top", top.to_string()));
        }
        if let Some(skip) = self.skip {
            q.push(("$skip", skip.to_string()));
        }
        q
    }
}

/// One resource of a [`Client`]: `client.services()`, `client.tickets()`, ….
#[derive(Debug, Clone)]
pub struct Resource<'c, T> {
    pub(crate) client: &'c Client,
    /// Query parameters added to every request (`DoNotSendEmail=true`).
    pub(crate) extra: Vec<(&'static str, String)>,
    entity: PhantomData<T>,
}

impl<'c, T: Entity> Resource<'c, T> {
    pub(crate) fn new(client: &'c Client) -> Self {
        Resource {
            client,
            extra: Vec::new(),
            entity: PhantomData,
        }
    }

    fn collection_path(&self) -> String {
        format!("api/{}", T::COLLECTION)
    }

    fn item_path(&self, id: i64) -> String {
        format!("api/{}/{id}", T::COLLECTION)
    }

    fn query(&self, more: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
        self.extra.iter().cloned().chain(more).collect()
    }

    pub(crate) async fn list_query(
        &self,
        query: Vec<(&'static str, String)>,
    ) -> Result<Vec<T>, Error> {
        let request = self
            .client
            .request(Method::GET, &self.collection_path(), &query);
        let response = self.client.send(request).await?;
        Client::read_list(response).await
    }

    /// Every entity, ordered by `Id` (`GET /api/X`).
    pub async fn list(&self) -> Result<Vec<T>, Error> {
        self.list_query(Vec::new()).await
    }

    /// A window of the list (`GET /api/X?$top=…&$skip=…`).
    pub async fn list_page(&self, page: Page) -> Result<Vec<T>, Error> {
        self.list_query(page.query()).await
    }

    /// One entity (`GET /api/X/{id}`); [`Error::NotFound`] when there is none.
    pub async fn get(&self, id: i64) -> Result<T, Error> {
        Ok(self.get_tagged(id).await?.entity)
    }

    /// One entity and its ETag, for a later [`Resource::update_if_match`] or
    /// [`Resource::delete_if_match`].
    pub async fn get_tagged(&self, id: i64) -> Result<Tagged<T>, Error> {
        let request =
            self.client
                .request(Method::GET, &self.item_path(id), &self.query(Vec::new()));
        let response = self.client.send(request).await?;
        let etag =
            ETag::of(&response).ok_or_else(|| Error::Decode("the response has no ETag".into()))?;
        let entity = Client::read(response).await?;
        Ok(Tagged { entity, etag })
    }

    /// Creates `entity` (`POST /api/X`) and returns it as stored, with its new `Id`.
    pub async fn create(&self, entity: &T) -> Result<T, Error> {
        let request = self.client.request(
            Method::POST,
            &self.collection_path(),
            &self.query(Vec::new()),
        );
        let request = self.client.body(request, T::NAME, entity);
        let response = self.client.send(request).await?;
        Client::read(response).await
    }

    /// As [`Resource::create`], safe to retry: a retry with the same `key` (up to 255
    /// characters, unique per request you mean) within 24 hours gets the first answer again
    /// and creates nothing (`Idempotency-Key`). The same key with another entity is
    /// `Error::Status { status: 422, .. }`.
    pub async fn create_idempotent(&self, entity: &T, key: &str) -> Result<T, Error> {
        let request = self
            .client
            .request(
                Method::POST,
                &self.collection_path(),
                &self.query(Vec::new()),
            )
            .header("Idempotency-Key", key);
        let request = self.client.body(request, T::NAME, entity);
        let response = self.client.send(request).await?;
        Client::read(response).await
    }

    pub(crate) async fn put(
        &self,
        entity: &T,
        representation: bool,
        if_match: Option<&ETag>,
    ) -> Result<Response, Error> {
        let mut request = self.client.request(
            Method::PUT,
            &self.item_path(entity.id()),
            &self.query(Vec::new()),
        );
        if representation {
            request = request.header("Prefer", "return=representation");
        }
        if let Some(tag) = if_match {
            request = request.header(IF_MATCH, &tag.0);
        }
        let request = self.client.body(request, T::NAME, entity);
        self.client.send(request).await
    }

    /// Replaces the entity with `entity` (`PUT /api/X/{entity.id}`). Properties left `None`
    /// or empty are erased: send everything you want to keep.
    pub async fn update(&self, entity: &T) -> Result<(), Error> {
        self.put(entity, false, None).await.map(drop)
    }

    /// As [`Resource::update`], and returns the entity as stored
    /// (`Prefer: return=representation`).
    pub async fn update_returning(&self, entity: &T) -> Result<T, Error> {
        let response = self.put(entity, true, None).await?;
        Client::read(response).await
    }

    /// As [`Resource::update`], but only if the stored entity still has ETag `etag`
    /// (`If-Match`); otherwise [`Error::PreconditionFailed`] and nothing changes. Returns the
    /// new ETag.
    pub async fn update_if_match(&self, entity: &T, etag: &ETag) -> Result<ETag, Error> {
        let response = self.put(entity, false, Some(etag)).await?;
        ETag::of(&response).ok_or_else(|| Error::Decode("the response has no ETag".into()))
    }

    async fn patch_with(
        &self,
        id: i64,
        patch: &serde_json::Value,
        if_match: Option<&ETag>,
    ) -> Result<T, Error> {
        let mut request = self
            .client
            .request(Method::PATCH, &self.item_path(id), &self.query(Vec::new()))
            .header("Prefer", "return=representation")
            .header(CONTENT_TYPE, "application/merge-patch+json")
            .body(serde_json::to_vec(patch).expect("JSON values always serialize"));
        if let Some(tag) = if_match {
            request = request.header(IF_MATCH, &tag.0);
        }
        let response = self.client.send(request).await?;
        Client::read(response).await
    }

    /// Changes only the properties `patch` names (`PATCH /api/X/{id}` with a JSON merge
    /// patch, RFC 7396) and returns the entity as stored. `null` erases a property; the
    /// rules are PUT's (an operator's `Password` is kept unless given). The patch is JSON
    /// whatever the client's format; the answer is in the client's format.
    ///
    /// ```no_run
    /// # async fn run(herald: herald_client::Client) -> Result<(), herald_client::Error> {
    /// let patched = herald
    ///     .customers()
    ///     .patch(7, &serde_json::json!({"CellPhone": null}))
    ///     .await?;
    /// assert_eq!(patched.cell_phone, None);
    /// # Ok(()) }
    /// ```
    pub async fn patch(&self, id: i64, patch: &serde_json::Value) -> Result<T, Error> {
        self.patch_with(id, patch, None).await
    }

    /// As [`Resource::patch`], but only if the stored entity still has ETag `etag`;
    /// otherwise [`Error::PreconditionFailed`] and nothing changes.
    pub async fn patch_if_match(
        &self,
        id: i64,
        patch: &serde_json::Value,
        etag: &ETag,
    ) -> Result<T, Error> {
        self.patch_with(id, patch, Some(etag)).await
    }

    async fn delete_with(&self, id: i64, if_match: Option<&ETag>) -> Result<T, Error> {
        let mut request =
            self.client
                .request(Method::DELETE, &self.item_path(id), &self.query(Vec::new()));
        if let Some(tag) = if_match {
            request = request.header(IF_MATCH, &tag.0);
        }
        let response = self.client.send(request).await?;
        Client::read(response).await
    }

    /// Deletes the entity (`DELETE /api/X/{id}`) and returns it as it was.
    pub async fn delete(&self, id: i64) -> Result<T, Error> {
        self.delete_with(id, None).await
    }

    /// As [`Resource::delete`], but only if the entity still has ETag `etag`.
    pub async fn delete_if_match(&self, id: i64, etag: &ETag) -> Result<T, Error> {
        self.delete_with(id, Some(etag)).await
    }
}
