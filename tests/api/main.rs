//! Integration tests of the REST API over real HTTP on loopback, each with its own server
//! and database (a SQLite file, or a PostgreSQL database: see `herald_test_support::backend_tests!`).

mod audit;
mod auth;
mod backup;
mod bad_input;
mod calendar_feed;
mod channels;
mod concurrency;
mod connections;
mod copy;
mod disk_full;
mod extension;
mod id_lists;
mod idempotency;
mod instances;
mod merge_patch;
mod metrics;
mod migrations;
mod notifications;
mod notify_crash;
mod openapi;
mod opt_outs;
mod parity;
mod personal_page;
mod pipelining;
mod process;
mod resources;
mod schedule;
mod schemathesis_findings;
mod smoke;
mod status_page;
mod test_log;
mod tickets;
mod time_precision;
mod two_instances;
mod wire;
