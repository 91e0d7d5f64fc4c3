//! `GET /api/AuditLog` in the document.

use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Paths, PathsBuilder, Schema};
use utoipa::ToSchema;

use super::paths::{common_errors, error, integer, list_of, paging, query, string, with_body};
use crate::api::AUDIT_LOG;
use crate::wire::audit::AuditEntryDto;

fn date_time() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .into()
}

pub fn audit_paths() -> Paths {
    let name = AuditEntryDto::name().to_string();
    let mut op = OperationBuilder::new()
        .tag(AUDIT_LOG)
        .operation_id(Some("listAuditLog"))
        .summary(Some("List the audit log"))
        .description(Some(
            "Every change made through the API, the GUI or the command line: the entity, what \
             was done, who did it (`API key`, `command line` or the operator), when, from which \
             client address, and the changed properties before and after (secrets are never \
             written; a new password shows as `changed`). Oldest first, by `Id`, streamed; \
             `$top` and `$skip` read a window. Entries older than the `audit_retention` setting \
             (a year by default) are pruned.",
        ));
    for p in paging() {
        op = op.parameter(p);
    }
    for p in [
        query(
            "entity",
            string(),
            "Only this kind of entity: Ticket, Customer, Service, Operator or Settings (any letter case).",
        ),
        query("entityId", integer(1), "Only the entity with this Id."),
        query(
            "actor",
            string(),
            "Only changes by this actor, ignoring case: `API key`, `command line` or an operator's name.",
        ),
        query("from", date_time(), "Only changes at or after this time."),
        query("to", date_time(), "Only changes before this time."),
    ] {
        op = op.parameter(p);
    }
    let op = op
        .response(
            "200",
            with_body("The entries, oldest first.", list_of(&name)).build(),
        )
        .response(
            "400",
            error("A filter or paging parameter that cannot be read (the message names it)."),
        );
    PathsBuilder::new()
        .path(
            format!("/api/{AUDIT_LOG}"),
            PathItem::new(HttpMethod::Get, common_errors(op).build()),
        )
        .build()
}
