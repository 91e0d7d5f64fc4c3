//! The entities kept with plain create, read, update and delete (services, customers,
//! operators), behind one trait, so the API's resources and the GUI's pages are each written
//! once for all three.

use std::future::Future;

use futures::stream::BoxStream;

use super::rows::Check;
use super::{Page, Store, StoreError};
use crate::domain::{
    Customer, NewCustomer, NewOperator, NewService, NewWebhook, Operator, Service, Webhook, Who,
};

/// An entity with plain CRUD. A `check` is a precondition on the current value (an entity
/// tag), tested in the same transaction as the change: when it fails nothing is changed and
/// the answer is [`StoreError::PreconditionFailed`]. Every change is recorded in the audit log
/// as made by `who`, in the same transaction.
pub trait Entity: Sized + Send + Sync + 'static {
    /// What creating one, or replacing one's fields, takes.
    type New: Send + Sync;

    fn id(&self) -> i64;
    fn list(store: &Store, page: Page) -> BoxStream<'static, Result<Self, StoreError>>;
    fn get(store: &Store, id: i64) -> impl Future<Output = Result<Self, StoreError>> + Send;
    fn create(
        store: &Store,
        new: &Self::New,
        who: &Who,
    ) -> impl Future<Output = Result<Self, StoreError>> + Send;
    fn update(
        store: &Store,
        id: i64,
        new: &Self::New,
        check: Check<'_, Self>,
        who: &Who,
    ) -> impl Future<Output = Result<Self, StoreError>> + Send;
    fn delete(
        store: &Store,
        id: i64,
        check: Check<'_, Self>,
        who: &Who,
    ) -> impl Future<Output = Result<Self, StoreError>> + Send;
}

/// The impl of [`Entity`] for `$entity`, forwarding to the store's methods of that name.
macro_rules! entity {
    ($entity:ty, $new:ty, $list:ident, $get:ident, $create:ident, $update:ident, $delete:ident) => {
        impl Entity for $entity {
            type New = $new;

            fn id(&self) -> i64 {
                self.id
            }
            fn list(store: &Store, page: Page) -> BoxStream<'static, Result<Self, StoreError>> {
                store.$list(page)
            }
            async fn get(store: &Store, id: i64) -> Result<Self, StoreError> {
                store.$get(id).await
            }
            async fn create(store: &Store, new: &$new, who: &Who) -> Result<Self, StoreError> {
                store.$create(new, who).await
            }
            async fn update(
                store: &Store,
                id: i64,
                new: &$new,
                check: Check<'_, Self>,
                who: &Who,
            ) -> Result<Self, StoreError> {
                store.$update(id, new, check, who).await
            }
            async fn delete(
                store: &Store,
                id: i64,
                check: Check<'_, Self>,
                who: &Who,
            ) -> Result<Self, StoreError> {
                store.$delete(id, check, who).await
            }
        }
    };
}

entity!(
    Service,
    NewService,
    list_services,
    get_service,
    create_service,
    update_service,
    delete_service
);
entity!(
    Customer,
    NewCustomer,
    list_customers,
    get_customer,
    create_customer,
    update_customer,
    delete_customer
);
entity!(
    Operator,
    NewOperator,
    list_operators,
    get_operator,
    create_operator,
    update_operator,
    delete_operator
);
entity!(
    Webhook,
    NewWebhook,
    list_webhooks,
    get_webhook,
    create_webhook,
    update_webhook,
    delete_webhook
);
