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
        assert_eq!(body, format!(r#"<Service {NS}><Description i:nil="true" /><Id>1</Id><Name>Mail &amp; co</Name></Service>"#));

        // Lenient input: another namespace, any order, prefixes, a declaration.
        let customer = r#"<?xml version="1.0" encoding="utf-8"?>
            <c:Customer xmlns:c="urn:whatever" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
              <c:Services><c:Service><c:Id>1</c:Id><c:Name>ignored</c:Name></c:Service></c:Services>
              <c:Name>Ann</c:Name><c:Email>ann@example.com</c:Email><c:CellPhone i:nil="true"/>
            </c:Customer>"#;
        let body = text(app.send_xml(Method::POST, "/api/Customers", customer).await, 201).await;
        assert_eq!(body, format!(r#"<Customer {NS}><CellPhone i:nil="true" /><Email>ann@example.com</Email><Id>1</Id><Name>Ann</Name><Services><Service><Description i:nil="true" /><Id>1</Id><Name>Mail &amp; co</Name></Service></Services></Customer>"#));

        let op = "<Operator><Name>Ada</Name><Email>ada@example.com</Email><IsAdmin>true</IsAdmin><Password>correct horse</Password></Operator>";
        let body = text(app.send_xml(Method::POST, "/api/Operators", op).await, 201).await;
        assert_eq!(body, format!(r#"<Operator {NS}><CellPhone i:nil="true" /><Email>ada@example.com</Email><Id>1</Id><IsAdmin>true</IsAdmin><Name>Ada</Name></Operator>"#));

        let ticket = "<Ticket><Description>down</Description><StartTime>2001-01-01T12:00:00Z</StartTime><Services><Service><Id>1</Id></Service></Services><Operator><Id>1</Id></Operator><DoNotSendEmail>true</DoNotSendEmail></Ticket>";
        let body = text(app.send_xml(Method::POST, "/api/Tickets", ticket).await, 201).await;
        assert!(body.starts_with(&format!("<Ticket {NS}><ClosedTime i:nil=\"true\" /><CreatedTime>")), "{body}");
        assert!(body.contains("<Operator><Id>1</Id><Name>Ada</Name></Operator>"), "{body}");
        assert!(body.ends_with("<Services><Service><Description i:nil=\"true\" /><Id>1</Id><Name>Mail &amp; co</Name></Service></Services><StartTime>2001-01-01T12:00:00Z</StartTime></Ticket>"), "{body}");
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
}
