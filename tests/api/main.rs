//! Integration tests of the REST API over real HTTP on loopback, each with its own server
//! and database (a SQLite file, or a PostgreSQL database: see `helpers::backend_tests!`).

mod auth;
mod bad_input;
mod concurrency;
mod copy;
mod helpers;
mod instances;
mod migrations;
mod parity;
mod postgres;
mod process;
mod resources;
mod smoke;
mod tickets;
mod wire;
