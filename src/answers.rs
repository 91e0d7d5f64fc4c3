//! The API's GETs of one entity answered from memory while nothing was committed since the answer was
//! rendered (SQLite only).
//!
//! A GET of a ticket reads three tables and renders and hashes a document; answering it
//! again costs a look-up here instead. Whether anything was committed is the store's
//! [`ReadVersion`]: SQLite's `PRAGMA data_version`, which changes with every commit to the
//! file by anyone (this process's writers and delivery workers, the command line, another
//! process), so an answer is never older than the last commit before the request. The
//! version is taken before the entity is read, and the answer kept under it: a commit
//! between the two makes the answer newer than its version, never older, and changes the
//! version, so the answer is not served again anyway.
//!
//! Only answers of one version are kept: the first answer kept under a newer version drops
//! the rest. On PostgreSQL there is no version (several instances share the database, and
//! asking would cost what the read does): every GET reads.

use std::collections::HashMap;
use std::sync::RwLock;

use axum::body::Bytes;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::store::ReadVersion;
use crate::wire::Format;

/// At most this many answers are kept (a ticket's is about half a kilobyte).
const MAX_ANSWERS: usize = 4096;

/// A rendered entity: its body, its type and its `ETag`.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Bytes,
    pub content_type: &'static str,
    pub etag: HeaderValue,
}

impl Rendered {
    pub fn response(&self, status: StatusCode) -> Response {
        let mut response = (status, self.body.clone()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        );
        headers.insert(header::ETAG, self.etag.clone());
        response
    }
}

/// Which answer: the entity and the format asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub model: &'static str,
    pub id: i64,
    pub format: Format,
}

#[derive(Debug)]
struct Kept {
    /// The XML namespace it was rendered with (a setting).
    namespace: String,
    rendered: Rendered,
}

#[derive(Debug, Default)]
struct Answers {
    version: Option<ReadVersion>,
    kept: HashMap<Key, Kept>,
}

/// The answers of this process (see the module's documentation).
#[derive(Debug, Default)]
pub struct AnswerCache {
    answers: RwLock<Answers>,
}

impl AnswerCache {
    /// The answer for `key` rendered under `version` with `namespace`, if kept.
    pub fn get(&self, version: ReadVersion, key: &Key, namespace: &str) -> Option<Rendered> {
        let answers = self.answers.read().expect("never poisoned");
        if answers.version != Some(version) {
            return None;
        }
        answers
            .kept
            .get(key)
            .filter(|kept| kept.namespace == namespace)
            .map(|kept| kept.rendered.clone())
    }

    /// Keeps an answer rendered from a read made after `version` was taken.
    pub fn keep(&self, version: ReadVersion, key: Key, namespace: &str, rendered: &Rendered) {
        let mut answers = self.answers.write().expect("never poisoned");
        match answers.version {
            Some(kept) if kept > version => return,
            Some(kept) if kept == version => {}
            _ => {
                answers.version = Some(version);
                answers.kept.clear();
            }
        }
        if answers.kept.len() >= MAX_ANSWERS {
            answers.kept.clear();
        }
        answers.kept.insert(
            key,
            Kept {
                namespace: namespace.to_owned(),
                rendered: rendered.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(body: &'static str) -> Rendered {
        Rendered {
            body: Bytes::from_static(body.as_bytes()),
            content_type: "application/json; charset=utf-8",
            etag: HeaderValue::from_static("\"x\""),
        }
    }

    fn key(id: i64) -> Key {
        Key {
            model: "ticket",
            id,
            format: Format::Json,
        }
    }

    #[test]
    fn an_answer_is_served_only_under_its_version_and_namespace() {
        let cache = AnswerCache::default();
        let (v1, v2) = (ReadVersion::for_tests(1), ReadVersion::for_tests(2));
        assert!(cache.get(v1, &key(1), "ns").is_none());
        cache.keep(v1, key(1), "ns", &rendered("one"));
        assert_eq!(cache.get(v1, &key(1), "ns").unwrap().body, "one");
        assert!(cache.get(v1, &key(2), "ns").is_none(), "another entity");
        assert!(
            cache.get(v1, &key(1), "other").is_none(),
            "another namespace"
        );
        let xml = Key {
            format: Format::Xml { text_xml: false },
            ..key(1)
        };
        assert!(cache.get(v1, &xml, "ns").is_none(), "another format");
        assert!(cache.get(v2, &key(1), "ns").is_none(), "a commit since");

        // A newer version drops the older answers; an older one is not kept over it.
        cache.keep(v2, key(2), "ns", &rendered("two"));
        assert!(cache.get(v1, &key(1), "ns").is_none());
        cache.keep(v1, key(3), "ns", &rendered("stale"));
        assert!(cache.get(v1, &key(3), "ns").is_none());
        assert!(cache.get(v2, &key(3), "ns").is_none());
        assert_eq!(cache.get(v2, &key(2), "ns").unwrap().body, "two");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = AnswerCache::default();
        let v = ReadVersion::for_tests(7);
        for id in 0..(MAX_ANSWERS as i64 + 10) {
            cache.keep(v, key(id), "ns", &rendered("t"));
        }
        let kept = cache.answers.read().unwrap().kept.len();
        assert!(kept <= MAX_ANSWERS, "{kept}");
        assert!(cache.get(v, &key(MAX_ANSWERS as i64 + 9), "ns").is_some());
    }
}
