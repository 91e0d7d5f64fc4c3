//! Herald: a self-hosted incident notification service.
//!
//! Layout, from the edge inwards:
//! - [`cli`] parses the command line and dispatches the subcommands;
//! - [`config`] declares every setting once (flag, environment variable, stored value, default);
//! - [`startup`] builds the [`startup::Application`] that tests and `herald serve` both run;
//! - [`api`] is the REST API (one router per resource), [`wire`] its JSON/XML formats;
//! - [`gui`] is the operator GUI (server-rendered pages, sessions, CSRF protection);
//! - [`public`] is the public wing: the pages of the people Herald notifies (no sign-in);
//! - [`domain`] holds the types that can only contain valid values and the ticket rules;
//! - [`store`] is the storage layer over SQLite or PostgreSQL ([`store::copy`] moves data
//!   from one to the other, with a [`progress`] bar);
//! - [`notify`] renders and delivers the notification emails queued in the store's outbox;
//! - [`scheduler`] runs the time-driven jobs (reminders, overdue notices) when they fall due.

pub mod answers;
pub mod api;
pub mod cli;
pub mod client_address;
pub mod clock;
pub mod config;
pub mod domain;
pub mod gui;
pub mod health;
pub mod limits;
pub mod live_settings;
pub mod metrics;
pub mod notify;
pub mod openapi;
pub mod progress;
pub mod public;
pub mod request_timeout;
pub mod retention;
pub mod scheduler;
pub mod scrape;
pub mod secret;
pub mod serve;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod when;
pub mod wire;
