//! Wire formats of the REST API: JSON and DataContract-style XML, both ways.
//!
//! Output goes domain type → [`model`] DTO → JSON (serde) or XML ([`xml`]).
//! Input goes body → [`input::Doc`] (one tree for JSON, XML and form bodies) → domain type,
//! collecting field errors into a [`input::ModelState`].

pub mod accept;
pub mod audit;
pub mod body;
pub mod datetime;
pub mod etag;
pub mod format;
pub mod input;
pub mod merge_patch;
pub mod model;
pub mod webhook;
pub mod xml;

pub use format::Format;
pub use input::{Doc, ModelState};
