//! What the tests read of the audit log.

use futures::TryStreamExt;
use herald::domain::audit::{AuditEntity, AuditEntry};
use herald::store::{AuditFilter, AuditOrder, Page, Store};

/// The audit entries of `entity` (of one of them, with `id`), oldest first.
pub async fn audit_entries(store: &Store, entity: AuditEntity, id: Option<i64>) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        entity: Some(entity),
        entity_id: id,
        ..Default::default()
    };
    store
        .list_audit(filter, AuditOrder::Oldest, Page::default())
        .try_collect()
        .await
        .expect("the audit log reads")
}
