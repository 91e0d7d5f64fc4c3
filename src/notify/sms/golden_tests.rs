//! Golden tests: the text of every event texted, in every shipped language, rendered for a
//! fixed event and encoded as it is submitted (alphabet, segments), compared with
//! `tests/golden/sms/<language>/<event>.txt`. `UPDATE_GOLDEN=1 cargo test --lib sms` rewrites
//! them; review the diff.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::*;
use crate::domain::ticket::TicketTimes;
use crate::domain::Timestamp;
use crate::notify::sms::encode;

/// The languages Herald ships complete.
const LANGUAGES: &[&str] = &["en", "de"];

/// The events a text is written for (`sms_events` allows these).
const EVENTS: &[EventKind] = &[
    EventKind::Created,
    EventKind::Updated,
    EventKind::Closed,
    EventKind::Reopened,
    EventKind::Reminder,
];

fn content(kind: EventKind) -> EventContent {
    let at = Timestamp::from_unix_micros(1_796_155_200_000_000);
    EventContent {
        event_id: 3,
        kind,
        at,
        ticket_id: 42,
        ticket_created: at,
        description: "Mail is down.\nWe are on it.".into(),
        services: vec!["Mail".into(), "Web".into()],
        times: TicketTimes::default(),
        planned: kind == EventKind::Reminder,
        sequence: 0,
        lead: None,
        for_operators: false,
    }
}

fn settings() -> Snapshot {
    Snapshot {
        public_url: Some("https://status.example.com".into()),
        status_page: true,
        organisation_name: Some("Acme".into()),
        ..Snapshot::default()
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a text comes to: its alphabet, its segments and the text itself.
fn shown(
    templates: &Templates,
    settings: &Snapshot,
    kind: EventKind,
    language: &Language,
) -> String {
    let (body, link) = render(templates, settings, &content(kind), language)
        .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
    let encoded = encode(&body, &link, 1);
    format!(
        "Coding: {:?}, segments: {}\n{body}{link}\n",
        encoded.coding,
        encoded.parts.len()
    )
}

#[test]
fn every_text_in_every_language_matches_its_golden_file() {
    let templates = Templates::builtin();
    let mut failures = Vec::new();
    for language in LANGUAGES {
        let chain = Language::chain(Some(language), "en");
        for &kind in EVENTS {
            let rendered = shown(&templates, &settings(), kind, &chain);
            let path = root()
                .join("tests/golden/sms")
                .join(language)
                .join(format!("{}.txt", kind.as_str()));
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &rendered).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(expected) if expected == rendered => {}
                Ok(expected) => failures.push(format!(
                    "{} differs:\n--- expected\n{expected}--- rendered\n{rendered}",
                    path.display()
                )),
                Err(e) => failures.push(format!("{}: {e}", path.display())),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn german_is_complete_and_a_language_without_texts_falls_back_to_the_default() {
    let files = |language: &str| -> BTreeSet<String> {
        std::fs::read_dir(root().join("templates/sms").join(language))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(
        files("en"),
        files("de"),
        "every English text has its German one"
    );
    let templates = Templates::builtin();
    let german = Language::chain(Some("de-AT"), "en");
    for &kind in EVENTS {
        let de = shown(&templates, &settings(), kind, &german);
        for english in [
            "disruption",
            "Resolved",
            "Update on",
            "Reopened",
            "Planned work",
        ] {
            assert!(!de.contains(english), "{kind:?}: {english:?} in {de}");
        }
        // French is not shipped: a French customer reads the default language, here German.
        let french = Language::chain(Some("fr-CA"), "de");
        assert_eq!(shown(&templates, &settings(), kind, &french), de);
        // Without a status page there is no link.
        let off = Snapshot {
            status_page: false,
            ..settings()
        };
        assert!(!shown(&templates, &off, kind, &german).contains("https://"));
    }
}
