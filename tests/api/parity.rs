//! The same API output on SQLite and PostgreSQL, byte for byte: one script of requests over
//! every resource (JSON and XML, lists, filters, paging, errors, deletes) runs against a
//! server on each backend, and the two transcripts (status, the headers a client sees, body)
//! must be equal. Only the server-set `CreatedTime` of tickets (and the `ETag`s derived from
//! it) differ between two runs, and are masked.

use reqwest::Method;
use serde_json::{json, Value};

use herald_test_support::*;

/// One request of the script: method, path, JSON body, whether to ask for XML.
struct Step {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    xml: bool,
}

fn get(path: &'static str) -> Step {
    Step {
        method: Method::GET,
        path,
        body: None,
        xml: false,
    }
}

fn get_xml(path: &'static str) -> Step {
    Step {
        xml: true,
        ..get(path)
    }
}

fn send(method: Method, path: &'static str, body: Value) -> Step {
    Step {
        method,
        path,
        body: Some(body),
        xml: false,
    }
}

fn delete(path: &'static str) -> Step {
    Step {
        method: Method::DELETE,
        ..get(path)
    }
}

fn script() -> Vec<Step> {
    use Method as M;
    vec![
        // Services, including a duplicate name in another case and non-ASCII names.
        send(
            M::POST,
            "/api/Services",
            json!({"Name": "Mail", "Description": "SMTP and IMAP"}),
        ),
        send(M::POST, "/api/Services", json!({"Name": "Web"})),
        send(M::POST, "/api/Services", json!({"Name": "VPN"})),
        send(M::POST, "/api/Services", json!({"Name": "mail"})),
        send(M::POST, "/api/Services", json!({"Name": "Straße ☃"})),
        // Case is folded for ASCII letters only (SQLite's lower(); PostgreSQL's in the C locale).
        send(M::POST, "/api/Services", json!({"Name": "ÄRGER"})),
        send(M::POST, "/api/Services", json!({"Name": "ärger"})),
        send(
            M::PUT,
            "/api/Services/2",
            json!({"Id": 2, "Name": "WEB", "Description": "www"}),
        ),
        send(M::PUT, "/api/Services/2", json!({"Id": 2, "Name": "vpn"})),
        get("/api/Services"),
        get_xml("/api/Services?$top=2&$skip=1"),
        get("/api/Services/4"),
        get("/api/Services/2147483647"),
        // Customers following services; an unknown service is a 400.
        send(
            M::POST,
            "/api/Customers",
            json!({"Name": "Ann", "Email": "ann@example.com", "Services": [{"Id": 1}, {"Id": 2}]}),
        ),
        send(
            M::POST,
            "/api/Customers",
            json!({"Name": "Bob", "CellPhone": "+1 (555) 010-2030", "Services": [{"Id": 2}]}),
        ),
        send(
            M::POST,
            "/api/Customers",
            json!({"Name": "Cid", "Email": "CID@example.com", "Services": []}),
        ),
        send(
            M::POST,
            "/api/Customers",
            json!({"Name": "Dee", "Services": [{"Id": 1}, {"Id": 99}]}),
        ),
        send(
            M::PUT,
            "/api/Customers/2",
            json!({"Id": 2, "Name": "Bob B.", "Email": "bob@example.com", "Services": [{"Id": 3}, {"Id": 1}]}),
        ),
        get("/api/Customers"),
        get_xml("/api/Customers"),
        get("/api/Customers?$top=1&$skip=1"),
        // Deleting the newest customer, then creating one: ids are never reused.
        delete("/api/Customers/3"),
        send(
            M::POST,
            "/api/Customers",
            json!({"Name": "Eve", "Services": [{"Id": 3}]}),
        ),
        get("/api/Customers/3"),
        get("/api/Customers"),
        // Operators; the last administrator cannot be deleted nor demoted.
        send(
            M::POST,
            "/api/Operators",
            json!({"Name": "Olga", "Email": "olga@example.com", "IsAdmin": true, "Password": "correct horse battery"}),
        ),
        send(
            M::POST,
            "/api/Operators",
            json!({"Name": "Omar", "Email": "omar@example.com", "IsAdmin": true, "Password": "correct horse battery"}),
        ),
        send(
            M::POST,
            "/api/Operators",
            json!({"Name": "Olga 2", "Email": "OLGA@example.com", "Password": "correct horse battery"}),
        ),
        delete("/api/Operators/2"),
        delete("/api/Operators/1"),
        send(
            M::PUT,
            "/api/Operators/1",
            json!({"Id": 1, "Name": "Olga", "Email": "olga@example.com", "IsAdmin": false}),
        ),
        send(
            M::POST,
            "/api/Operators",
            json!({"Name": "Omar again", "Email": "omar@example.com", "IsAdmin": false}),
        ),
        get("/api/Operators"),
        get_xml("/api/Operators/3"),
        // Tickets: lifecycle, filters, stale and unknown references.
        send(
            M::POST,
            "/api/Tickets",
            json!({"Description": "Mail is down", "StartTime": "2001-01-01T12:00:00+02:00", "Services": [{"Id": 1}], "Operator": {"Id": 1}}),
        ),
        send(
            M::POST,
            "/api/Tickets",
            json!({"Description": "Planned work", "StartTime": "2001-02-01T08:00:00Z", "EndTime": "2001-02-01T09:00:00.5Z", "Services": [{"Id": 2}, {"Id": 1}]}),
        ),
        send(
            M::POST,
            "/api/Tickets",
            json!({"Description": "Ghost", "Services": [{"Id": 42}], "Operator": {"Id": 2}}),
        ),
        send(
            M::PUT,
            "/api/Tickets/1",
            json!({"Id": 1, "Description": "Mail is down", "StartTime": "2001-01-01T10:00:00Z", "ClosedTime": "2001-01-01T14:00:00Z"}),
        ),
        send(
            M::PUT,
            "/api/Tickets/1",
            json!({"Id": 1, "Description": "Mail is down", "StartTime": "2001-01-01T10:00:00Z", "ClosedTime": "2001-01-01T14:00:00Z"}),
        ),
        send(
            M::PUT,
            "/api/Tickets/2",
            json!({"Id": 2, "Description": "Planned work", "EndTime": "2001-01-01T00:00:00Z"}),
        ),
        get("/api/Tickets"),
        get("/api/Tickets?isClosed=true"),
        get("/api/Tickets?isClosed=false&serviceId=2"),
        get("/api/Tickets?serviceId=1&$top=1&$skip=1"),
        get_xml("/api/Tickets"),
        send(
            M::PUT,
            "/api/Tickets/1",
            json!({"Id": 1, "Description": "Mail is down again", "StartTime": "2001-01-01T10:00:00Z", "ClosedTime": "2001-01-01T14:00:00Z", "ReopenedTime": "2001-01-02T09:00:00Z"}),
        ),
        get("/api/Tickets/1"),
        // Deleting a service: customers stop following it, tickets keep showing it.
        delete("/api/Services/1"),
        get("/api/Services"),
        get("/api/Customers/1"),
        get("/api/Tickets/1"),
        send(M::POST, "/api/Services", json!({"Name": "Mail"})),
        delete("/api/Tickets/2"),
        get("/api/Tickets/2"),
        get("/api/Tickets"),
    ]
}

/// Runs the script against a fresh server on `backend`; one transcript entry per step.
async fn transcript(backend: Backend) -> Vec<String> {
    let mut out = Vec::new();
    with_backend(backend, async {
        let app = TestApp::spawn().await;
        for step in script() {
            let mut request = app.request(step.method.clone(), step.path);
            if let Some(body) = &step.body {
                request = request.json(body);
            }
            if step.xml {
                request = request.header("Accept", "application/xml");
            }
            let response = request.send().await.unwrap();
            let mut entry = format!("{} {} -> {}\n", step.method, step.path, response.status());
            for name in ["content-type", "etag", "location"] {
                if let Some(v) = response.headers().get(name) {
                    entry.push_str(&format!("{name}: {}\n", v.to_str().unwrap()));
                }
            }
            entry.push_str(&response.text().await.unwrap());
            out.push(mask(&entry, &app.address));
        }
        app.stop().await;
    })
    .await;
    out
}

/// Masks what differs between two servers by design: their address (in `Location`) and what
/// they set from the clock: ticket `CreatedTime`s and the tags of tickets.
fn mask(entry: &str, address: &str) -> String {
    let mut text = entry.replace(address, "http://SERVER");
    for (open, close) in [("\"CreatedTime\":\"", "\""), ("<CreatedTime>", "<")] {
        let mut masked = String::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find(open) {
            let start = i + open.len();
            let end = start + rest[start..].find(close).unwrap();
            masked.push_str(&rest[..start]);
            masked.push_str("CLOCK");
            rest = &rest[end..];
        }
        masked.push_str(rest);
        text = masked;
    }
    if text.contains("/api/Tickets") {
        text = text
            .lines()
            .map(|l| {
                if l.starts_with("etag:") {
                    "etag: TICKET"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    text
}

#[tokio::test]
async fn api_output_is_identical_on_sqlite_and_postgres() {
    if !herald_test_support::postgres::available("api_output_is_identical_on_sqlite_and_postgres") {
        return;
    }
    let sqlite = transcript(Backend::Sqlite).await;
    let postgres = transcript(Backend::Postgres).await;
    assert_eq!(sqlite.len(), postgres.len());
    for (s, p) in sqlite.iter().zip(&postgres) {
        if s != p {
            panic!("the backends differ:\n--- SQLite:\n{s}\n--- PostgreSQL:\n{p}");
        }
    }
    // The script exercised what it meant to: successes and each kind of refusal.
    let all = sqlite.join("\n");
    for status in [
        "201 Created",
        "204 No Content",
        "400 Bad Request",
        "404 Not Found",
        "409 Conflict",
    ] {
        assert!(
            all.contains(status),
            "no {status} in the script's responses"
        );
    }
}
