//! Integration tests of the REST API over real HTTP on loopback, each with its own server
//! and SQLite file.

mod auth;
mod bad_input;
mod helpers;
mod openapi;
mod process;
mod resources;
mod schemathesis_findings;
mod smoke;
mod tickets;
mod wire;
