//! Integration tests of the REST API over real HTTP on loopback, each with its own server
//! and SQLite file.

mod helpers;
mod openapi;
mod schemathesis_findings;
mod smoke;
