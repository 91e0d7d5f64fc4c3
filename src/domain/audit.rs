//! The audit log: who changed which entity, when, from where, and what it was before.
//!
//! What an entry says about an entity comes from its audit view ([`Audited`]): the properties
//! the entity shows on the wire, built from the domain values, which hold no secret (the
//! `Operator` has no password hash, the settings' view writes the values of declared
//! non-secret settings only). A password change is a `Password` property whose value is the
//! word "changed", never the password or its hash.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{json, Value};

use super::{Actor, Customer, Operator, Service, Ticket, Timestamp};

/// Who makes a change, and from which client address (none on the command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub actor: Actor,
    pub address: Option<IpAddr>,
}

impl Who {
    /// The command line.
    pub fn cli() -> Who {
        Who {
            actor: Actor::Cli,
            address: None,
        }
    }

    pub fn new(actor: Actor, address: Option<IpAddr>) -> Who {
        Who { actor, address }
    }
}

/// What kind of entity an entry is about (named as on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditEntity {
    Ticket,
    Customer,
    Service,
    Operator,
    Webhook,
    /// The settings (of the Settings page, the API key): no id.
    Settings,
}

impl AuditEntity {
    pub const ALL: [AuditEntity; 6] = [
        AuditEntity::Ticket,
        AuditEntity::Customer,
        AuditEntity::Service,
        AuditEntity::Operator,
        AuditEntity::Webhook,
        AuditEntity::Settings,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AuditEntity::Ticket => "Ticket",
            AuditEntity::Customer => "Customer",
            AuditEntity::Service => "Service",
            AuditEntity::Operator => "Operator",
            AuditEntity::Webhook => "Webhook",
            AuditEntity::Settings => "Settings",
        }
    }

    /// By name, ignoring case.
    pub fn parse(name: &str) -> Option<AuditEntity> {
        Self::ALL
            .into_iter()
            .find(|e| e.name().eq_ignore_ascii_case(name.trim()))
    }
}

/// What the change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    Created,
    Updated,
    Deleted,
}

impl AuditAction {
    pub const ALL: [AuditAction; 3] = [
        AuditAction::Created,
        AuditAction::Updated,
        AuditAction::Deleted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AuditAction::Created => "Created",
            AuditAction::Updated => "Updated",
            AuditAction::Deleted => "Deleted",
        }
    }

    pub fn parse(name: &str) -> Option<AuditAction> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// An entity's properties as the audit log writes them: wire names, plain JSON values.
pub type AuditView = BTreeMap<&'static str, Value>;

/// What is written in place of a secret that changed.
pub const CHANGED: &str = "changed";

/// An entity the audit log can describe. The view must hold nothing secret.
pub trait Audited {
    const ENTITY: AuditEntity;
    fn audit_id(&self) -> Option<i64>;
    fn audit_view(&self) -> AuditView;
}

/// One recorded change, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub entity: AuditEntity,
    pub entity_id: Option<i64>,
    pub action: AuditAction,
    /// The actor's label at the time ("API key", "command line", an operator's name).
    pub actor: String,
    pub actor_operator_id: Option<i64>,
    pub client_address: Option<String>,
    /// The changed properties before the change (none for a creation).
    pub old_values: Option<Value>,
    /// The changed properties after the change (none for a deletion).
    pub new_values: Option<Value>,
}

/// The changed properties of `before` and `after`, as (old, new): all of them for a creation
/// or a deletion, the differing ones for an update. `None` for both when nothing changed.
pub fn changed_values(
    before: Option<&AuditView>,
    after: Option<&AuditView>,
) -> Option<(Option<Value>, Option<Value>)> {
    let object = |m: BTreeMap<&str, Value>| {
        Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    };
    match (before, after) {
        (None, None) => None,
        (None, Some(a)) => Some((None, Some(object(a.clone())))),
        (Some(b), None) => Some((Some(object(b.clone())), None)),
        (Some(b), Some(a)) => {
            let mut old = BTreeMap::new();
            let mut new = BTreeMap::new();
            for key in b.keys().chain(a.keys()) {
                let (bv, av) = (b.get(key), a.get(key));
                if bv != av {
                    old.insert(*key, bv.cloned().unwrap_or(Value::Null));
                    new.insert(*key, av.cloned().unwrap_or(Value::Null));
                }
            }
            if old.is_empty() {
                None
            } else {
                Some((Some(object(old)), Some(object(new))))
            }
        }
    }
}

/// A time as RFC 3339 text in UTC.
pub fn time_value(ts: Option<Timestamp>) -> Value {
    match ts {
        Some(t) => Value::String(
            t.to_chrono()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        ),
        None => Value::Null,
    }
}

fn service_ids(services: &[Service]) -> Value {
    json!(services.iter().map(|s| s.id).collect::<Vec<_>>())
}

impl Audited for super::Webhook {
    const ENTITY: AuditEntity = AuditEntity::Webhook;
    fn audit_id(&self) -> Option<i64> {
        Some(self.id)
    }
    /// Never the secret.
    fn audit_view(&self) -> AuditView {
        AuditView::from([
            ("Url", json!(self.url)),
            ("Services", json!(self.services)),
            ("Format", json!(self.format.as_str())),
            ("IsActive", json!(self.is_active)),
        ])
    }
}

impl Audited for Service {
    const ENTITY: AuditEntity = AuditEntity::Service;
    fn audit_id(&self) -> Option<i64> {
        Some(self.id)
    }
    fn audit_view(&self) -> AuditView {
        AuditView::from([
            ("Name", json!(self.name)),
            ("Description", json!(self.description)),
            ("IsPublic", json!(self.is_public)),
        ])
    }
}

impl Audited for Customer {
    const ENTITY: AuditEntity = AuditEntity::Customer;
    fn audit_id(&self) -> Option<i64> {
        Some(self.id)
    }
    fn audit_view(&self) -> AuditView {
        AuditView::from([
            ("Name", json!(self.name)),
            ("Email", json!(self.email)),
            ("CellPhone", json!(self.cell_phone)),
            ("Services", service_ids(&self.services)),
            (
                "Language",
                json!(self.language.as_ref().map(|l| l.as_str())),
            ),
        ])
    }
}

impl Audited for Operator {
    const ENTITY: AuditEntity = AuditEntity::Operator;
    fn audit_id(&self) -> Option<i64> {
        Some(self.id)
    }
    /// The `Operator` holds no password or hash, so neither can be written.
    fn audit_view(&self) -> AuditView {
        AuditView::from([
            ("Name", json!(self.name)),
            ("Email", json!(self.email)),
            ("CellPhone", json!(self.cell_phone)),
            ("IsAdmin", json!(self.is_admin)),
        ])
    }
}

impl Audited for Ticket {
    const ENTITY: AuditEntity = AuditEntity::Ticket;
    fn audit_id(&self) -> Option<i64> {
        Some(self.id)
    }
    fn audit_view(&self) -> AuditView {
        let t = &self.times;
        AuditView::from([
            ("Description", json!(self.description)),
            ("StartTime", time_value(t.start_time)),
            ("EndTime", time_value(t.end_time)),
            (
                "ExpectedResolutionTime",
                time_value(t.expected_resolution_time),
            ),
            ("NextUpdateTime", time_value(t.next_update_time)),
            ("ClosedTime", time_value(t.closed_time)),
            ("ReopenedTime", time_value(t.reopened_time)),
            ("Services", service_ids(&self.services)),
            ("Operator", json!(self.operator.as_ref().map(|o| o.id))),
        ])
    }
}

/// A customer's view with their address's `OptedOutTime`, for the changes that can opt out or
/// back in (through their link, or an administrator's lift). Not in the plain view: the API
/// ignores it on input, so no other change moves it.
pub fn customer_with_opt_out(customer: &Customer) -> AuditView {
    let mut view = customer.audit_view();
    view.insert("OptedOutTime", time_value(customer.opted_out_time));
    view
}

/// The view of a customer who was issued a new personal link (the earlier ones ended): the
/// links marked as changed, never a token or its digest.
pub fn personal_link_changed(view: &mut AuditView) {
    view.insert("PersonalLink", Value::String(CHANGED.into()));
}

/// The view of a webhook whose signing secret was set: `Secret` marked as changed, never the
/// secret.
pub fn secret_changed(view: &mut AuditView) {
    view.insert("Secret", Value::String(CHANGED.into()));
}

/// The view of an operator whose password was changed: `Password` marked as changed.
pub fn password_changed(view: &mut AuditView) {
    view.insert("Password", Value::String(CHANGED.into()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, description: Option<&str>) -> Service {
        Service {
            id: 3,
            name: name.into(),
            description: description.map(str::to_owned),
            is_public: true,
        }
    }

    #[test]
    fn an_update_writes_only_what_changed() {
        let before = service("Mail", Some("mx")).audit_view();
        let after = service("Mail", None).audit_view();
        let (old, new) = changed_values(Some(&before), Some(&after)).unwrap();
        assert_eq!(old, Some(json!({"Description": "mx"})));
        assert_eq!(new, Some(json!({"Description": null})));
        assert_eq!(changed_values(Some(&before), Some(&before)), None);
    }

    #[test]
    fn creations_and_deletions_write_everything() {
        let view = service("Mail", None).audit_view();
        let (old, new) = changed_values(None, Some(&view)).unwrap();
        assert_eq!(old, None);
        assert_eq!(
            new,
            Some(json!({"Name": "Mail", "Description": null, "IsPublic": true}))
        );
        let (old, new) = changed_values(Some(&view), None).unwrap();
        assert_eq!(new, None);
        assert!(old.is_some());
    }

    #[test]
    fn a_new_password_is_only_marked() {
        let op = Operator {
            id: 1,
            name: "Ann".into(),
            email: "ann@example.com".into(),
            cell_phone: None,
            is_admin: true,
        };
        let before = op.audit_view();
        let mut after = op.audit_view();
        password_changed(&mut after);
        let (old, new) = changed_values(Some(&before), Some(&after)).unwrap();
        assert_eq!(old, Some(json!({"Password": null})));
        assert_eq!(new, Some(json!({"Password": "changed"})));
    }

    #[test]
    fn entity_names_parse_ignoring_case() {
        assert_eq!(AuditEntity::parse("ticket"), Some(AuditEntity::Ticket));
        assert_eq!(AuditEntity::parse("nothing"), None);
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.name()), Some(a));
        }
    }
}
