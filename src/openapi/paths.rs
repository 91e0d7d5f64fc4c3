//! The path items of the document, generated from what the resources declare.
//!
//! Services, Customers and Operators are all made by the generic `Crud` handlers of
//! `api::resource`, so one function ([`resource_paths`]) describes all of them from their
//! `Crud::COLLECTION` and their wire types; Tickets are described by the same function, with
//! the list filters and `DoNotSendEmail` their handlers add.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::{Link, LinkBuilder};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::xml::XmlBuilder;
use utoipa::openapi::{
    Content, Paths, PathsBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Schema,
};
use utoipa::ToSchema;

use super::inputs::{CustomerInput, NewOperatorInput, OperatorInput, ServiceInput, TicketInput};
use crate::api::{Crud, NotificationDto};
use crate::domain::{Customer, Operator, Service, Ticket};
use crate::wire::model::{CustomerDto, OperatorDto, ServiceDto, TicketDto, WireEntity};

/// Media types of response bodies (`Accept`), and of request bodies (`Content-Type`).
pub const RESPONSE_TYPES: [&str; 3] = ["application/json", "application/xml", "text/xml"];
/// The server also reads `text/json` and `application/x-www-form-urlencoded` bodies (said in
/// the document's description); listing them per operation makes client generators send
/// nested lists as form fields they cannot encode (openapi-python-client does).
pub const REQUEST_TYPES: [&str; 3] = ["application/json", "application/xml", "text/xml"];

/// What the document needs to know about a resource beyond its wire type.
pub trait Documented: WireEntity {
    /// The collection's path segment, as documented (`Services`).
    const COLLECTION: &'static str;
    /// The response body schema (the wire DTO).
    type Output: ToSchema;
    /// The request body schema of POST.
    type Input: ToSchema;
    /// The properties of PUT's body (the PATCH body is made of them).
    type Update: ToSchema;
    /// The name of PUT's body schema: [`Documented::Update`]'s with `Id` required and positive
    /// (see `openapi::put_bodies`).
    const PUT_BODY: &'static str;
    /// Why a DELETE can be refused with 409, if it can.
    const DELETE_CONFLICT: Option<&'static str> = None;

    /// Query parameters of the list besides paging.
    fn list_parameters() -> Vec<Parameter> {
        Vec::new()
    }

    /// Query parameters of POST and PUT.
    fn write_parameters() -> Vec<Parameter> {
        Vec::new()
    }
}

impl Documented for Service {
    const COLLECTION: &'static str = <Service as Crud>::COLLECTION;
    type Output = ServiceDto;
    type Input = ServiceInput;
    type Update = ServiceInput;
    const PUT_BODY: &'static str = "ServiceUpdate";
}

impl Documented for crate::domain::Webhook {
    const COLLECTION: &'static str = <crate::domain::Webhook as Crud>::COLLECTION;
    type Output = crate::wire::webhook::WebhookDto;
    type Input = super::inputs::WebhookInput;
    type Update = super::inputs::WebhookInput;
    const PUT_BODY: &'static str = "WebhookUpdate";
}

impl Documented for Customer {
    const COLLECTION: &'static str = <Customer as Crud>::COLLECTION;
    type Output = CustomerDto;
    type Input = CustomerInput;
    type Update = CustomerInput;
    const PUT_BODY: &'static str = "CustomerUpdate";
}

impl Documented for Operator {
    const COLLECTION: &'static str = <Operator as Crud>::COLLECTION;
    type Output = OperatorDto;
    type Input = NewOperatorInput;
    type Update = OperatorInput;
    const PUT_BODY: &'static str = "OperatorUpdate";
    const DELETE_CONFLICT: Option<&'static str> = Some("The operator is the last administrator.");
}

impl Documented for Ticket {
    const COLLECTION: &'static str = crate::api::TICKETS;
    type Output = TicketDto;
    type Input = TicketInput;
    type Update = TicketInput;
    const PUT_BODY: &'static str = "TicketUpdate";

    fn list_parameters() -> Vec<Parameter> {
        vec![
            query(
                "isClosed",
                boolean(),
                "Only closed (`true`) or only open (`false`) tickets.",
            ),
            query(
                "serviceId",
                integer(1),
                "Only tickets about the service with this `Id`.",
            ),
        ]
    }

    fn write_parameters() -> Vec<Parameter> {
        vec![query(
            "DoNotSendEmail",
            boolean(),
            "`true`: no email to the followers about this change (the same as the body \
             property).",
        )]
    }
}

pub(super) fn integer(minimum: i32) -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
        .minimum(Some(minimum))
        .maximum(Some(i32::MAX))
        .into()
}

fn boolean() -> Schema {
    ObjectBuilder::new().schema_type(Type::Boolean).into()
}

pub(super) fn string() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).into()
}

pub(super) fn query(name: &str, schema: Schema, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

fn header_parameter(name: &str, schema: Schema, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

fn id_parameter(entity: &str) -> Parameter {
    ParameterBuilder::new()
        .name("id")
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .schema(Some(integer(1)))
        .description(Some(format!("The `Id` of the {entity}.")))
        .build()
}

pub(super) fn paging() -> Vec<Parameter> {
    vec![
        query("$top", integer(0), "At most this many entities."),
        query("$skip", integer(0), "Skip this many entities first."),
    ]
}

/// A response whose body is `schema` in each response media type.
pub(super) fn with_body(
    description: &str,
    schema: impl Into<RefOr<Schema>> + Clone,
) -> ResponseBuilder {
    RESPONSE_TYPES
        .iter()
        .fold(ResponseBuilder::new().description(description), |r, mt| {
            r.content(*mt, Content::new(Some(schema.clone())))
        })
}

pub(super) fn error(description: &str) -> Response {
    with_body(description, Ref::from_schema_name("Error")).build()
}

pub(super) fn etag() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(string())
        .description(Some(
            "The entity's tag, for `If-Match` on a later PUT or DELETE.",
        ))
        .build()
}

pub(super) fn entity_response(description: &str, name: &str) -> ResponseBuilder {
    with_body(description, Ref::from_schema_name(name)).header("ETag", etag())
}

/// The errors every `/api` operation can answer with.
pub(super) fn common_errors(op: OperationBuilder) -> OperationBuilder {
    op.response(
        "401",
        error("No API key, or a wrong one: `Authorization has been denied for this request.`"),
    )
    .response(
        "408",
        ResponseBuilder::new()
            .description("The request took longer than 30 seconds.")
            .build(),
    )
    .response(
        "500",
        error("An unexpected failure: `An error has occurred.` (the details are logged)."),
    )
    .response(
        "503",
        with_body(
            "The database is unavailable; retry after the `Retry-After` seconds.",
            Ref::from_schema_name("Error"),
        )
        .header("Retry-After", HeaderBuilder::new().schema(string()).build())
        .build(),
    )
}

fn body_errors(op: OperationBuilder) -> OperationBuilder {
    op.response("413", error(crate::limits::BODY_TOO_LARGE))
        .response(
            "415",
            error("The request body has no `Content-Type`, or one not listed here."),
        )
}

fn request_body<S: ToSchema>() -> utoipa::openapi::request_body::RequestBody {
    request_body_named(&S::name())
}

fn request_body_named(name: &str) -> utoipa::openapi::request_body::RequestBody {
    let schema = Ref::from_schema_name(name);
    REQUEST_TYPES
        .iter()
        .fold(
            RequestBodyBuilder::new().required(Some(Required::True)),
            |b, mt| b.content(*mt, Content::new(Some(schema.clone()))),
        )
        .build()
}

/// A list response: a JSON array, or `<ArrayOfX>` holding one `<X>` per item.
pub(super) fn list_of(name: &str) -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(Ref::from_schema_name(name))
        .xml(Some(
            XmlBuilder::new()
                .name(Some(format!("ArrayOf{name}")))
                .wrapped(Some(true))
                .build(),
        ))
        .build()
}

/// `GET /api/Tickets/{id}/Notifications`.
pub fn notification_paths() -> Paths {
    let name = NotificationDto::name().to_string();
    let op = OperationBuilder::new()
        .tag(crate::api::TICKETS)
        .operation_id(Some("listTicketNotifications"))
        .summary(Some("List a ticket's notifications"))
        .description(Some(
            "Every recipient of every event of the ticket on every channel (`email`, `sms`, \
             `webhook`), and the state of their message: `queued`, `sent` (with the server's \
             `Reply`), `delivered` (the recipient has it: a webhook's 2xx, an SMS receipt), \
             `undelivered` (an SMS receipt said not), `retrying` (with `LastError` and \
             `NextAttemptTime`), `failed` (with `LastError`), `cancelled` (the ticket was \
             deleted before it was sent) or `skipped` (never attempted: a cell phone number \
             that cannot be normalised to E.164, with why in `LastError`). Deleted tickets keep \
             their notifications.",
        ))
        .parameter(id_parameter("ticket"))
        .response(
            "200",
            with_body("The notifications, oldest first.", list_of(&name)).build(),
        )
        .response("400", error("The id is not a 32-bit integer."))
        .response("404", error("No ticket ever had this id."));
    PathsBuilder::new()
        .path(
            format!("/api/{}/{{id}}/Notifications", crate::api::TICKETS),
            PathItem::new(HttpMethod::Get, common_errors(op).build()),
        )
        .build()
}

/// A link from a created entity to an operation on it by its `Id`.
fn link(operation_id: &str) -> Link {
    LinkBuilder::new()
        .operation_id(operation_id)
        .parameter("id", "$response.body#/Id")
        .build()
}

/// `/api/{Collection}` and `/api/{Collection}/{id}` of resource `R`.
pub fn resource_paths<R: Documented>() -> Paths {
    let name = R::Output::name().to_string();
    let collection = R::COLLECTION;
    let lower = R::NAME.to_ascii_lowercase();
    let op = |id: String, summary: String| {
        OperationBuilder::new()
            .tag(collection)
            .operation_id(Some(id))
            .summary(Some(summary))
    };

    let list_schema = list_of(&name);
    let list = op(format!("list{collection}"), format!("List {collection}"))
        .description(Some(format!(
            "Every {lower}, ordered by `Id`, streamed; `$top` and `$skip` read a window."
        )))
        .parameters(Some(paging().into_iter().chain(R::list_parameters())))
        .response(
            "200",
            with_body(&format!("The {lower}s."), list_schema).build(),
        )
        .response("400", error("A query parameter is not valid."));

    let create = op(format!("create{name}"), format!("Create a {lower}"))
        .parameters(Some(R::write_parameters()))
        .parameter(header_parameter(
            "Idempotency-Key",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(crate::api::idempotency::MAX_LEN))
                // Visible ASCII characters and spaces, not only spaces.
                .pattern(Some(r"^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$"))
                .into(),
            "Up to 255 characters: a retry with the same key and the same request within 24 \
             hours gets the first answer again (marked `Idempotent-Replayed: true`) and creates \
             nothing; the same key with another request is a 422.",
        ))
        .request_body(Some(request_body::<R::Input>()))
        .response(
            "201",
            entity_response(&format!("The created {lower}."), &name)
                .header(
                    "Location",
                    HeaderBuilder::new()
                        .schema(string())
                        .description(Some(format!("The absolute URL of the new {lower}.")))
                        .build(),
                )
                .link(format!("get{name}"), link(&format!("get{name}")))
                .link(format!("update{name}"), link(&format!("update{name}")))
                .link(format!("delete{name}"), link(&format!("delete{name}")))
                .build(),
        )
        .response(
            "400",
            error(
                "The body is malformed or invalid (`ModelState` names each bad field), or the \
                 `Idempotency-Key` is empty or too long.",
            ),
        )
        .response(
            "409",
            error("A request with the same `Idempotency-Key` is still in progress."),
        )
        .response(
            "422",
            error("The `Idempotency-Key` was used for another request."),
        );

    let get = op(format!("get{name}"), format!("Get a {lower}"))
        .parameter(id_parameter(&lower))
        .response(
            "200",
            entity_response(&format!("The {lower}."), &name).build(),
        )
        .response("400", error("The id is not a 32-bit integer."))
        .response("404", error(&format!("No {lower} has this id.")));

    let if_match = header_parameter(
        "If-Match",
        string(),
        "Only if the entity still has this `ETag`; otherwise 412 and nothing changes.",
    );
    let prefer = header_parameter(
        "Prefer",
        string(),
        "`return=representation`: answer 200 with the stored entity instead of 204.",
    );
    let update = op(format!("update{name}"), format!("Replace a {lower}"))
        .description(Some(
            "Replaces the entity: properties left out are erased (see the body schema for \
             the exceptions). The body's `Id` must equal the URL's.",
        ))
        .parameter(id_parameter(&lower))
        .parameters(Some(R::write_parameters()))
        .parameter(if_match.clone())
        .parameter(prefer.clone())
        .request_body(Some(request_body_named(R::PUT_BODY)))
        .response(
            "200",
            entity_response(
                &format!("The stored {lower} (`Prefer: return=representation`)."),
                &name,
            )
            .header(
                "Preference-Applied",
                HeaderBuilder::new().schema(string()).build(),
            )
            .build(),
        )
        .response(
            "204",
            ResponseBuilder::new()
                .description("Replaced.")
                .header("ETag", etag())
                .build(),
        )
        .response(
            "400",
            error(
                "The body is malformed or invalid, or its `Id` is missing or differs from \
                 the URL's; `ModelState` names each bad field.",
            ),
        )
        .response("404", error(&format!("No {lower} has this id.")))
        .response(
            "412",
            error("`If-Match` does not match the current `ETag`."),
        );

    let patch = super::patch::operation::<R>(
        op(format!("patch{name}"), format!("Patch a {lower}"))
            .parameter(id_parameter(&lower))
            .parameters(Some(R::write_parameters()))
            .parameter(if_match.clone())
            .parameter(prefer.clone()),
        &lower,
        &name,
    );

    let mut delete = op(format!("delete{name}"), format!("Delete a {lower}"))
        .parameter(id_parameter(&lower))
        .parameter(if_match)
        .response(
            "200",
            entity_response(&format!("The deleted {lower}, as it was."), &name).build(),
        )
        .response("400", error("The id is not a 32-bit integer."))
        .response("404", error(&format!("No {lower} has this id.")))
        .response(
            "412",
            error("`If-Match` does not match the current `ETag`."),
        );
    if let Some(why) = R::DELETE_CONFLICT {
        delete = delete.response("409", error(why));
    }

    let collection_item = PathItem::new(HttpMethod::Get, common_errors(list).build());
    let mut collection_item = collection_item;
    collection_item.merge_operations(PathItem::new(
        HttpMethod::Post,
        body_errors(common_errors(create)).build(),
    ));
    let mut item = PathItem::new(HttpMethod::Get, common_errors(get).build());
    item.merge_operations(PathItem::new(
        HttpMethod::Put,
        body_errors(common_errors(update)).build(),
    ));
    item.merge_operations(PathItem::new(
        HttpMethod::Patch,
        common_errors(patch)
            .response("413", error(crate::limits::BODY_TOO_LARGE))
            .build(),
    ));
    item.merge_operations(PathItem::new(
        HttpMethod::Delete,
        common_errors(delete).build(),
    ));
    PathsBuilder::new()
        .path(format!("/api/{collection}"), collection_item)
        .path(format!("/api/{collection}/{{id}}"), item)
        .build()
}
