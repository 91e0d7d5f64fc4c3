//! The human-readable API reference at `/api/docs`: rendered on the server from the OpenAPI
//! document itself (so the two cannot disagree), with examples produced by the real wire
//! serializers. One self-contained HTML page: no script, nothing fetched from elsewhere.

use askama::Template;
use serde_json::Value;

use crate::domain::ticket::TicketTimes;
use crate::domain::{Customer, Operator, OperatorRef, Service, Ticket, Timestamp};
use crate::wire::format::{self, Format};
use crate::wire::model::WireEntity;

#[derive(Template)]
#[template(path = "api/docs.html")]
struct Page {
    title: String,
    version: String,
    intro: String,
    tags: Vec<TagView>,
    schemas: Vec<SchemaView>,
}

struct TagView {
    name: String,
    description: String,
    operations: Vec<OperationView>,
}

struct OperationView {
    anchor: String,
    method: String,
    path: String,
    summary: String,
    description: String,
    parameters: Vec<ParameterView>,
    body: Option<String>,
    body_types: String,
    responses: Vec<ResponseView>,
}

struct ParameterView {
    name: String,
    location: String,
    kind: String,
    required: bool,
    description: String,
}

struct ResponseView {
    status: String,
    description: String,
    body: Option<String>,
    headers: String,
}

struct SchemaView {
    name: String,
    description: String,
    xml: String,
    properties: Vec<PropertyView>,
    json_example: Option<String>,
    xml_example: Option<String>,
}

struct PropertyView {
    name: String,
    kind: String,
    required: bool,
    description: String,
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The little Markdown the descriptions use: paragraphs and `code`. Returns escaped HTML.
fn prose(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let mut html = String::from("<p>");
            for (i, part) in p.split('`').enumerate() {
                if i % 2 == 1 {
                    html.push_str("<code>");
                    html.push_str(&escape(part));
                    html.push_str("</code>");
                } else {
                    html.push_str(&escape(part));
                }
            }
            html.push_str("</p>");
            html
        })
        .collect()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn schema_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// A schema as a short type description in HTML, linking to named schemas.
fn kind(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = escape(schema_name(r));
        return format!("<a href=\"#schema-{name}\">{name}</a>");
    }
    if let Some(variants) = schema.get("oneOf").and_then(Value::as_array) {
        return variants.iter().map(kind).collect::<Vec<_>>().join(" or ");
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let parts: Vec<String> = types
        .iter()
        .map(|t| match *t {
            "array" => format!(
                "array of {}",
                schema.get("items").map(kind).unwrap_or_default()
            ),
            "null" => "null".to_owned(),
            "object" if schema.get("additionalProperties").is_some() => {
                format!("map of {}", kind(&schema["additionalProperties"]))
            }
            t => {
                let format = text(schema, "format");
                if format.is_empty() {
                    escape(t)
                } else {
                    format!("{} ({})", escape(t), escape(format))
                }
            }
        })
        .collect();
    let mut limits = Vec::new();
    for (key, label) in [
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
    ] {
        if let Some(n) = schema.get(key) {
            limits.push(format!("{label} {n}"));
        }
    }
    let mut text = parts.join(" or ");
    if !limits.is_empty() {
        text.push_str(&format!(
            " <span class=\"limits\">{}</span>",
            limits.join(", ")
        ));
    }
    if schema.get("writeOnly") == Some(&Value::Bool(true)) {
        text.push_str(" <span class=\"limits\">write-only</span>");
    }
    text
}

fn operations(doc: &Value, tag: &str) -> Vec<OperationView> {
    let mut out = Vec::new();
    let Some(paths) = doc["paths"].as_object() else {
        return out;
    };
    for (path, item) in paths {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            if !op["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == tag))
            {
                continue;
            }
            let parameters = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| ParameterView {
                            name: text(p, "name").into(),
                            location: text(p, "in").into(),
                            kind: kind(&p["schema"]),
                            required: p["required"] == Value::Bool(true),
                            description: prose(text(p, "description")),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body_content = op["requestBody"]["content"].as_object();
            let body = body_content
                .and_then(|c| c.values().next())
                .map(|c| kind(&c["schema"]));
            let body_types = body_content
                .map(|c| c.keys().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let responses = op["responses"]
                .as_object()
                .map(|rs| {
                    rs.iter()
                        .map(|(status, r)| ResponseView {
                            status: status.clone(),
                            description: prose(text(r, "description")),
                            body: r["content"]
                                .as_object()
                                .and_then(|c| c.values().next())
                                .map(|c| kind(&c["schema"])),
                            headers: r["headers"]
                                .as_object()
                                .map(|h| h.keys().cloned().collect::<Vec<_>>().join(", "))
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(OperationView {
                anchor: text(op, "operationId").into(),
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                summary: text(op, "summary").into(),
                description: prose(text(op, "description")),
                parameters,
                body,
                body_types,
                responses,
            });
        }
    }
    out
}

/// Example entities, written by the real serializers.
fn examples(namespace: &str) -> Vec<(&'static str, String, String)> {
    let time = |s: &str| crate::wire::datetime::parse(s);
    let mail = Service {
        id: 1,
        name: "Mail".into(),
        description: Some("IMAP, SMTP and webmail".into()),
        is_public: true,
    };
    let ticket = Ticket {
        id: 2,
        description: "Mail is down".into(),
        times: TicketTimes {
            start_time: time("2001-01-01T12:00:00Z"),
            expected_resolution_time: time("2001-01-01T14:00:00Z"),
            ..Default::default()
        },
        created_time: time("2001-01-01T12:03:00Z").unwrap_or(Timestamp::from_ticks(0)),
        services: vec![mail.clone()],
        operator: Some(OperatorRef {
            id: 3,
            name: "Olga".into(),
        }),
    };
    let customer = Customer {
        id: 4,
        name: "Ann".into(),
        email: Some("ann@example.com".into()),
        cell_phone: None,
        services: vec![mail.clone()],
        opted_out_time: None,
        language: None,
    };
    let operator = Operator {
        id: 3,
        name: "Olga".into(),
        email: "olga@example.com".into(),
        cell_phone: Some("+47 555 01 234".into()),
        is_admin: true,
    };
    fn both<E: WireEntity>(e: &E, ns: &str) -> (String, String) {
        let json: Value = serde_json::from_slice(&format::entity(Format::Json, e, ns))
            .expect("entities serialize to JSON");
        (
            serde_json::to_string_pretty(&json).expect("JSON values serialize"),
            String::from_utf8_lossy(&format::entity(Format::Xml { text_xml: false }, e, ns))
                .into_owned(),
        )
    }
    let mut out = Vec::new();
    let (j, x) = both(&ticket, namespace);
    out.push((Ticket::NAME, j, x));
    let (j, x) = both(&customer, namespace);
    out.push((Customer::NAME, j, x));
    let (j, x) = both(&mail, namespace);
    out.push((Service::NAME, j, x));
    let (j, x) = both(&operator, namespace);
    out.push((Operator::NAME, j, x));
    out
}

fn schemas(doc: &Value, namespace: &str) -> Vec<SchemaView> {
    let examples = examples(namespace);
    let Some(schemas) = doc["components"]["schemas"].as_object() else {
        return Vec::new();
    };
    schemas
        .iter()
        .map(|(name, s)| {
            let required: Vec<&str> = s["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let properties = s["properties"]
                .as_object()
                .map(|ps| {
                    ps.iter()
                        .map(|(p, schema)| PropertyView {
                            name: p.clone(),
                            kind: kind(schema),
                            required: required.contains(&p.as_str()),
                            description: prose(text(schema, "description")),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let example = examples.iter().find(|(n, _, _)| n == name);
            SchemaView {
                name: name.clone(),
                description: prose(text(s, "description")),
                xml: text(&s["xml"], "name").into(),
                properties,
                json_example: example.map(|e| e.1.clone()),
                xml_example: example.map(|e| e.2.clone()),
            }
        })
        .collect()
}

/// The page for `doc` (the document as served: its objects, properties included, in
/// alphabetical order, which is also the order of the XML elements).
pub fn render(doc: &Value, namespace: &str) -> String {
    let tags = doc["tags"]
        .as_array()
        .map(|tags| {
            tags.iter()
                .map(|t| TagView {
                    name: text(t, "name").into(),
                    description: prose(text(t, "description")),
                    operations: operations(doc, text(t, "name")),
                })
                .collect()
        })
        .unwrap_or_default();
    Page {
        title: text(&doc["info"], "title").into(),
        version: text(&doc["info"], "version").into(),
        intro: prose(text(&doc["info"], "description")),
        tags,
        schemas: schemas(doc, namespace),
    }
    .render()
    .expect("the page template renders")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prose_escapes_and_marks_code() {
        assert_eq!(
            prose("Use `<Ticket>` & more.\n\nSecond <b>."),
            "<p>Use <code>&lt;Ticket&gt;</code> &amp; more.</p><p>Second &lt;b&gt;.</p>"
        );
    }

    #[test]
    fn kinds_link_named_schemas() {
        assert_eq!(
            kind(&json!({"type": "array", "items": {"$ref": "#/components/schemas/Service"}})),
            "array of <a href=\"#schema-Service\">Service</a>"
        );
        assert_eq!(
            kind(&json!({"type": ["string", "null"], "format": "date-time"})),
            "string (date-time) or null"
        );
    }
}
