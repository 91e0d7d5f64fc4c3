//! The request bodies, as the document describes them.
//!
//! The server reads bodies leniently through `wire::input` (names in any letter case, unknown
//! properties ignored, numbers accepted as text); these types say what a client should send.
//! They exist for the document only and are never constructed. Optional properties are
//! documented as "omit it" rather than "send null": the server takes null as omitted, but XML
//! has no plain null (only `i:nil`), and one description should suit both formats.

#![allow(dead_code)]

use serde::Deserialize;
use utoipa::ToSchema;

// The patterns of text properties (set on the schemas by `openapi::text_patterns`: utoipa's
// attribute takes a literal only).

/// A name: on one line, not blank, no control characters (`domain::Name`).
pub const NAME_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f\ufffe\uffff]*[^\s\x00-\x1f\x7f-\x9f\ufffe\uffff][^\x00-\x1f\x7f-\x9f\ufffe\uffff]*$";
/// A ticket's description: lines of text, not blank, no control characters but line breaks
/// and tabs (`domain::Description`).
pub const DESCRIPTION_PATTERN: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]*[^\s\x00-\x1f\x7f-\x9f\ufffe\uffff][^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]*$";
/// Any other text: only characters XML can carry (every text field is refused otherwise, so
/// no stored record can make an XML answer ill-formed).
pub const TEXT_PATTERN: &str = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*$";

/// A reference to an existing entity by `Id` (the only property the server reads).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = EntityRef)]
pub struct EntityRef {
    #[schema(minimum = 1)]
    pub id: i32,
}

/// A webhook to create (POST) or the full replacement of one (PUT).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = WebhookInput)]
pub struct WebhookInput {
    /// Required on PUT, equal to the `Id` in the URL; ignored on POST.
    #[schema(nullable = false, minimum = 0)]
    pub id: Option<i32>,
    /// An absolute http or https URL.
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#\\s]+"
    )]
    pub url: String,
    /// The services it covers, by `Id`; none: every service.
    #[schema(nullable = false, xml(name = "Service", wrapped(name = "Services")))]
    pub services: Option<Vec<EntityRef>>,
    /// `json` (default), `slack` or `teams`.
    #[schema(
        nullable = false,
        pattern = "^\\s*([Jj][Ss][Oo][Nn]|[Ss][Ll][Aa][Cc][Kk]|[Tt][Ee][Aa][Mm][Ss])\\s*$"
    )]
    pub format: Option<String>,
    /// The signing secret (16–200 printable ASCII characters): generated when omitted on POST
    /// (and shown once, in its answer), kept when omitted on PUT. Never shown otherwise.
    #[schema(
        nullable = false,
        min_length = 16,
        max_length = 200,
        pattern = "^[!-~]+$"
    )]
    pub secret: Option<String>,
    /// `true` when omitted.
    #[schema(nullable = false)]
    pub is_active: Option<bool>,
}

/// A service to create (POST) or the full replacement of one (PUT).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = ServiceInput)]
pub struct ServiceInput {
    /// Required on PUT, equal to the `Id` in the URL; ignored on POST.
    #[schema(nullable = false, minimum = 0)]
    pub id: Option<i32>,
    /// Unique ignoring case; one line.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(nullable = false, max_length = 2000)]
    pub description: Option<String>,
    /// Shown on the public status page and in its feeds; `true` when created without it. A
    /// property Herald adds: a PUT that omits it keeps the stored value, `null` sets it back to
    /// `true`.
    #[schema(nullable = true)]
    pub is_public: Option<bool>,
}

/// A customer to create (POST) or the full replacement of one (PUT): properties left out
/// are erased.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = CustomerInput)]
pub struct CustomerInput {
    /// Required on PUT, equal to the `Id` in the URL; ignored on POST.
    #[schema(nullable = false, minimum = 0)]
    pub id: Option<i32>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(nullable = false, format = Email)]
    pub email: Option<String>,
    /// 3 to 20 digits with an optional leading `+`, spaces, dashes and parentheses.
    #[schema(
        nullable = false,
        max_length = 40,
        pattern = r"^\+?[ ()-]*([0-9][ ()-]*){3,20}$"
    )]
    pub cell_phone: Option<String>,
    /// The services followed, by `Id` (an unknown `Id` is a 400).
    #[schema(nullable = false, xml(name = "Service", wrapped(name = "Services")))]
    pub services: Option<Vec<EntityRef>>,
    /// The language of the customer's messages: a BCP 47 tag such as `de` or `de-CH` (a tag
    /// that is not one is a 400). A property Herald adds: a PUT that omits it keeps the stored
    /// value, `null` erases it (the default_language setting applies).
    #[schema(
        nullable = true,
        max_length = 64,
        pattern = r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$",
        example = "de"
    )]
    pub language: Option<String>,
}

/// The full replacement of an operator (PUT), except the password.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = OperatorInput)]
pub struct OperatorInput {
    /// Equal to the `Id` in the URL.
    #[schema(nullable = false, minimum = 0)]
    pub id: Option<i32>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Unique ignoring case: the GUI login.
    #[schema(format = Email)]
    pub email: String,
    /// 3 to 20 digits with an optional leading `+`, spaces, dashes and parentheses.
    #[schema(
        nullable = false,
        max_length = 40,
        pattern = r"^\+?[ ()-]*([0-9][ ()-]*){3,20}$"
    )]
    pub cell_phone: Option<String>,
    #[schema(nullable = false)]
    pub is_admin: Option<bool>,
    /// Write-only. Left out (or null) keeps the current password.
    #[schema(nullable = false, min_length = 8, max_length = 1024, write_only)]
    pub password: Option<String>,
}

/// An operator to create (POST).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = NewOperatorInput)]
pub struct NewOperatorInput {
    /// Ignored.
    #[schema(nullable = false, minimum = 0)]
    pub id: Option<i32>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Unique ignoring case: the GUI login.
    #[schema(format = Email)]
    pub email: String,
    /// 3 to 20 digits with an optional leading `+`, spaces, dashes and parentheses.
    #[schema(
        nullable = false,
        max_length = 40,
        pattern = r"^\+?[ ()-]*([0-9][ ()-]*){3,20}$"
    )]
    pub cell_phone: Option<String>,
    #[schema(nullable = false)]
    pub is_admin: Option<bool>,
    /// Write-only: never returned.
    #[schema(min_length = 8, max_length = 1024, write_only)]
    pub password: String,
}

/// A ticket to create (POST), or its new values (PUT). A PUT replaces only `Description`,
/// `StartTime`, `EndTime`, `ExpectedResolutionTime` and `NextUpdateTime`; it sets `ClosedTime`
/// and `ReopenedTime` when given (closing or reopening the ticket) and keeps them when left
/// out; it ignores `Services` and `Operator`. Times without a zone are taken as UTC.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = TicketInput)]
pub struct TicketInput {
    /// Required on PUT, equal to the `Id` in the URL; ignored on POST.
    #[schema(nullable = false, minimum = 0)]
    pub id: Option<i32>,
    #[schema(min_length = 1, max_length = 10000)]
    pub description: String,
    #[schema(nullable = false, format = DateTime)]
    pub start_time: Option<String>,
    /// Not before `StartTime`.
    #[schema(nullable = false, format = DateTime)]
    pub end_time: Option<String>,
    #[schema(nullable = false, format = DateTime)]
    pub expected_resolution_time: Option<String>,
    #[schema(nullable = false, format = DateTime)]
    pub next_update_time: Option<String>,
    /// Setting it closes the ticket.
    #[schema(nullable = false, format = DateTime)]
    pub closed_time: Option<String>,
    /// Setting it later than `ClosedTime` reopens the ticket; only for a ticket with a
    /// `ClosedTime`.
    #[schema(nullable = false, format = DateTime)]
    pub reopened_time: Option<String>,
    /// POST only: the services the ticket is about, by `Id`.
    #[schema(nullable = false, xml(name = "Service", wrapped(name = "Services")))]
    pub services: Option<Vec<EntityRef>>,
    /// POST only: the operator responsible, by `Id`.
    #[schema(nullable = false)]
    pub operator: Option<EntityRef>,
    /// `true`: no email to the followers about this change.
    #[schema(nullable = false, write_only)]
    pub do_not_send_email: Option<bool>,
}

/// An error: a message for people, and for a 400 the messages per field.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Error)]
pub struct ErrorBody {
    pub message: String,
    /// Keys are `<entity>.<Field>` (`ticket.StartTime`); present only on validation errors.
    /// In XML each message is an element named after its key.
    #[schema(nullable = false)]
    pub model_state: Option<std::collections::BTreeMap<String, Vec<String>>>,
}
