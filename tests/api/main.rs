//! Integration tests of the REST API over real HTTP on loopback, each with its own server
//! and SQLite file.

mod helpers;
mod notifications;
mod notify_crash;
mod smoke;
#[path = "../support/smtp.rs"]
mod smtp;
