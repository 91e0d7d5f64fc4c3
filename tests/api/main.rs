//! Integration tests of the REST API over real HTTP on loopback, each with its own server
//! and SQLite file.

mod concurrency;
mod helpers;
mod instances;
mod parity;
mod postgres;
mod smoke;
