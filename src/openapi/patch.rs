//! The PATCH operation of a resource: a JSON merge patch (RFC 7396) of its PUT body.

use utoipa::openapi::path::OperationBuilder;
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{Content, RefOr, Required, ResponseBuilder, Schema};
use utoipa::PartialSchema;

use super::paths::{error, etag, Documented};
use crate::wire::merge_patch::MEDIA_TYPE;

/// The PUT body's schema with nothing required and without the read-only properties.
fn patch_schema<R: Documented>() -> RefOr<Schema> {
    let mut schema = <R::Update as PartialSchema>::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.required.clear();
        // `Id` may be given (equal to the URL's) but changes nothing: not offered.
        for field in R::READ_ONLY.iter().chain(&["Id"]) {
            object.properties.remove(*field);
        }
        object.title = None;
        object.description = Some(
            "A JSON merge patch (RFC 7396): only the properties named change; `null` erases \
             one (an operator's `Password` and a ticket's `ClosedTime`/`ReopenedTime` are kept, \
             as on PUT). `Id` is not needed; if given, it must equal the URL's."
                .into(),
        );
    }
    schema
}

/// `PATCH /api/{Collection}/{id}`, given the operation as far as PUT's shared parts.
pub fn operation<R: Documented>(op: OperationBuilder, lower: &str, name: &str) -> OperationBuilder {
    op.description(Some(format!(
        "Changes only the properties the merge patch names, under the same rules, events, \
         `If-Match` and answers as PUT. A property that cannot be changed (read-only{}) is \
         a 400 naming it.",
        if R::READ_ONLY.is_empty() {
            String::new()
        } else {
            format!(": {}", R::READ_ONLY.join(", "))
        }
    )))
    .request_body(Some(
        RequestBodyBuilder::new()
            .required(Some(Required::True))
            .content(MEDIA_TYPE, Content::new(Some(patch_schema::<R>())))
            .build(),
    ))
    .response(
        "200",
        super::paths::entity_response(
            &format!("The stored {lower} (`Prefer: return=representation`)."),
            name,
        )
        .build(),
    )
    .response(
        "204",
        ResponseBuilder::new()
            .description("Patched.")
            .header("ETag", etag())
            .build(),
    )
    .response(
        "400",
        error(
            "The patch is not a JSON object, names a read-only property or an `Id` other \
             than the URL's, or leaves the entity invalid; `ModelState` names each.",
        ),
    )
    .response("404", error(&format!("No {lower} has this id.")))
    .response(
        "409",
        error("The entity kept changing while the patch was applied; try again."),
    )
    .response(
        "412",
        error("`If-Match` does not match the current `ETag`."),
    )
    .response(
        "415",
        error("The body's `Content-Type` is not `application/merge-patch+json`."),
    )
}
