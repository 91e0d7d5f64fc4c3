//! `/api/Services`.

use futures::stream::BoxStream;

use super::resource::Crud;
use crate::domain::{NewService, Service};
use crate::store::{Page, Store, StoreError};
use crate::wire::model::{parse_service, Envelope};
use crate::wire::{Doc, ModelState};

type Check<'a> = Option<&'a (dyn Fn(&Service) -> bool + Send + Sync)>;

impl Crud for Service {
    const COLLECTION: &'static str = "Services";
    type New = NewService;

    fn id(&self) -> i64 {
        self.id
    }
    fn parse(doc: &Doc, _creating: bool) -> Result<(NewService, Envelope), ModelState> {
        parse_service(doc)
    }
    fn list(store: &Store, page: Page) -> BoxStream<'static, Result<Self, StoreError>> {
        store.list_services(page)
    }
    async fn get(store: &Store, id: i64) -> Result<Self, StoreError> {
        store.get_service(id).await
    }
    async fn create(store: &Store, new: &NewService) -> Result<Self, StoreError> {
        store.create_service(new).await
    }
    async fn update(
        store: &Store,
        id: i64,
        new: &NewService,
        check: Check<'_>,
    ) -> Result<Self, StoreError> {
        store.update_service(id, new, check).await
    }
    async fn delete(store: &Store, id: i64, check: Check<'_>) -> Result<Self, StoreError> {
        store.delete_service(id, check).await
    }
}
