//! `/api/Operators`.

use futures::stream::BoxStream;

use super::resource::Crud;
use crate::domain::{NewOperator, Operator};
use crate::store::{Page, Store, StoreError};
use crate::wire::model::{parse_operator, Envelope};
use crate::wire::{Doc, ModelState};

type Check<'a> = Option<&'a (dyn Fn(&Operator) -> bool + Send + Sync)>;

impl Crud for Operator {
    const COLLECTION: &'static str = "Operators";
    type New = NewOperator;

    fn id(&self) -> i64 {
        self.id
    }
    fn parse(doc: &Doc, creating: bool) -> Result<(NewOperator, Envelope), ModelState> {
        parse_operator(doc, creating)
    }
    fn list(store: &Store, page: Page) -> BoxStream<'static, Result<Self, StoreError>> {
        store.list_operators(page)
    }
    async fn get(store: &Store, id: i64) -> Result<Self, StoreError> {
        store.get_operator(id).await
    }
    async fn create(store: &Store, new: &NewOperator) -> Result<Self, StoreError> {
        store.create_operator(new).await
    }
    async fn update(
        store: &Store,
        id: i64,
        new: &NewOperator,
        check: Check<'_>,
    ) -> Result<Self, StoreError> {
        store.update_operator(id, new, check).await
    }
    async fn delete(store: &Store, id: i64, check: Check<'_>) -> Result<Self, StoreError> {
        store.delete_operator(id, check).await
    }
}
