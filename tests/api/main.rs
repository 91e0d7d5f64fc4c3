//! Integration tests of the REST API over real HTTP on loopback, each with its own server
//! and SQLite file.

mod auth;
mod bad_input;
mod helpers;
mod notifications;
mod notify_crash;
mod process;
mod resources;
mod smoke;
#[path = "../support/smtp.rs"]
mod smtp;
mod tickets;
mod wire;
