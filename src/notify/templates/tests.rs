use super::*;

#[test]
fn language_chains_fall_back_through_prefixes_and_the_default_to_english() {
    let chain = Language::chain(Some("de-CH-1901"), "fr-BE");
    assert_eq!(
        chain.candidates(),
        ["de-ch-1901", "de-ch", "de", "fr-be", "fr", "en"]
    );
    assert_eq!(Language::chain(None, "en").candidates(), ["en"]);
    assert_eq!(
        Language::chain(Some("EN-gb"), "en").candidates(),
        ["en-gb", "en"]
    );
}

#[test]
fn every_builtin_email_template_renders_the_sample() {
    let t = Templates::builtin();
    assert!(t.problems().is_empty(), "{:?}", t.problems());
    for (name, _) in BUILTIN.iter().filter(|(n, _)| is_top_level(n)) {
        if name.starts_with("email/") {
            t.active.render(name, &sample("email").unwrap()).unwrap();
        }
    }
}

#[test]
fn relative_names_stay_in_their_language_then_fall_back_to_english() {
    let names: HashMap<String, String> = ["email/en/a.txt", "email/en/b.txt", "email/de/a.txt"]
        .into_iter()
        .map(|n| (n.to_owned(), n.to_owned()))
        .collect();
    assert_eq!(join(&names, "./a.txt", "email/de/x.txt"), "email/de/a.txt");
    assert_eq!(join(&names, "./b.txt", "email/de/x.txt"), "email/en/b.txt");
    assert_eq!(
        join(&names, "email/en/b.txt", "email/de/x.txt"),
        "email/en/b.txt"
    );
}

fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn an_override_replaces_its_builtin_and_a_new_language_is_added() {
    let dir = folder(&[
        (
            "email/en/_footer.txt",
            "-- \nFrom Acme, about {{ m.services }}.",
        ),
        ("email/fr/test.txt", "Ceci est un test ({{ sent_at }})."),
    ]);
    let t = Templates::load(Some(dir.path())).unwrap();
    assert!(t.problems().is_empty(), "{:?}", t.problems());
    assert_eq!(
        t.overridden(),
        ["email/en/_footer.txt", "email/fr/test.txt"]
    );
    let ctx = sample("email").unwrap();
    let text = t
        .render("email", &Language::chain(None, "en"), "created.txt", &ctx)
        .unwrap();
    assert!(text.ends_with("-- \nFrom Acme, about Mail."), "{text}");
    let fr = Language::chain(Some("fr-CA"), "en");
    let text = t.render("email", &fr, "test.txt", &ctx).unwrap();
    assert!(text.starts_with("Ceci est un test"), "{text}");
    // What French lacks comes from the default language.
    let subject = t.render("email", &fr, "test_subject.txt", &ctx).unwrap();
    assert_eq!(subject, "Herald test email");
}

#[test]
fn a_broken_override_is_reported_with_file_and_line_and_the_builtin_is_used() {
    let dir = folder(&[
        ("email/en/_footer.txt", "-- \nline two\n{% if links %}unclosed"),
        ("email/en/created.txt", "{% extends \"./layout.txt\" %}\n{% block intro %}\n{{ m.no_such_value }}{% endblock %}"),
        ("email/en/closed.txt", "{{ m.description | no_such_filter }}"),
    ]);
    std::fs::write(dir.path().join("email/en/reopened.txt"), b"\xff\xfe").unwrap();
    let t = Templates::load(Some(dir.path())).unwrap();
    let shown: Vec<String> = t.problems().iter().map(|p| p.to_string()).collect();
    let footer = dir.path().join("email/en/_footer.txt");
    let p = t
        .problems()
        .iter()
        .find(|p| p.file == footer)
        .expect("footer reported");
    assert_eq!(p.line, Some(3), "{shown:?}");
    assert!(p.message.contains("syntax"), "{shown:?}");
    let created = dir.path().join("email/en/created.txt");
    let p = t
        .problems()
        .iter()
        .find(|p| p.file == created)
        .expect("created reported");
    assert_eq!(p.line, Some(3), "{shown:?}");
    let closed = dir.path().join("email/en/closed.txt");
    let p = t
        .problems()
        .iter()
        .find(|p| p.file == closed)
        .expect("closed reported");
    assert_eq!(p.line, Some(1), "{shown:?}");
    assert!(
        shown
            .iter()
            .any(|s| s.contains(&format!("{}, line 3: ", footer.display()))),
        "{shown:?}"
    );
    let reopened = dir.path().join("email/en/reopened.txt");
    assert!(
        shown.contains(&format!("{}: not UTF-8 text", reopened.display())),
        "{shown:?}"
    );
    assert_eq!(t.problems().len(), 4, "{shown:?}");
    assert!(t.overridden().is_empty(), "{:?}", t.overridden());
    // The built-ins are used.
    let ctx = sample("email").unwrap();
    let text = t
        .render("email", &Language::chain(None, "en"), "created.txt", &ctx)
        .unwrap();
    assert!(text.contains("There is a new disruption"), "{text}");
    assert!(text.contains("You receive this email because"), "{text}");
}

#[test]
fn a_folder_that_cannot_be_read_is_an_error() {
    let e = Templates::load(Some(Path::new("/no/such/folder"))).unwrap_err();
    assert!(e.contains("/no/such/folder"), "{e}");
}

#[test]
fn one_html_layout_serves_every_language_and_its_overrides_apply() {
    let builtin = |name: &str| {
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, s)| *s)
            .unwrap()
    };
    let ctx = sample("email").unwrap();
    let (en, de) = (
        Language::chain(None, "en"),
        Language::chain(Some("de"), "en"),
    );
    let t = Templates::builtin();
    let german = t.render("email", &de, "created.html", &ctx).unwrap();
    for said in [
        r#"<html lang="de">"#,
        "Guten Tag",
        "Wir schreiben Ihnen",
        "Dienste",
    ] {
        assert!(german.contains(said), "{said:?} in {german}");
    }
    assert!(german.contains("Sie erhalten diese E-Mail"), "{german}");
    assert!(
        !german.contains("Hello") && !german.contains("You receive"),
        "{german}"
    );

    // An override of the one layout changes every language; a language's layout still says its
    // own phrases, and overriding those changes that language alone.
    let dir = folder(&[
        (
            "email/en/layout.html",
            &builtin("email/en/layout.html").replace("#f4f5f7", "#0a0b0c"),
        ),
        (
            "email/de/layout.html",
            &builtin("email/de/layout.html").replace("Guten Tag", "Grüezi"),
        ),
    ]);
    let t = Templates::load(Some(dir.path())).unwrap();
    assert!(t.problems().is_empty(), "{:?}", t.problems());
    let english = t.render("email", &en, "created.html", &ctx).unwrap();
    let german = t.render("email", &de, "created.html", &ctx).unwrap();
    assert!(english.contains("#0a0b0c") && german.contains("#0a0b0c"));
    assert!(
        german.contains("Grüezi") && !german.contains("Guten Tag"),
        "{german}"
    );
    assert!(
        english.contains("Hello") && !english.contains("Grüezi"),
        "{english}"
    );
}
