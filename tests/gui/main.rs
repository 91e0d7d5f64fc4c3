//! End-to-end tests of the operator GUI: real headless Chromium over WebDriver against a real
//! Herald on loopback (each test with its own server and database), plus plain-HTTP tests of
//! what a browser would not do (forms without their CSRF token, password guessing).

mod browser;
mod web;

mod audit;
mod customer_csv;
mod customer_csv_browser;
mod customer_journey;
mod customer_language;
mod customer_side;
mod edits;
mod flood;
mod flows;
mod guessing;
mod instances;
mod mail_refused;
mod public_settings;
mod schedule;
mod screenshots;
mod search;
mod security;
mod settings_save;
mod sms_settings;
mod status_page;
mod templates;
mod two_factor;
mod webhooks;
mod webhooks_browser;
