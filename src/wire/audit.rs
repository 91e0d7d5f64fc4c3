//! The audit log's entries on the wire (`GET /api/AuditLog`).

use serde::Serialize;
use utoipa::ToSchema;

use super::datetime;
use super::model::WireEntity;
use crate::domain::audit::AuditEntry;

/// One recorded change: which entity, what was done, who did it, when, from where, and the
/// changed properties before and after (secrets never written: a new password shows as
/// `"changed"`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = AuditEntry)]
pub struct AuditEntryDto {
    #[schema(value_type = i64, minimum = 1)]
    pub id: i64,
    /// When the change was committed.
    #[schema(format = DateTime)]
    pub time: String,
    /// `Ticket`, `Customer`, `Service`, `Operator` or `Settings`.
    #[schema(value_type = String)]
    pub entity: &'static str,
    /// The entity's Id (null for the settings).
    pub entity_id: Option<i64>,
    /// `Created`, `Updated` or `Deleted`.
    #[schema(value_type = String)]
    pub action: &'static str,
    /// `API key`, `command line`, or the operator's name at the time.
    pub actor: String,
    /// The operator's Id when an operator made the change.
    pub actor_operator_id: Option<i64>,
    /// The client's address (behind trusted proxies, the one they name); null on the command line.
    pub client_address: Option<String>,
    /// The changed properties before the change, by their wire names (null for a creation).
    #[schema(value_type = Option<Object>)]
    pub old_values: Option<serde_json::Value>,
    /// The changed properties after the change (null for a deletion).
    #[schema(value_type = Option<Object>)]
    pub new_values: Option<serde_json::Value>,
}

impl WireEntity for AuditEntry {
    const NAME: &'static str = "AuditEntry";
    const MODEL: &'static str = "auditEntry";
    type Dto = AuditEntryDto;

    fn to_wire(&self) -> AuditEntryDto {
        AuditEntryDto {
            id: self.id,
            time: datetime::format(self.at),
            entity: self.entity.name(),
            entity_id: self.entity_id,
            action: self.action.name(),
            actor: self.actor.clone(),
            actor_operator_id: self.actor_operator_id,
            client_address: self.client_address.clone(),
            old_values: self.old_values.clone(),
            new_values: self.new_values.clone(),
        }
    }
}
