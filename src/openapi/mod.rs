//! The OpenAPI 3.1 document of the REST API, generated from the server's own wire types
//! (`utoipa::ToSchema` on `wire::model`) and resources ([`paths::Documented`]), served at
//! `/api/openapi.json` and `/swagger/docs/v1`, and rendered as a reference page at `/api/docs`.

mod audit;
pub mod inputs;
pub mod page;
mod patch;
mod paths;
mod routes;

use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::{Tag, TagBuilder};
use utoipa::openapi::xml::XmlBuilder;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, RefOr};
use utoipa::ToSchema;

use crate::api::NotificationDto;
use crate::domain::Webhook;
use crate::domain::{Customer, Operator, Service, Ticket};
use crate::wire::audit::AuditEntryDto;
use crate::wire::model::{
    CustomerDto, OperatorDto, OperatorRefDto, ServiceDto, TicketDto, WireEntity,
};
use crate::wire::webhook::{WebhookDto, WebhookServiceDto};
use crate::wire::xml::DATACONTRACT_BASE;
use inputs::{
    CustomerInput, EntityRef, ErrorBody, NewOperatorInput, OperatorInput, ServiceInput,
    TicketInput, WebhookInput,
};
use paths::{notification_paths, resource_paths, Documented};

pub use routes::router;

const DESCRIPTION: &str = "\
The REST API of the original ASP.NET Web API product, unchanged, with a few additions \
(paging, ticket filters, ETags, the Notifications endpoint, Webhooks).

Every request needs the API key: the query-string parameter `key` (name in any letter case) \
or the `X-Api-Key` header. Missing or wrong: 401.

Bodies are JSON or XML both ways. The response format follows `Accept` (`application/json`, \
`application/xml` or `text/xml`; JSON when nothing else is asked for, never 406). Request bodies \
are read by `Content-Type`: `application/json`, `application/xml`, `text/xml`, and also \
`text/json` and `application/x-www-form-urlencoded` (nested lists as `Services[0].Id=1`). A body \
with no `Content-Type` or another one is a 415. Property names \
are PascalCase on output and match in any letter case on input; unknown properties are ignored.

XML is the DataContract shape: `<Ticket xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" \
xmlns=\"http://schemas.datacontract.org/2004/07/Herald.Models\">`, child elements in ordinal \
alphabetical order, null as `<X i:nil=\"true\" />`, lists as `<ArrayOfTicket>`, nested lists \
as `<Services><Service>…</Service></Services>`. On input any namespace and any element order \
are accepted.

All times are UTC: written as `2001-01-01T12:00:00Z`; read with `Z`, with an offset \
(converted) or with no zone (taken as UTC).

Errors carry a `Message`; a 400 about the body also has `ModelState`, the messages per \
field, keyed `<entity>.<Field>`.";

fn tag(name: &str, description: &str) -> Tag {
    TagBuilder::new()
        .name(name)
        .description(Some(description))
        .build()
}

/// The document as served, with `namespace` (the configured DataContract namespace suffix) in
/// its XML descriptions.
pub fn document(namespace: &str) -> serde_json::Value {
    let mut value = serde_json::to_value(openapi(namespace)).expect("the document serializes");
    fix_link_names(&mut value);
    value
}

/// utoipa 5.5 writes the fields of a Link object in snake case (`operation_id`); OpenAPI
/// spells them `operationId`, `operationRef`, `requestBody`.
fn fix_link_names(value: &mut serde_json::Value) {
    let Some(paths) = value.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let responses = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(|r| r.as_object_mut()))
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let Some(links) = response.get_mut("links").and_then(|l| l.as_object_mut()) else {
            continue;
        };
        for link in links.values_mut().filter_map(|l| l.as_object_mut()) {
            for (from, to) in [
                ("operation_id", "operationId"),
                ("operation_ref", "operationRef"),
                ("request_body", "requestBody"),
            ] {
                if let Some(v) = link.remove(from) {
                    link.insert(to.to_owned(), v);
                }
            }
        }
    }
}

/// The patterns of the request bodies' text (what the server refuses that lengths cannot say).
fn text_patterns(components: &mut utoipa::openapi::Components) {
    let name = |schema: &str| (schema.to_owned(), "Name", inputs::NAME_PATTERN);
    let patterns = [
        name(&ServiceInput::name()),
        name(&CustomerInput::name()),
        name(&OperatorInput::name()),
        name(&NewOperatorInput::name()),
        (
            ServiceInput::name().into(),
            "Description",
            inputs::TEXT_PATTERN,
        ),
        (
            TicketInput::name().into(),
            "Description",
            inputs::DESCRIPTION_PATTERN,
        ),
        (
            OperatorInput::name().into(),
            "Password",
            inputs::TEXT_PATTERN,
        ),
        (
            NewOperatorInput::name().into(),
            "Password",
            inputs::TEXT_PATTERN,
        ),
    ];
    for (schema, property, pattern) in patterns {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&schema) {
            if let Some(RefOr::T(Schema::Object(p))) = object.properties.get_mut(property) {
                p.pattern = Some(pattern.to_owned());
            }
        }
    }
}

/// The values a notification's `State` and `Channel` take.
fn notification_enums(components: &mut utoipa::openapi::Components) {
    use crate::domain::{Channel, DeliveryState};
    let states = DeliveryState::ALL.map(|s| serde_json::json!(s.as_str()));
    let channels = Channel::ALL.map(|c| serde_json::json!(c.as_str()));
    let schema = NotificationDto::name();
    if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&*schema) {
        for (property, values) in [("State", states.to_vec()), ("Channel", channels.to_vec())] {
            if let Some(RefOr::T(Schema::Object(p))) = object.properties.get_mut(property) {
                p.enum_values = Some(values);
            }
        }
    }
}

/// PUT's body schemas ([`Documented::PUT_BODY`]): the properties of [`Documented::Update`],
/// with `Id` required and positive, since it must equal the URL's (`0`, which stands for "no
/// Id" in a POST, is refused on PUT).
fn put_bodies(components: &mut utoipa::openapi::Components) {
    fn put_body<R: Documented>(components: &mut utoipa::openapi::Components) {
        let Some(RefOr::T(Schema::Object(update))) = components
            .schemas
            .get(&*<R::Update as ToSchema>::name())
            .cloned()
        else {
            return;
        };
        let mut put = update;
        if let Some(RefOr::T(Schema::Object(id))) = put.properties.get_mut("Id") {
            id.minimum = Some(1.into());
            id.description = Some("Equal to the `Id` in the URL.".into());
        }
        if !put.required.iter().any(|r| r == "Id") {
            put.required.insert(0, "Id".to_owned());
        }
        components
            .schemas
            .insert(R::PUT_BODY.to_owned(), RefOr::T(Schema::Object(put)));
    }
    put_body::<Ticket>(components);
    put_body::<Customer>(components);
    put_body::<Service>(components);
    put_body::<Operator>(components);
    put_body::<Webhook>(components);
}

/// The document as utoipa builds it.
pub fn openapi(namespace: &str) -> OpenApi {
    let mut paths = resource_paths::<Ticket>();
    paths.paths.extend(notification_paths().paths);
    paths.paths.extend(audit::audit_paths().paths);
    paths.paths.extend(resource_paths::<Customer>().paths);
    paths.paths.extend(resource_paths::<Service>().paths);
    paths.paths.extend(resource_paths::<Operator>().paths);
    paths.paths.extend(resource_paths::<Webhook>().paths);

    let mut components = ComponentsBuilder::new()
        .schema_from::<TicketDto>()
        .schema_from::<CustomerDto>()
        .schema_from::<ServiceDto>()
        .schema_from::<OperatorDto>()
        .schema_from::<OperatorRefDto>()
        .schema_from::<NotificationDto>()
        .schema_from::<WebhookDto>()
        .schema_from::<WebhookServiceDto>()
        .schema_from::<WebhookInput>()
        .schema_from::<AuditEntryDto>()
        .schema_from::<TicketInput>()
        .schema_from::<CustomerInput>()
        .schema_from::<ServiceInput>()
        .schema_from::<OperatorInput>()
        .schema_from::<NewOperatorInput>()
        .schema_from::<EntityRef>()
        .schema_from::<ErrorBody>()
        .security_scheme(
            "ApiKeyQuery",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "key",
                "The API key as a query-string parameter (the original product's way).",
            ))),
        )
        .security_scheme(
            "ApiKeyHeader",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "The API key as a header.",
            ))),
        )
        .build();

    text_patterns(&mut components);
    put_bodies(&mut components);
    notification_enums(&mut components);
    // XML element names and namespace: each entity's root element is named after it, request
    // bodies included (`<Ticket>` for a TicketInput), in the DataContract namespace.
    let ns = format!("{DATACONTRACT_BASE}{namespace}");
    let xml_names = [
        (TicketDto::name(), Ticket::NAME),
        (CustomerDto::name(), Customer::NAME),
        (ServiceDto::name(), Service::NAME),
        (OperatorDto::name(), Operator::NAME),
        (TicketInput::name(), Ticket::NAME),
        (CustomerInput::name(), Customer::NAME),
        (ServiceInput::name(), Service::NAME),
        (OperatorInput::name(), Operator::NAME),
        (NewOperatorInput::name(), Operator::NAME),
        (Ticket::PUT_BODY.into(), Ticket::NAME),
        (Customer::PUT_BODY.into(), Customer::NAME),
        (Service::PUT_BODY.into(), Service::NAME),
        (Operator::PUT_BODY.into(), Operator::NAME),
        (OperatorRefDto::name(), "Operator"),
        (NotificationDto::name(), "Notification"),
        (WebhookDto::name(), Webhook::NAME),
        (WebhookInput::name(), Webhook::NAME),
        (WebhookServiceDto::name(), "Service"),
        (AuditEntryDto::name(), "AuditEntry"),
        (EntityRef::name(), "Service"),
    ];
    for (schema, element) in xml_names {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&*schema) {
            object.xml = Some(
                XmlBuilder::new()
                    .name(Some(element))
                    .namespace(Some(ns.clone()))
                    .build(),
            );
        }
    }
    // Responses always carry every property of an entity (null when empty).
    for schema in [
        TicketDto::name(),
        CustomerDto::name(),
        ServiceDto::name(),
        OperatorDto::name(),
        OperatorRefDto::name(),
        NotificationDto::name(),
        AuditEntryDto::name(),
        WebhookDto::name(),
        WebhookServiceDto::name(),
    ] {
        if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut(&*schema) {
            // Except what only some show: a notification's Email (email messages), a webhook's
            // Secret (the answer of the POST that set it).
            object.required = object
                .properties
                .keys()
                .filter(|k| !matches!(k.as_str(), "Email" | "Secret"))
                .cloned()
                .collect();
        }
    }
    if let Some(RefOr::T(Schema::Object(object))) = components.schemas.get_mut("Error") {
        object.xml = Some(XmlBuilder::new().name(Some("Error")).build());
    }

    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Herald REST API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .security(Some([
            SecurityRequirement::new::<_, [&str; 0], &str>("ApiKeyQuery", []),
            SecurityRequirement::new::<_, [&str; 0], &str>("ApiKeyHeader", []),
        ]))
        .tags(Some([
            tag(
                "Tickets",
                "Disruptions and planned work on services; every event emails the followers.",
            ),
            tag(
                "Customers",
                "People who follow services and are emailed about their tickets.",
            ),
            tag("Services", "What customers follow and tickets are about."),
            tag("Operators", "People who record tickets in the GUI."),
            tag(
                "AuditLog",
                "Who changed what, when and from where (read only; for administrators).",
            ),
        ]))
        .build()
}
