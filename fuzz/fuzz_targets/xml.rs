//! The XML reader: any bytes are read or refused with a message, never a panic, and what it
//! reads re-serializes: writing the tree back as XML and reading that gives the same tree.
#![no_main]

use herald::wire::input::{Doc, Value};
use herald::wire::xml;
use libfuzzer_sys::fuzz_target;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\r', "&#xD;")
}

fn write(out: &mut String, doc: &Doc) {
    for (name, value) in doc.entries() {
        match value {
            Value::Null => out.push_str(&format!(
                "<{name} xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" i:nil=\"true\"/>"
            )),
            Value::Text(t) => out.push_str(&format!("<{name}>{}</{name}>", escape(t))),
            Value::Object(child) => {
                out.push_str(&format!("<{name}>"));
                write(out, child);
                out.push_str(&format!("</{name}>"));
            }
            other => panic!("the XML reader made a {other:?}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = xml::parse(data) else {
        return;
    };
    let mut out = String::from("<Root>");
    write(&mut out, &doc);
    out.push_str("</Root>");
    let again = xml::parse(out.as_bytes())
        .unwrap_or_else(|e| panic!("re-serialized XML refused: {e}\n{out}"));
    assert_eq!(again, doc, "{out}");
});
