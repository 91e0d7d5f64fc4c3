//! The wire formats over HTTP: XML both ways, form bodies, negotiation, dates.

use herald_test_support::*;
use reqwest::Method;
use serde_json::json;

const NS: &str = r#"xmlns:i="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://schemas.datacontract.org/2004/07/Herald.Models""#;

herald_test_support::backend_tests! {
    async fn xml_round_trip_of_every_resource() {
        let app = TestApp::spawn().await;
        let r = app.send_xml(Method::POST, "/api/Services", "<Service><Name>Mail &amp; co</Name></Service>").await;
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["content-type"], "application/xml; charset=utf-8");
        let body = text(r, 201).await;
        assert_eq!(body, format!(r#"<Service {NS}><Description i:nil="true" /><Id>1</Id><IsPublic>true</IsPublic><Name>Mail &amp; co</Name></Service>"#));

        // Lenient input: another namespace, any order, prefixes, a declaration.
        let customer = r#"<?xml version="1.0" encoding="utf-8"?>
            <c:Customer xmlns:c="urn:whatever" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
              <c:Services><c:Service><c:Id>1</c:Id><c:Name>ignored</c:Name></c:Service></c:Services>
              <c:Name>Ann</c:Name><c:Email>ann@example.com</c:Email><c:CellPhone i:nil="true"/>
            </c:Customer>"#;
        let body = text(app.send_xml(Method::POST, "/api/Customers", customer).await, 201).await;
        assert_eq!(body, format!(r#"<Customer {NS}><CellPhone i:nil="true" /><Email>ann@example.com</Email><Id>1</Id><Language i:nil="true" /><Name>Ann</Name><OptedOutTime i:nil="true" /><Services><Service><Description i:nil="true" /><Id>1</Id><IsPublic>true</IsPublic><Name>Mail &amp; co</Name></Service></Services></Customer>"#));

        let op = "<Operator><Name>Ada</Name><Email>ada@example.com</Email><IsAdmin>true</IsAdmin><Password>correct horse</Password></Operator>";
        let body = text(app.send_xml(Method::POST, "/api/Operators", op).await, 201).await;
        assert_eq!(body, format!(r#"<Operator {NS}><CellPhone i:nil="true" /><Email>ada@example.com</Email><Id>1</Id><IsAdmin>true</IsAdmin><Name>Ada</Name></Operator>"#));

        let ticket = "<Ticket><Description>down</Description><StartTime>2001-01-01T12:00:00Z</StartTime><Services><Service><Id>1</Id></Service></Services><Operator><Id>1</Id></Operator><DoNotSendEmail>true</DoNotSendEmail></Ticket>";
        let body = text(app.send_xml(Method::POST, "/api/Tickets", ticket).await, 201).await;
        assert!(body.starts_with(&format!("<Ticket {NS}><ClosedTime i:nil=\"true\" /><CreatedTime>")), "{body}");
        assert!(body.contains("<Operator><Id>1</Id><Name>Ada</Name></Operator>"), "{body}");
        assert!(body.ends_with("<Services><Service><Description i:nil=\"true\" /><Id>1</Id><IsPublic>true</IsPublic><Name>Mail &amp; co</Name></Service></Services><StartTime>2001-01-01T12:00:00Z</StartTime></Ticket>"), "{body}");
        assert!(!app.store.ticket_events(1).await.unwrap()[0].notify, "DoNotSendEmail read from XML");

        // PUT in XML, then the list in XML.
        let put = "<Ticket><Id>1</Id><Description>up</Description><ClosedTime>2001-01-01T13:00:00Z</ClosedTime></Ticket>";
        assert_eq!(app.send_xml(Method::PUT, "/api/Tickets/1", put).await.status(), 204);
        let list = text(app.get_xml("/api/Tickets").await, 200).await;
        assert!(list.starts_with(&format!("<ArrayOfTicket {NS}><Ticket><ClosedTime>2001-01-01T13:00:00Z</ClosedTime>")), "{list}");
        assert!(list.contains("<IsClosed>true</IsClosed>") && list.ends_with("</Ticket></ArrayOfTicket>"));
        let empty = text(app.get_xml("/api/Tickets?isClosed=false").await, 200).await;
        assert_eq!(empty, format!("<ArrayOfTicket {NS} />"));
    }

    async fn xml_errors_and_model_state() {
        let app = TestApp::spawn().await;
        let body = text(app.send_xml(Method::POST, "/api/Tickets", "<Ticket><StartTime>soon</StartTime></Ticket>").await, 400).await;
        assert!(body.starts_with("<Error><Message>The request is invalid.</Message><ModelState><ticket.Description>"), "{body}");
        assert!(body.contains("<ticket.StartTime>"), "{body}");
        let body = text(app.get_xml("/api/Tickets/9").await, 404).await;
        assert!(body.starts_with("<Error><Message>"), "{body}");
    }

    async fn form_bodies() {
        let app = TestApp::spawn().await;
        let r = app.request(Method::POST, "/api/Services").header("Content-Type", "application/x-www-form-urlencoded").body("Name=Mail&Description=SMTP").send().await.unwrap();
        assert_eq!(json(r, 201).await["Description"], "SMTP");
        let r = app.request(Method::POST, "/api/Customers").header("Content-Type", "application/x-www-form-urlencoded").body("name=Ann&email=ann%40example.com&Services[0].Id=1").send().await.unwrap();
        let c = json(r, 201).await;
        assert_eq!(c["Email"], "ann@example.com");
        assert_eq!(c["Services"][0]["Id"], 1);
    }

    async fn negotiation_by_accept() {
        let app = TestApp::spawn().await;
        app.create_service("Mail").await;
        let get = |accept: &'static str| {
            let app = &app;
            async move {
                let r = app.request(Method::GET, "/api/Services/1").header("Accept", accept).send().await.unwrap();
                assert_eq!(r.status(), 200, "{accept}");
                r.headers()["content-type"].to_str().unwrap().to_owned()
            }
        };
        assert_eq!(get("application/json, application/xml").await, "application/json; charset=utf-8");
        assert_eq!(get("application/xml").await, "application/xml; charset=utf-8");
        assert_eq!(get("text/xml").await, "text/xml; charset=utf-8");
        assert_eq!(get("application/json;q=0.4, application/xml;q=0.8").await, "application/xml; charset=utf-8");
        assert_eq!(get("application/xml;q=0.5, text/json").await, "application/json; charset=utf-8");
        assert_eq!(get("*/*").await, "application/json; charset=utf-8");
        assert_eq!(get("image/png").await, "application/json; charset=utf-8");
        let r = app.request(Method::GET, "/api/Services/1").send().await.unwrap();
        assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
        // JSON input names in any case; text/json accepted.
        let r = app.request(Method::POST, "/api/Services").header("Content-Type", "text/json").body(r#"{"nAME":"Web"}"#).send().await.unwrap();
        assert_eq!(json(r, 201).await["Name"], "Web");
    }

    async fn dates_are_utc_with_fraction_only_when_needed() {
        let app = TestApp::spawn().await;
        let t = app.create("/api/Tickets", &json!({
            "Description": "x",
            "StartTime": "2001-01-01T11:00:00.123Z",
            "EndTime": "2001-01-01T13:00:00.000+01:00",
            "ExpectedResolutionTime": "2001-01-01T12:00:00.5",
            "NextUpdateTime": "2001-06-01T02:30:00-04:30",
        })).await;
        assert_eq!(t["StartTime"], "2001-01-01T11:00:00.123Z");
        assert_eq!(t["EndTime"], "2001-01-01T12:00:00Z");
        assert_eq!(t["ExpectedResolutionTime"], "2001-01-01T12:00:00.5Z");
        assert_eq!(t["NextUpdateTime"], "2001-06-01T07:00:00Z");
    }
    async fn bodies_with_a_byte_order_mark_or_in_utf16_are_read() {
        let app = TestApp::spawn().await;
        let json_body = |n: usize| format!(r#"{{"Name":"Zoë ✓ {n}","Description":"naïve 😀"}}"#);
        let xml_body = |n: usize| format!(r#"<?xml version="1.0" encoding="utf-16"?><Service><Name>Zoë ✓ {n}</Name><Description>naïve 😀</Description></Service>"#);
        let mut n = 0;
        for (media, body) in [("application/json", &json_body as &dyn Fn(usize) -> String), ("application/xml", &xml_body)] {
            let cases: Vec<(&str, Encoder)> = vec![
                ("", Box::new(|t: &str| [&[0xEF, 0xBB, 0xBF][..], t.as_bytes()].concat())),
                ("; charset=utf-8", Box::new(|t: &str| [&[0xEF, 0xBB, 0xBF][..], t.as_bytes()].concat())),
                ("", Box::new(|t: &str| utf16(t, false, true))),
                ("", Box::new(|t: &str| utf16(t, true, true))),
                ("; charset=utf-16", Box::new(|t: &str| utf16(t, false, true))),
                ("; charset=utf-16", Box::new(|t: &str| utf16(t, false, false))),
                ("; charset=utf-16", Box::new(|t: &str| utf16(t, true, false))),
                ("; charset=\"UTF-16\"", Box::new(|t: &str| utf16(t, true, true))),
                ("; charset=utf-16le", Box::new(|t: &str| utf16(t, false, false))),
                ("; charset=utf-16be", Box::new(|t: &str| utf16(t, true, false))),
            ];
            for (params, encode) in &cases {
                n += 1;
                let content_type = format!("{media}{params}");
                let r = post_bytes(&app, "/api/Services", &content_type, encode(&body(n))).await;
                let status = r.status();
                let got: serde_json::Value = r.json().await.unwrap();
                assert_eq!(status, 201, "{content_type} #{n}: {got}");
                assert_eq!(got["Name"], format!("Zoë ✓ {n}"), "{content_type}");
                assert_eq!(got["Description"], "naïve 😀", "{content_type}");
            }
        }
        // Bytes that are not valid in the encoding are refused, not replaced.
        let odd = [utf16(&json_body(99), false, true), vec![0x41]].concat();
        let r = post_bytes(&app, "/api/Services", "application/json; charset=utf-16", odd).await;
        assert_eq!(json(r, 400).await["Message"], "The request body is not valid UTF-16LE.");
        let lone_surrogate = [&[0xFF, 0xFE][..], &[0x7B, 0x00, 0x00, 0xD8, 0x7D, 0x00]].concat();
        let r = post_bytes(&app, "/api/Services", "application/json", lone_surrogate).await;
        assert_eq!(r.status(), 400);
        assert_eq!(json(app.get("/api/Services").await, 200).await.as_array().unwrap().len(), n);
    }

    async fn repeated_property_names_last_wins() {
        let app = TestApp::spawn().await;
        // Json.NET: names match ignoring case and each one read replaces the one before.
        for (body, want) in [
            (r#"{"Description":"x","description":"y"}"#, "y"),
            (r#"{"description":"y","Description":"x"}"#, "x"),
            (r#"{"DESCRIPTION":"a","Description":"b","description":"c"}"#, "c"),
            (r#"{"Description":"a","Description":"b"}"#, "b"),
        ] {
            let r = post_bytes(&app, "/api/Tickets", "application/json", body.as_bytes().to_vec()).await;
            assert_eq!(json(r, 201).await["Description"], want, "{body}");
        }
        let xml = "<Ticket><Description>x</Description><description>y</description></Ticket>";
        let r = post_bytes(&app, "/api/Tickets", "application/xml", xml.as_bytes().to_vec()).await;
        assert_eq!(json(r, 201).await["Description"], "y");
        let r = post_bytes(&app, "/api/Tickets", "application/x-www-form-urlencoded", b"description=x&Description=y".to_vec()).await;
        assert_eq!(json(r, 201).await["Description"], "y");
        // A later null replaces an earlier value too.
        let r = post_bytes(&app, "/api/Services", "application/json", br#"{"Name":"Mail","description":"SMTP","Description":null}"#.to_vec()).await;
        assert_eq!(json(r, 201).await["Description"], serde_json::Value::Null);
    }

    async fn if_match_uses_the_strong_comparison() {
        let app = TestApp::spawn().await;
        let service = app.create_service("Mail").await;
        let path = format!("/api/Services/{}", service["Id"]);
        let r = app.get(&path).await;
        let tag = r.headers()["etag"].to_str().unwrap().to_owned();
        let body = json!({"Id": service["Id"], "Name": "Web"});
        for weak in [format!("W/{tag}"), format!("w/{tag}"), format!("\"nope\", W/{tag}")] {
            let r = app.request(Method::PUT, &path).header("If-Match", &weak).json(&body).send().await.unwrap();
            assert_eq!(json(r, 412).await["Message"], "The entity has changed since it was read (If-Match does not match its ETag).", "{weak}");
            let r = app.request(Method::DELETE, &path).header("If-Match", &weak).send().await.unwrap();
            assert_eq!(r.status(), 412, "{weak}");
        }
        let ticket = app.create_ticket("down", &[]).await;
        let tpath = format!("/api/Tickets/{}", ticket["Id"]);
        let ttag = app.get(&tpath).await.headers()["etag"].to_str().unwrap().to_owned();
        let r = app.request(Method::PUT, &tpath).header("If-Match", format!("W/{ttag}")).json(&json!({"Id": ticket["Id"], "Description": "up"})).send().await.unwrap();
        assert_eq!(r.status(), 412);
        assert_eq!(json(app.get(&tpath).await, 200).await["Description"], "down");
        assert_eq!(json(app.get(&path).await, 200).await["Name"], "Mail", "nothing changed");
        // The strong tag itself still matches.
        let r = app.request(Method::PUT, &path).header("If-Match", &tag).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 204);
    }
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if bom {
        out.extend(if big_endian {
            [0xFE, 0xFF]
        } else {
            [0xFF, 0xFE]
        });
    }
    for unit in text.encode_utf16() {
        out.extend(if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    out
}

async fn post_bytes(
    app: &TestApp,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    app.request(Method::POST, path)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Text to the bytes of one encoding.
type Encoder = Box<dyn Fn(&str) -> Vec<u8>>;
