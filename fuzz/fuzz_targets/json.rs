//! The JSON reader, with the text decoding in front of it: any bytes under any of the charsets
//! Herald reads are read or refused with a message, never a panic, and what it reads
//! re-serializes: writing the tree back as JSON (repeated names, order and number text
//! kept) and reading that gives the same tree.
#![no_main]

use herald::wire::body;
use herald::wire::input::{Doc, Value};
use libfuzzer_sys::fuzz_target;

const CHARSETS: [&str; 5] = [
    "",
    "; charset=utf-8",
    "; charset=utf-16",
    "; charset=utf-16be",
    "; charset=latin1",
];

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::Text(t) => out.push_str(&serde_json::to_string(t).unwrap()),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(doc) => write_doc(out, doc),
    }
}

fn write_doc(out: &mut String, doc: &Doc) {
    out.push('{');
    for (i, (name, value)) in doc.entries().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(name).unwrap());
        out.push(':');
        write_value(out, value);
    }
    out.push('}');
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let content_type = format!(
        "application/json{}",
        CHARSETS[*selector as usize % CHARSETS.len()]
    );
    let Ok(doc) = body::read(Some(&content_type), rest) else {
        return;
    };
    let mut out = String::new();
    write_doc(&mut out, &doc);
    let again =
        body::json(&out).unwrap_or_else(|e| panic!("re-serialized JSON refused: {e}\n{out}"));
    assert_eq!(again, doc, "{out}");
});
