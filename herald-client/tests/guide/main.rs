//! How to use Herald's REST API from Rust: one operation per test, in the order a new user
//! learns them (read the files in their numbered order). Each test starts its own Herald
//! server (port 0 on loopback, its own SQLite file) and runs twice: `json::…` speaking JSON
//! and `xml::…` speaking DataContract XML.

mod server;

#[path = "13_audit_log.rs"]
mod audit_log;
#[path = "06_closing_and_reopening.rs"]
mod closing_and_reopening;
#[path = "09_concurrency.rs"]
mod concurrency;
#[path = "01_connecting.rs"]
mod connecting;
#[path = "03_customers.rs"]
mod customers;
#[path = "07_email.rs"]
mod email;
#[path = "10_errors.rs"]
mod errors;
#[path = "08_lists.rs"]
mod lists;
#[path = "11_notifications.rs"]
mod notifications;
#[path = "04_operators.rs"]
mod operators;
#[path = "12_patching.rs"]
mod patching;
#[path = "14_retrying.rs"]
mod retrying;
#[path = "02_services.rs"]
mod services;
#[path = "05_tickets.rs"]
mod tickets;
#[path = "15_webhooks.rs"]
mod webhooks;
