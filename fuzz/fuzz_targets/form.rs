//! The form reader: any bytes are read or refused with a message, never a panic, and what it
//! reads re-serializes: encoding the tree as a form again and reading that gives the same tree.
#![no_main]

use herald::wire::input::{Doc, Value};
use libfuzzer_sys::fuzz_target;

fn write(out: &mut form_urlencoded::Serializer<'_, String>, prefix: &str, doc: &Doc) {
    for (name, value) in doc.entries() {
        let key = if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            Value::Text(t) => {
                out.append_pair(&key, t);
            }
            Value::Object(child) => write(out, &key, child),
            other => panic!("the form reader made a {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Doc::from_form(data) else {
        return;
    };
    let mut out = form_urlencoded::Serializer::new(String::new());
    write(&mut out, "", &doc);
    let encoded = out.finish();
    let again = Doc::from_form(encoded.as_bytes())
        .unwrap_or_else(|e| panic!("re-encoded form refused: {e}\n{encoded}"));
    assert_eq!(again, doc, "{encoded}");
});
