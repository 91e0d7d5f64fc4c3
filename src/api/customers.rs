//! `/api/Customers`.

use futures::stream::BoxStream;

use super::resource::Crud;
use crate::domain::{Customer, NewCustomer};
use crate::store::{Page, Store, StoreError};
use crate::wire::model::{parse_customer, Envelope};
use crate::wire::{Doc, ModelState};

type Check<'a> = Option<&'a (dyn Fn(&Customer) -> bool + Send + Sync)>;

impl Crud for Customer {
    const COLLECTION: &'static str = "Customers";
    type New = NewCustomer;

    fn id(&self) -> i64 {
        self.id
    }
    fn parse(doc: &Doc, _creating: bool) -> Result<(NewCustomer, Envelope), ModelState> {
        parse_customer(doc)
    }
    fn list(store: &Store, page: Page) -> BoxStream<'static, Result<Self, StoreError>> {
        store.list_customers(page)
    }
    async fn get(store: &Store, id: i64) -> Result<Self, StoreError> {
        store.get_customer(id).await
    }
    async fn create(store: &Store, new: &NewCustomer) -> Result<Self, StoreError> {
        store.create_customer(new).await
    }
    async fn update(
        store: &Store,
        id: i64,
        new: &NewCustomer,
        check: Check<'_>,
    ) -> Result<Self, StoreError> {
        store.update_customer(id, new, check).await
    }
    async fn delete(store: &Store, id: i64, check: Check<'_>) -> Result<Self, StoreError> {
        store.delete_customer(id, check).await
    }
}
