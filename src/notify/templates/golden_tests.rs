//! Golden tests: every email template in every shipped language, rendered for a fixed event,
//! compared with `tests/golden/email/<language>/<case>.txt` (subject, text and HTML; the test
//! email's subject and body). `UPDATE_GOLDEN=1 cargo test --lib golden` rewrites them; review
//! the diff.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::domain::ticket::{EventKind, TicketTimes};
use crate::domain::{EventContent, Timestamp};

/// The languages Herald ships complete.
const LANGUAGES: &[&str] = &["en", "de"];

const HOUR: i64 = 3_600_000_000;
/// 2026-12-01 20:00 UTC.
const AT: i64 = 1_796_155_200_000_000;

fn ts(micros: i64) -> Option<Timestamp> {
    Some(Timestamp::from_unix_micros(micros))
}

fn event(kind: EventKind, planned: bool) -> EventContent {
    EventContent {
        event_id: 3,
        kind,
        at: Timestamp::from_unix_micros(AT),
        ticket_id: 42,
        ticket_created: Timestamp::from_unix_micros(AT - HOUR),
        description: if planned {
            "Database upgrade\nMail may be slow for a few minutes.".into()
        } else {
            "Mail is down\nWe are on it.".into()
        },
        services: vec!["Mail".into(), "Web & Co".into()],
        times: if planned {
            TicketTimes {
                start_time: ts(AT + 2 * HOUR),
                end_time: ts(AT + 3 * HOUR + HOUR / 2),
                ..Default::default()
            }
        } else {
            TicketTimes {
                start_time: ts(AT - HOUR),
                expected_resolution_time: ts(AT + 2 * HOUR),
                next_update_time: ts(AT + HOUR),
                ..Default::default()
            }
        },
        planned,
        sequence: 1,
        lead: None,
        for_operators: false,
    }
}

/// (case, event): one per template, and both endings of planned work's close.
fn cases() -> Vec<(&'static str, EventContent)> {
    let mut closed = event(EventKind::Closed, false);
    closed.times.closed_time = ts(AT);
    let mut reopened = event(EventKind::Reopened, false);
    reopened.times.reopened_time = ts(AT);
    let mut completed = event(EventKind::Closed, true);
    completed.times.closed_time = ts(AT + 4 * HOUR);
    completed.at = Timestamp::from_unix_micros(AT + 4 * HOUR);
    let mut cancelled = event(EventKind::Closed, true);
    cancelled.times.closed_time = ts(AT);
    let mut reminder = event(EventKind::Reminder, true);
    reminder.lead = Some(Duration::from_secs(2 * 86_400));
    let mut overdue = event(EventKind::Overdue, false);
    overdue.for_operators = true;
    overdue.at = Timestamp::from_unix_micros(AT + HOUR + 5 * 60_000_000);
    vec![
        ("created", event(EventKind::Created, false)),
        ("updated", event(EventKind::Updated, false)),
        ("closed", closed),
        ("reopened", reopened),
        ("planned_created", event(EventKind::Created, true)),
        ("planned_updated", event(EventKind::Updated, true)),
        ("planned_completed", completed),
        ("planned_cancelled", cancelled),
        ("planned_reopened", event(EventKind::Reopened, true)),
        ("planned_deleted", event(EventKind::Deleted, true)),
        ("reminder", reminder),
        ("overdue", overdue),
    ]
}

fn golden(language: &str, case: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/email")
        .join(language)
        .join(format!("{case}.txt"))
}

fn check(language: &str, case: &str, rendered: String, failures: &mut Vec<String>) {
    let path = golden(language, case);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &rendered).unwrap();
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == rendered => {}
        Ok(expected) => failures.push(format!(
            "{} differs:\n--- expected\n{expected}\n--- rendered\n{rendered}",
            path.display()
        )),
        Err(e) => failures.push(format!("{}: {e}", path.display())),
    }
}

#[test]
fn every_email_template_in_every_language_matches_its_golden_file() {
    let templates = Templates::builtin();
    let links = Links {
        personal: "https://status.example.com/my/TOKEN".into(),
        unsubscribe: "https://status.example.com/unsubscribe/TOKEN".into(),
    };
    let mut failures = Vec::new();
    for language in LANGUAGES {
        let chain = Language::chain(Some(language), "en");
        for (case, content) in cases() {
            let view = EmailView::new(&content).with_base_url("https://status.example.com");
            let links = (!content.for_operators).then_some(&links);
            let message = EmailMessage::prepare(&templates, &view, &chain, links.is_some())
                .unwrap_or_else(|e| panic!("{language} {case}: {e:#}"));
            let r = message.fill("Ann Müller", links);
            let mut out = format!("Subject: {}\n", r.subject);
            if view
                .calendar("status@example.com", &message.calendar_summary)
                .is_some()
            {
                out.push_str(&format!("Calendar: {}\n", message.calendar_summary));
            }
            out.push_str(&format!("\n{}\n\n----- HTML -----\n{}\n", r.text, r.html));
            check(language, case, out, &mut failures);
        }
        let (subject, body) =
            render_test(&templates, &chain, Timestamp::from_unix_micros(AT)).unwrap();
        check(
            language,
            "test",
            format!("Subject: {subject}\n\n{body}\n"),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn german_is_complete_and_says_no_english() {
    let templates = Templates::builtin();
    let en: HashSet<&str> = BUILTIN
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("email/en/"))
        .collect();
    let de: HashSet<&str> = BUILTIN
        .iter()
        .filter_map(|(n, _)| n.strip_prefix("email/de/"))
        .collect();
    assert_eq!(en, de, "every English email template has its German one");
    let chain = Language::chain(Some("de-AT"), "en");
    for (case, content) in cases() {
        let view = EmailView::new(&content);
        let r = render(&templates, &view, &chain, "Ann", None).unwrap();
        for english in [
            "Hello",
            "Planned maintenance",
            "You receive",
            "All times are UTC",
        ] {
            for text in [&r.subject, &r.text, &r.html] {
                assert!(!text.contains(english), "{case}: {english:?} in {text}");
            }
        }
    }
}
