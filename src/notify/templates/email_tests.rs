use super::*;

fn templates() -> &'static Templates {
    static T: std::sync::OnceLock<Templates> = std::sync::OnceLock::new();
    T.get_or_init(Templates::builtin)
}

fn en() -> Language {
    Language::chain(None, "en")
}

fn render(
    view: &EmailView,
    name: &str,
    links: Option<&Links>,
) -> Result<Rendered, minijinja::Error> {
    super::render(templates(), view, &en(), name, links)
}

fn subject(content: &EventContent) -> String {
    render(&EmailView::new(content), "x", None).unwrap().subject
}

fn content(kind: EventKind, description: &str) -> EventContent {
    EventContent {
        event_id: 1,
        kind,
        at: Timestamp::from_unix_micros(978_350_400_000_000),
        ticket_id: 7,
        ticket_created: Timestamp::from_unix_micros(1),
        description: description.to_owned(),
        services: vec!["Mail".into(), "Web & <Co>".into()],
        times: TicketTimes {
            start_time: Some(Timestamp::from_unix_micros(978_350_400_000_000)),
            closed_time: Some(Timestamp::from_unix_micros(978_357_600_000_000)),
            ..Default::default()
        },
        planned: false,
        sequence: 0,
        lead: None,
        for_operators: false,
    }
}

fn links() -> Links {
    Links::new("http://h/", &crate::domain::LinkToken::generate())
}

#[test]
fn every_message_links_the_personal_page_in_both_bodies() {
    let links = links();
    let r = render(
        &EmailView::new(&content(EventKind::Updated, "d")),
        "Ann",
        Some(&links),
    )
    .unwrap();
    assert!(links.personal.starts_with("http://h/my/"), "{links:?}");
    for body in [&r.text, &r.html] {
        assert!(body.contains(&links.personal), "{body}");
    }
    assert!(r.html.contains(&format!("href=\"{}\"", links.personal)));
    assert!(!format!("{links:?}").contains(&links.personal));
}

#[test]
fn subjects_name_event_services_and_description_start() {
    let c = content(EventKind::Created, "Mail is down\nmore");
    assert_eq!(
        subject(&c),
        "New disruption: Mail, Web & <Co> - Mail is down…"
    );
    let long = "x".repeat(100);
    let s = subject(&content(EventKind::Closed, &long));
    assert!(s.starts_with("Resolved: "), "{s}");
    assert!(s.ends_with(&format!("{}…", "x".repeat(60))), "{s}");
    let s = subject(&content(EventKind::Reopened, "short"));
    assert_eq!(s, "Reopened: Mail, Web & <Co> - short");
}

#[test]
fn html_escapes_every_value_and_text_does_not() {
    let c = content(EventKind::Closed, "<script>alert(1)</script> & \"x\"");
    let r = render(&EmailView::new(&c), "Ann <admin>", None).unwrap();
    assert!(!r.html.contains("<script>"), "{}", r.html);
    assert!(r.html.contains("&lt;script&gt;"), "{}", r.html);
    assert!(r.html.contains("Ann &lt;admin&gt;"));
    assert!(r.html.contains("Web &amp; &lt;Co&gt;"));
    assert!(r.text.contains("<script>alert(1)</script>"));
    assert!(r
        .text
        .contains("Resolved:             2001-01-01 14:00 UTC"));
    assert!(r.html.contains("2001-01-01 12:00 UTC"));
    assert!(r.text.contains("All times are UTC"));
}

#[test]
fn bidi_overrides_in_names_and_descriptions_are_isolated() {
    let mut c = content(EventKind::Created, "Mail \u{202E}nwod si");
    c.services = vec!["Web\u{202E}".into(), "Mail".into()];
    let view = EmailView::new(&c);
    assert_eq!(
        render(&view, "x", None).unwrap().subject,
        "New disruption: \u{2068}Web\u{202E}\u{2069}, Mail - \u{2068}Mail \u{202E}nwod si\u{2069}"
    );
    let r = render(&view, "Ann\u{202E}", None).unwrap();
    for body in [&r.text, &r.html] {
        assert!(
            body.contains("Hello \u{2068}Ann\u{202E}\u{2069},"),
            "{body}"
        );
        assert!(
            body.contains("\u{2068}Mail \u{202E}nwod si\u{2069}"),
            "{body}"
        );
        assert!(!body.contains("Web\u{202E},"), "{body}");
    }
    // Every isolate opened is closed.
    assert_eq!(
        r.html.matches('\u{2068}').count(),
        r.html.matches('\u{2069}').count()
    );
}

#[test]
fn each_event_has_its_own_wording() {
    let intro = |k| {
        render(&EmailView::new(&content(k, "d")), "A", None)
            .unwrap()
            .text
    };
    assert!(intro(EventKind::Created).contains("new disruption"));
    assert!(intro(EventKind::Updated).contains("an update"));
    assert!(intro(EventKind::Closed).contains("is resolved"));
    assert!(intro(EventKind::Reopened).contains("reopened"));
    assert!(!intro(EventKind::Created).contains("Resolved:"));
}

#[test]
fn short_values_keep_html_lines_short() {
    // Short lines read well in any mail program (long ones would still go out as 7bit).
    for kind in [
        EventKind::Created,
        EventKind::Updated,
        EventKind::Closed,
        EventKind::Reopened,
    ] {
        let mut c = content(kind, "Mail is down");
        c.services = vec!["Mail".into(), "Web".into()];
        let r = render(&EmailView::new(&c), "Ann", Some(&links())).unwrap();
        // A link's line holds its token (56 characters since tokens begin with their issuing
        // time): it may be longer, within the 998 characters a 7bit line may have.
        let long: Vec<&str> = r
            .html
            .lines()
            .filter(|l| l.len() > 72 && !(l.contains(" href=") && l.len() <= 998))
            .collect();
        assert!(long.is_empty(), "{kind:?} {long:#?}");
        let long: Vec<&str> = r.text.lines().filter(|l| l.len() > 72).collect();
        assert!(long.is_empty(), "{kind:?} {long:#?}");
    }
}

fn planned(kind: EventKind) -> EventContent {
    let mut c = content(kind, "Database upgrade");
    c.services = vec!["Mail".into(), "Web".into()];
    c.planned = true;
    c.times = TicketTimes {
        start_time: Some(Timestamp::from_unix_micros(978_350_400_000_000)),
        end_time: Some(Timestamp::from_unix_micros(978_357_600_000_000)),
        ..Default::default()
    };
    c
}

#[test]
fn planned_work_is_named_so_with_its_window_never_a_disruption() {
    let c = planned(EventKind::Created);
    assert_eq!(
        subject(&c),
        "Planned maintenance: Mail, Web (2001-01-01 12:00 to 14:00 UTC) - Database upgrade"
    );
    let mut reminder = planned(EventKind::Reminder);
    reminder.lead = Some(Duration::from_secs(3600));
    assert!(subject(&reminder).starts_with("Reminder: planned maintenance in 1 hour: Mail"));
    let mut closed_early = planned(EventKind::Closed);
    closed_early.times.closed_time = Some(Timestamp::from_unix_micros(978_340_000_000_000));
    assert!(subject(&closed_early).starts_with("Planned maintenance cancelled: "));
    let mut completed = planned(EventKind::Closed);
    completed.times.closed_time = Some(Timestamp::from_unix_micros(978_357_600_000_000));
    assert!(subject(&completed).starts_with("Planned maintenance completed: "));
    for kind in [
        EventKind::Created,
        EventKind::Updated,
        EventKind::Closed,
        EventKind::Reopened,
        EventKind::Reminder,
        EventKind::Deleted,
    ] {
        let r = render(&EmailView::new(&planned(kind)), "Ann", None).unwrap();
        for text in [&r.subject, &r.text, &r.html] {
            assert!(
                !text.to_lowercase().contains("disruption"),
                "{kind:?}: {text}"
            );
        }
        assert!(
            r.text.contains("2001-01-01 12:00 to 14:00 UTC"),
            "{kind:?}: {}",
            r.text
        );
        let long: Vec<&str> = r
            .html
            .lines()
            .filter(|l| l.len() > 76 && !l.starts_with("<title>"))
            .collect();
        assert!(long.is_empty(), "{kind:?} {long:#?}");
    }
}

#[test]
fn planned_work_carries_an_invitation_and_a_cancellation() {
    let view = EmailView::new(&planned(EventKind::Updated)).with_base_url("https://s.example.com/");
    let (method, text) = view
        .calendar("herald@example.com", "S")
        .expect("an invitation");
    assert_eq!(method, Method::Request);
    assert!(text.contains("UID:ticket-7@s.example.com\r\n"), "{text}");
    assert!(text.contains("DTSTART:20010101T120000Z\r\n"), "{text}");
    assert!(text.contains("DTEND:20010101T140000Z\r\n"), "{text}");
    let (method, text) = EmailView::new(&planned(EventKind::Deleted))
        .calendar("herald@example.com", "S")
        .unwrap();
    assert_eq!(method, Method::Cancel);
    assert!(text.contains("METHOD:CANCEL\r\n"), "{text}");
    assert!(EmailView::new(&content(EventKind::Created, "d"))
        .calendar("h@x", "S")
        .is_none());
}

#[test]
fn durations_in_words() {
    assert_eq!(duration_words(Duration::from_secs(86_400)), "24 hours");
    assert_eq!(duration_words(Duration::from_secs(2 * 86_400)), "2 days");
    assert_eq!(duration_words(Duration::from_secs(3600)), "1 hour");
    assert_eq!(duration_words(Duration::from_secs(90)), "90 seconds");
    assert_eq!(duration_words(Duration::from_secs(1800)), "30 minutes");
    assert_eq!(duration_words(Duration::from_secs(5400)), "90 minutes");
}

#[test]
fn every_customer_message_names_the_organisation_in_its_footer() {
    let kinds = [
        (EventKind::Created, false),
        (EventKind::Updated, false),
        (EventKind::Closed, false),
        (EventKind::Reopened, false),
        (EventKind::Created, true),
        (EventKind::Updated, true),
        (EventKind::Closed, true),
        (EventKind::Reopened, true),
        (EventKind::Deleted, true),
        (EventKind::Reminder, true),
    ];
    for language in ["en", "de"] {
        let language = Language::chain(None, language);
        for (kind, planned) in kinds {
            let c = EventContent {
                planned,
                lead: Some(std::time::Duration::from_secs(3600)),
                ..content(kind, "d")
            };
            let named = EmailView::new(&c).with_organisation(Some("Acme & <Sons>"));
            let r = super::render(templates(), &named, &language, "Ann", Some(&links())).unwrap();
            let footer = r.text.rsplit("\n-- \n").next().unwrap();
            assert!(
                footer.starts_with("Acme & <Sons>\n"),
                "{kind:?}: {}",
                r.text
            );
            assert!(
                r.html.contains("<strong>Acme &amp; &lt;Sons&gt;</strong>"),
                "{kind:?}: {}",
                r.html
            );
            let unnamed =
                super::render(templates(), &EmailView::new(&c), &language, "Ann", None).unwrap();
            assert!(unnamed.text.contains("\n-- \nHerald\n"), "{kind:?}");
        }
    }
}
