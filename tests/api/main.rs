//! Integration tests of the REST API over real HTTP on loopback, each with its own server
//! and SQLite file.

mod auth;
mod bad_input;
mod helpers;
mod notifications;
mod notify_crash;
mod openapi;
mod process;
mod resources;
mod schemathesis_findings;
mod smoke;
#[path = "../support/smtp.rs"]
mod smtp;
mod tickets;
mod wire;
