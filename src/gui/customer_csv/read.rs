//! Reading an uploaded customer CSV (the `csv` crate) from its temporary file, a batch of rows
//! at a time, each row checked on its own: the header (`Name`, `Email`, optionally
//! `CellPhone` and `Services`, in any order, ignoring case), UTF-8 text, the number of fields,
//! quoting, the name, the email address (required: rows are matched by it), the phone and the
//! services (by name, ignoring case, separated by `;`).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use tokio::sync::mpsc;

use crate::domain::{CellPhone, EmailAddress, Name};
use crate::store::StagedRow;

/// Rows per batch handed from the reader to the store.
pub const BATCH: usize = 500;
/// The columns, as the header names them (and the export writes them).
pub const COLUMNS: [&str; 4] = ["Name", "Email", "CellPhone", "Services"];
/// What separates service names in the `Services` column.
pub const SERVICE_SEPARATOR: char = ';';

/// Where each column is.
#[derive(Debug, Clone, Copy)]
struct Columns {
    name: usize,
    email: usize,
    phone: Option<usize>,
    services: Option<usize>,
    count: usize,
}

/// A row as read: its line and its fields, or why they cannot be read.
#[derive(Debug)]
struct RawRow {
    line: i64,
    fields: Result<Vec<String>, String>,
}

/// A batch of rows checked, and how many rows were read so far.
pub type Batch = (Vec<StagedRow>, i64);

fn columns(header: &csv::ByteRecord) -> Result<Columns, String> {
    let expected = || format!("The columns are {}.", COLUMNS.join(", "));
    let mut found: [Option<usize>; 4] = [None; 4];
    for (i, raw) in header.iter().enumerate() {
        let Ok(text) = std::str::from_utf8(raw) else {
            return Err(
                "The header is not UTF-8 text: save the file as CSV in UTF-8 (\"CSV UTF-8\")."
                    .into(),
            );
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        let Some(c) = COLUMNS.iter().position(|c| c.eq_ignore_ascii_case(text)) else {
            return Err(format!(
                "Wrong header: column {} is {text:?}. {}",
                i + 1,
                expected()
            ));
        };
        if found[c].replace(i).is_some() {
            return Err(format!("Wrong header: {} appears twice.", COLUMNS[c]));
        }
    }
    match (found[0], found[1]) {
        (Some(name), Some(email)) => Ok(Columns {
            name,
            email,
            phone: found[2],
            services: found[3],
            count: header.len(),
        }),
        _ => Err(format!(
            "Wrong header: Name and Email are needed. {}",
            expected()
        )),
    }
}

fn fields(record: &csv::ByteRecord, columns: &Columns) -> Result<Vec<String>, String> {
    let mut out = Vec::with_capacity(record.len());
    for raw in record {
        let Ok(text) = std::str::from_utf8(raw) else {
            return Err(
                "Not UTF-8 text: the file seems saved in another encoding (such as Windows-1252). Save it as CSV in UTF-8."
                    .into(),
            );
        };
        if text.contains(['\n', '\r']) {
            return Err(
                "Broken quoting: a quoted field runs past the end of its line (is a closing quote missing?)."
                    .into(),
            );
        }
        out.push(text.to_owned());
    }
    if out.len() != columns.count {
        return Err(format!(
            "{} fields where the header has {}.",
            out.len(),
            columns.count
        ));
    }
    Ok(out)
}

/// Reads the file at `path`, sending its rows in batches; `Err` says why the file cannot be
/// read at all. Runs on a blocking thread.
pub fn read_file(
    path: &Path,
    services: &ServicesByName,
    sink: &mpsc::Sender<Batch>,
) -> Result<(), String> {
    let mut file = std::fs::File::open(path).map_err(|e| format!("The upload is gone: {e}"))?;
    let mut start = [0u8; 2];
    let n = file.read(&mut start).map_err(|e| e.to_string())?;
    if n == 0 {
        return Err("The file is empty.".into());
    }
    if n == 2 && (start == [0xff, 0xfe] || start == [0xfe, 0xff]) {
        return Err(
            "The file is UTF-16 text: save it as CSV in UTF-8 (\"CSV UTF-8\") instead.".into(),
        );
    }
    let file = std::fs::File::open(path).map_err(|e| format!("The upload is gone: {e}"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    let mut record = csv::ByteRecord::new();
    let unreadable = |e: csv::Error| format!("The file cannot be read as CSV: {e}");
    if !reader.read_byte_record(&mut record).map_err(unreadable)? {
        return Err("The file is empty.".into());
    }
    let columns = columns(&record)?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut read = 0i64;
    while reader.read_byte_record(&mut record).map_err(unreadable)? {
        read += 1;
        // The line in the file (the header is line 1), as a spreadsheet numbers its rows.
        let line = read + 1;
        let raw = RawRow {
            line,
            fields: fields(&record, &columns),
        };
        batch.push(check(raw, &columns, services));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if sink.blocking_send((full, read)).is_err() {
                return Err("The import was stopped.".into());
            }
        }
    }
    if read == 0 {
        return Err("The file has a header but no rows.".into());
    }
    if !batch.is_empty() && sink.blocking_send((batch, read)).is_err() {
        return Err("The import was stopped.".into());
    }
    Ok(())
}

/// The live services by name in lower case.
pub type ServicesByName = HashMap<String, i64>;

/// Checks a row on its own: what to store of it.
fn check(row: RawRow, columns: &Columns, services: &ServicesByName) -> StagedRow {
    let mut staged = StagedRow {
        line: row.line,
        name: None,
        email: None,
        cell_phone: None,
        services: None,
        service_ids: Vec::new(),
        refused: None,
    };
    let fields = match row.fields {
        Ok(f) => f,
        Err(reason) => {
            staged.refused = Some(reason);
            return staged;
        }
    };
    let get = |i: Option<usize>| {
        i.map(|i| fields[i].trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    staged.name = get(Some(columns.name));
    staged.email = get(Some(columns.email));
    staged.cell_phone = get(columns.phone);
    staged.services = get(columns.services);
    let mut reasons = Vec::new();
    match staged.name.as_deref().map(Name::parse) {
        None => reasons.push("Name: a name is required.".to_owned()),
        Some(Err(m)) => reasons.push(format!("Name: {m}")),
        Some(Ok(n)) => staged.name = Some(n.as_str().to_owned()),
    }
    match staged.email.as_deref().map(EmailAddress::parse) {
        None => reasons.push("Email: an address is required (rows are matched by it).".to_owned()),
        Some(Err(m)) => reasons.push(format!("Email: {m}")),
        Some(Ok(e)) => staged.email = Some(e.as_str().to_owned()),
    }
    if let Some(phone) = staged.cell_phone.as_deref() {
        match CellPhone::parse(phone) {
            Err(m) => reasons.push(format!("CellPhone: {m}")),
            Ok(p) => staged.cell_phone = Some(p.as_str().to_owned()),
        }
    }
    if let Some(list) = staged.services.as_deref() {
        for name in list
            .split(SERVICE_SEPARATOR)
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            match services.get(&name.to_lowercase()) {
                Some(id) if !staged.service_ids.contains(id) => staged.service_ids.push(*id),
                Some(_) => {}
                None => reasons.push(format!("Services: there is no service named {name:?}.")),
            }
        }
    }
    if !reasons.is_empty() {
        staged.refused = Some(reasons.join(" "));
    }
    staged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> csv::ByteRecord {
        csv::ByteRecord::from(fields.to_vec())
    }

    #[test]
    fn headers_in_any_order_ignoring_case() {
        let c = columns(&record(&["\u{feff}email", " NAME ", "Services"])).unwrap();
        assert_eq!(
            (c.name, c.email, c.phone, c.services),
            (1, 0, None, Some(2))
        );
        assert!(columns(&record(&["Name", "Mail"]))
            .unwrap_err()
            .contains("\"Mail\""));
        assert!(columns(&record(&["Name"]))
            .unwrap_err()
            .contains("Name and Email"));
        assert!(columns(&record(&["Name", "Email", "name"]))
            .unwrap_err()
            .contains("twice"));
    }

    #[test]
    fn rows_are_checked_on_their_own() {
        let cols = columns(&record(&["Name", "Email", "Services"])).unwrap();
        let services: ServicesByName = [("mail".to_owned(), 7)].into();
        let row = |f: &[&str]| RawRow {
            line: 2,
            fields: Ok(f.iter().map(|s| s.to_string()).collect()),
        };
        let ok = check(
            row(&["Ann", "Ann@Example.com", "Mail; mail"]),
            &cols,
            &services,
        );
        assert_eq!(ok.refused, None);
        assert_eq!(ok.service_ids, vec![7]);
        let bad = check(row(&["", "nope", "Web"]), &cols, &services);
        let reason = bad.refused.unwrap();
        assert!(
            reason.contains("Name:") && reason.contains("Email:") && reason.contains("\"Web\""),
            "{reason}"
        );
    }
}
