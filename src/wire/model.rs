//! The entities as they appear on the wire, and the parsers that turn request bodies into
//! validated domain inputs.

use serde::Serialize;
use utoipa::ToSchema;

use super::datetime;
use super::input::{Doc, Fields, ModelState};
use crate::domain::ticket::TicketTimes;
use crate::domain::{
    CellPhone, Customer, Description, EmailAddress, LanguageTag, Name, NewCustomer, NewOperator,
    NewService, NewTicket, Operator, Password, Service, Ticket, TicketUpdate, Timestamp,
};

/// An entity the API serves: its wire name and its wire form.
pub trait WireEntity {
    /// Element name in XML (`Ticket`), and `ArrayOfTicket` for lists.
    const NAME: &'static str;
    /// Key prefix of its validation errors (`ticket.StartTime`).
    const MODEL: &'static str;
    /// Properties a PATCH may not name (besides `Id`, which must equal the URL's).
    const READ_ONLY: &'static [&'static str] = &[];
    type Dto: Serialize;
    fn to_wire(&self) -> Self::Dto;
}

fn time(ts: Option<Timestamp>) -> Option<String> {
    ts.map(datetime::format)
}

/// Something customers follow and tickets are about.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Service)]
pub struct ServiceDto {
    #[schema(value_type = i32, minimum = 1)]
    pub id: i64,
    /// Unique ignoring case, 1–200 characters.
    pub name: String,
    pub description: Option<String>,
    /// Shown on the public status page and in its feeds (a property Herald adds: a PUT that
    /// omits it keeps the stored value, `null` sets it back to the default, `true`).
    pub is_public: bool,
}

impl WireEntity for Service {
    const NAME: &'static str = "Service";
    const MODEL: &'static str = "service";
    type Dto = ServiceDto;
    fn to_wire(&self) -> ServiceDto {
        ServiceDto {
            id: self.id,
            name: self.name.clone(),
            description: self.description.clone(),
            is_public: self.is_public,
        }
    }
}

/// Someone who follows services and is emailed about their tickets.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Customer)]
pub struct CustomerDto {
    #[schema(value_type = i32, minimum = 1)]
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub cell_phone: Option<String>,
    /// The services followed.
    #[schema(xml(name = "Service", wrapped(name = "Services")))]
    pub services: Vec<ServiceDto>,
    /// When the customer's email address opted out of every message (one-click unsubscribe or
    /// the personal page); null when it has not. Read-only: ignored on input, and a PUT with
    /// all the services does not undo it.
    #[schema(format = DateTime, read_only)]
    pub opted_out_time: Option<String>,
    /// The language of the customer's messages, a BCP 47 tag such as `de` or `de-CH` (null:
    /// the default_language setting). Herald's own: a PUT that omits it keeps it, null erases it.
    #[schema(example = "de", max_length = 64)]
    pub language: Option<String>,
}

impl WireEntity for Customer {
    const NAME: &'static str = "Customer";
    const MODEL: &'static str = "customer";
    type Dto = CustomerDto;
    fn to_wire(&self) -> CustomerDto {
        CustomerDto {
            id: self.id,
            name: self.name.clone(),
            email: self.email.clone(),
            cell_phone: self.cell_phone.clone(),
            services: self.services.iter().map(Service::to_wire).collect(),
            opted_out_time: time(self.opted_out_time),
            language: self.language.as_ref().map(|l| l.to_string()),
        }
    }
}

/// A person who records tickets in the GUI (the password is never returned).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Operator)]
pub struct OperatorDto {
    #[schema(value_type = i32, minimum = 1)]
    pub id: i64,
    pub name: String,
    /// Unique ignoring case: the GUI login.
    pub email: String,
    pub cell_phone: Option<String>,
    pub is_admin: bool,
}

impl WireEntity for Operator {
    const NAME: &'static str = "Operator";
    const MODEL: &'static str = "operator";
    type Dto = OperatorDto;
    fn to_wire(&self) -> OperatorDto {
        OperatorDto {
            id: self.id,
            name: self.name.clone(),
            email: self.email.clone(),
            cell_phone: self.cell_phone.clone(),
            is_admin: self.is_admin,
        }
    }
}

/// The operator responsible for a ticket.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = OperatorRef)]
pub struct OperatorRefDto {
    #[schema(value_type = i32, minimum = 1)]
    pub id: i64,
    pub name: String,
}

/// A disruption or planned work on services. All times are UTC.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
#[schema(as = Ticket)]
pub struct TicketDto {
    #[schema(value_type = i32, minimum = 1)]
    pub id: i64,
    pub description: String,
    #[schema(format = DateTime)]
    pub start_time: Option<String>,
    #[schema(format = DateTime)]
    pub end_time: Option<String>,
    #[schema(format = DateTime)]
    pub expected_resolution_time: Option<String>,
    #[schema(format = DateTime)]
    pub next_update_time: Option<String>,
    /// When the ticket was closed.
    #[schema(format = DateTime)]
    pub closed_time: Option<String>,
    /// When it was reopened (after `ClosedTime`).
    #[schema(format = DateTime)]
    pub reopened_time: Option<String>,
    /// Set by the server when the ticket is created.
    #[schema(format = DateTime)]
    pub created_time: String,
    /// The services the ticket is about.
    #[schema(xml(name = "Service", wrapped(name = "Services")))]
    pub services: Vec<ServiceDto>,
    /// Who is responsible, if anyone.
    pub operator: Option<OperatorRefDto>,
    /// `ClosedTime` is set and not followed by a later `ReopenedTime`.
    pub is_closed: bool,
}

impl WireEntity for Ticket {
    const NAME: &'static str = "Ticket";
    const MODEL: &'static str = "ticket";
    /// Set by the server, or ignored on PUT (a ticket's services and operator are set when it
    /// is created).
    const READ_ONLY: &'static [&'static str] = &["CreatedTime", "IsClosed", "Services", "Operator"];
    type Dto = TicketDto;
    fn to_wire(&self) -> TicketDto {
        let t = &self.times;
        TicketDto {
            id: self.id,
            description: self.description.clone(),
            start_time: time(t.start_time),
            end_time: time(t.end_time),
            expected_resolution_time: time(t.expected_resolution_time),
            next_update_time: time(t.next_update_time),
            closed_time: time(t.closed_time),
            reopened_time: time(t.reopened_time),
            created_time: datetime::format(self.created_time),
            services: self.services.iter().map(Service::to_wire).collect(),
            operator: self.operator.as_ref().map(|o| OperatorRefDto {
                id: o.id,
                name: o.name.clone(),
            }),
            is_closed: self.is_closed(),
        }
    }
}

/// What a POST or PUT body carries besides the entity itself.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    /// The body's `Id`, if any (PUT requires it to equal the URL's).
    pub id: Option<i64>,
    /// `DoNotSendEmail`, in any letter case.
    pub do_not_send_email: bool,
}

fn envelope(f: &mut Fields<'_>) -> Envelope {
    Envelope {
        id: f.own_id("Id"),
        do_not_send_email: f.bool("DoNotSendEmail").unwrap_or(false),
    }
}

pub fn parse_service(doc: &Doc) -> Result<(NewService, Envelope), ModelState> {
    let mut f = Fields::new(doc, "service");
    let name = f.required("Name", Name::parse);
    let description = f.optional_text("Description").map(|d| d.trim().to_owned());
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 2000)
    {
        f.error(
            "Description",
            "The Description must be at most 2000 characters long.",
        );
    }
    let is_public = f.extension("IsPublic", |f, field| f.bool(field));
    let env = envelope(&mut f);
    let value = name.map(|name| {
        (
            NewService {
                name,
                description,
                is_public,
            },
            env,
        )
    });
    f.finish(value)
}

pub fn parse_customer(doc: &Doc) -> Result<(NewCustomer, Envelope), ModelState> {
    let mut f = Fields::new(doc, "customer");
    let name = f.required("Name", Name::parse);
    let email = f.optional("Email", EmailAddress::parse);
    let cell_phone = f.optional("CellPhone", CellPhone::parse);
    let services = f.id_list("Services");
    let language = f.extension("Language", |f, field| f.optional(field, LanguageTag::parse));
    let env = envelope(&mut f);
    let value = name.map(|name| {
        (
            NewCustomer {
                name,
                email,
                cell_phone,
                language,
                services,
            },
            env,
        )
    });
    f.finish(value)
}

pub fn parse_operator(doc: &Doc, creating: bool) -> Result<(NewOperator, Envelope), ModelState> {
    let mut f = Fields::new(doc, "operator");
    let name = f.required("Name", Name::parse);
    let email = f.required("Email", EmailAddress::parse);
    let cell_phone = f.optional("CellPhone", CellPhone::parse);
    let is_admin = f.bool("IsAdmin").unwrap_or(false);
    let password = match f.text("Password") {
        Some(p) => match Password::parse(&p) {
            Ok(p) => Some(p),
            Err(m) => {
                f.error("Password", m);
                None
            }
        },
        None if creating => {
            f.error("Password", "The Password field is required.");
            None
        }
        None => None,
    };
    let env = envelope(&mut f);
    let value = match (name, email) {
        (Some(name), Some(email)) => Some((
            NewOperator {
                name,
                email,
                cell_phone,
                is_admin,
                password,
            },
            env,
        )),
        _ => None,
    };
    f.finish(value)
}

fn ticket_times(f: &mut Fields<'_>) -> TicketTimes {
    TicketTimes {
        start_time: f.datetime("StartTime"),
        end_time: f.datetime("EndTime"),
        expected_resolution_time: f.datetime("ExpectedResolutionTime"),
        next_update_time: f.datetime("NextUpdateTime"),
        closed_time: f.datetime("ClosedTime"),
        reopened_time: f.datetime("ReopenedTime"),
    }
}

pub fn parse_new_ticket(doc: &Doc) -> Result<(NewTicket, Envelope), ModelState> {
    let mut f = Fields::new(doc, "ticket");
    let description = f.required("Description", Description::parse);
    let times = ticket_times(&mut f);
    for (field, message) in times.validate() {
        f.error(field, message);
    }
    let services = f.id_list("Services");
    let operator = f.nested_id("Operator");
    let env = envelope(&mut f);
    let value = description.map(|description| {
        (
            NewTicket {
                description,
                times,
                services,
                operator,
            },
            env,
        )
    });
    f.finish(value)
}

/// A PUT body: only the updatable fields are read; the rest is ignored. Validation against the
/// stored ticket (closed/reopened kept when omitted) happens in the store, which knows it.
pub fn parse_ticket_update(doc: &Doc) -> Result<(TicketUpdate, Envelope), ModelState> {
    let mut f = Fields::new(doc, "ticket");
    let description = f.required("Description", Description::parse);
    let t = ticket_times(&mut f);
    let env = envelope(&mut f);
    let value = description.map(|description| {
        (
            TicketUpdate {
                description,
                start_time: t.start_time,
                end_time: t.end_time,
                expected_resolution_time: t.expected_resolution_time,
                next_update_time: t.next_update_time,
                closed_time: t.closed_time,
                reopened_time: t.reopened_time,
            },
            env,
        )
    });
    f.finish(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ticket_dto_field_names_are_pascal_case() {
        let t = Ticket {
            id: 2,
            description: "down".into(),
            times: TicketTimes {
                start_time: datetime::parse("2001-01-01T12:00:00Z"),
                ..Default::default()
            },
            created_time: Timestamp::from_ticks(0),
            services: vec![Service {
                id: 1,
                name: "Mail".into(),
                description: None,
                is_public: true,
            }],
            operator: None,
        };
        let v = serde_json::to_value(t.to_wire()).unwrap();
        assert_eq!(v["StartTime"], "2001-01-01T12:00:00Z");
        assert_eq!(v["IsClosed"], false);
        assert_eq!(v["Operator"], serde_json::Value::Null);
        assert_eq!(v["Services"][0]["Name"], "Mail");
        assert_eq!(v["CreatedTime"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn spec_example_xml() {
        let t = Ticket {
            id: 2,
            description: "down".into(),
            times: TicketTimes {
                start_time: datetime::parse("2001-01-01T12:00:00Z"),
                ..Default::default()
            },
            created_time: datetime::parse("2026-11-27T20:41:20.253767Z").unwrap(),
            services: vec![Service {
                id: 1,
                name: "Mail".into(),
                description: None,
                is_public: true,
            }],
            operator: None,
        };
        let mut out = String::new();
        super::super::xml::write_root(
            &mut out,
            "Ticket",
            &serde_json::to_value(t.to_wire()).unwrap(),
            "Herald.Models",
        );
        // The framework's own output, less the DoNotSendEmail property Herald leaves out.
        let expected = r#"<Ticket xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Herald.Models"><ClosedTime i:nil="true" /><CreatedTime>2026-11-27T20:41:20.253767Z</CreatedTime><Description>down</Description><EndTime i:nil="true" /><ExpectedResolutionTime i:nil="true" /><Id>2</Id><IsClosed>false</IsClosed><NextUpdateTime i:nil="true" /><Operator i:nil="true" /><ReopenedTime i:nil="true" /><Services><Service><Description i:nil="true" /><Id>1</Id><IsPublic>true</IsPublic><Name>Mail</Name></Service></Services><StartTime>2001-01-01T12:00:00Z</StartTime></Ticket>"#;
        assert_eq!(out, expected);
    }

    #[test]
    fn ticket_validation_names_fields() {
        let doc = Doc::from_json(
            json!({"StartTime": "2001-01-02T00:00:00Z", "EndTime": "2001-01-01T00:00:00Z"}),
        )
        .unwrap();
        let err = parse_new_ticket(&doc).unwrap_err();
        assert!(err.0.contains_key("ticket.Description"));
        assert!(err.0.contains_key("ticket.EndTime"));
    }

    #[test]
    fn operator_password_rules() {
        let doc = Doc::from_json(json!({"Name": "Op", "Email": "op@example.com"})).unwrap();
        assert!(parse_operator(&doc, true)
            .unwrap_err()
            .0
            .contains_key("operator.Password"));
        let (op, _) = parse_operator(&doc, false).unwrap();
        assert!(op.password.is_none());
    }

    #[test]
    fn is_public_follows_the_extension_rule() {
        let read = |v: serde_json::Value| {
            parse_service(&Doc::from_json(v).unwrap())
                .map(|(s, _)| s.is_public)
                .map_err(|e| e.0.into_keys().collect::<Vec<_>>())
        };
        use crate::domain::Extension;
        assert_eq!(read(json!({"Name": "Mail"})), Ok(Extension::Omitted));
        assert_eq!(
            read(json!({"Name": "Mail", "IsPublic": null})),
            Ok(Extension::Erased)
        );
        assert_eq!(
            read(json!({"Name": "Mail", "isPublic": false})),
            Ok(Extension::Set(false))
        );
        assert_eq!(
            read(json!({"Name": "Mail", "IsPublic": "true"})),
            Ok(Extension::Set(true))
        );
        assert_eq!(
            read(json!({"Name": "Mail", "IsPublic": "sometimes"})),
            Err(vec!["service.IsPublic".to_owned()])
        );
    }

    #[test]
    fn do_not_send_email_any_case() {
        let doc = Doc::from_json(json!({"description": "x", "DONOTSENDEMAIL": "true"})).unwrap();
        assert!(parse_new_ticket(&doc).unwrap().1.do_not_send_email);
    }
}
