//! An async client for the Herald REST API.
//!
//! Herald keeps the REST API of the original ASP.NET Web API product: four resources
//! (`/api/Services`, `/api/Customers`, `/api/Operators`, `/api/Tickets`), each with list, get,
//! create, update (full replace) and delete; an API key on every request; JSON or
//! DataContract XML. This crate wraps it in typed calls.
//!
//! ```no_run
//! use chrono::{TimeZone, Utc};
//! use herald_client::{Client, Customer, Service, Ticket};
//!
//! # async fn run() -> Result<(), herald_client::Error> {
//! let herald = Client::new("http://127.0.0.1:8080", "d5XNMpburJBfJVJd")?;
//!
//! let mail = herald.services().create(&Service::new("Mail")).await?;
//! herald
//!     .customers()
//!     .create(&Customer::new("Ann").with_email("ann@example.com").following(mail.id))
//!     .await?;
//! let start = Utc.with_ymd_and_hms(2001, 1, 1, 12, 0, 0).unwrap();
//! let ticket = herald
//!     .tickets()
//!     .create(&Ticket::new("Mail is down").starting(start).about(mail.id))
//!     .await?;
//! // Ann is emailed about the new ticket, and again when it is closed:
//! let closed = herald.tickets().close(ticket.id, Utc::now()).await?;
//! assert!(closed.is_closed);
//! # Ok(()) }
//! ```
//!
//! Every server-side failure is an [`Error`] variant carrying the server's `Message` (and,
//! for a 400, its `ModelState`, the messages per field):
//!
//! ```no_run
//! # use herald_client::{Client, Error, Ticket};
//! # async fn run(herald: Client) {
//! match herald.tickets().create(&Ticket::new("")).await {
//!     Err(Error::BadRequest { model_state, .. }) => {
//!         assert!(model_state.contains_key("ticket.Description"))
//!     }
//!     other => panic!("expected a 400, got {other:?}"),
//! }
//! # }
//! ```
//!
//! The crate's integration tests (`herald-client/tests/`) show every operation against a real
//! server, in the order a new user learns them.

mod audit;
mod entities;
mod error;
mod resource;
mod tickets;
pub mod xml;

use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use url::Url;

pub use audit::{AuditEntry, AuditFilter};
pub use entities::{
    Customer, DeliveryState, Notification, Operator, OperatorRef, Service, ServiceId, Ticket,
    Webhook,
};
pub use error::{Error, ModelState};
pub use resource::{ETag, Entity, Page, Resource, Tagged};
pub use tickets::TicketFilter;

/// The wire format the client speaks, both ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `application/json` (the default).
    #[default]
    Json,
    /// `application/xml` in the DataContract shape.
    Xml,
}

impl Format {
    fn media_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Xml => "application/xml",
        }
    }
}

/// Where the API key goes on each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyPlacement {
    /// The `X-Api-Key` header (the default: it keeps the key out of URLs and access logs).
    #[default]
    Header,
    /// The `key` query-string parameter, as the original product documented it.
    Query,
}

/// A connection to one Herald server. Cheap to clone; clones share their connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    key: String,
    format: Format,
    key_placement: KeyPlacement,
    namespace: String,
}

impl Client {
    /// A client for the Herald at `base_url` (`http://127.0.0.1:8080`), using API key `key`.
    ///
    /// ```
    /// let herald = herald_client::Client::new("http://127.0.0.1:8080", "d5XNMpburJBfJVJd").unwrap();
    /// assert!(herald_client::Client::new("not a url", "k").is_err());
    /// ```
    pub fn new(base_url: &str, key: impl Into<String>) -> Result<Client, Error> {
        let mut base = Url::parse(base_url).map_err(|e| Error::BaseUrl(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::BaseUrl(format!("{base_url} is not an http(s) URL")));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Client {
            http: reqwest::Client::new(),
            base,
            key: key.into(),
            format: Format::Json,
            key_placement: KeyPlacement::Header,
            namespace: "Herald.Models".into(),
        })
    }

    /// Speak `format` (JSON or XML) in request and response bodies.
    ///
    /// ```
    /// # use herald_client::{Client, Format};
    /// let herald = Client::new("http://127.0.0.1:8080", "key").unwrap().with_format(Format::Xml);
    /// assert_eq!(herald.format(), Format::Xml);
    /// ```
    pub fn with_format(mut self, format: Format) -> Client {
        self.format = format;
        self
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Send the API key as a header (default) or as the `key` query-string parameter.
    pub fn with_key_placement(mut self, placement: KeyPlacement) -> Client {
        self.key_placement = placement;
        self
    }

    /// The XML namespace suffix written in request bodies (the server accepts any; it
    /// defaults to `Herald.Models`).
    pub fn with_xml_namespace(mut self, namespace: impl Into<String>) -> Client {
        self.namespace = namespace.into();
        self
    }

    /// Use this `reqwest::Client` (timeouts, proxies, TLS roots) instead of a default one.
    pub fn with_http_client(mut self, http: reqwest::Client) -> Client {
        self.http = http;
        self
    }

    /// `/api/Services`.
    pub fn services(&self) -> Resource<'_, Service> {
        Resource::new(self)
    }

    /// `/api/Customers`.
    pub fn customers(&self) -> Resource<'_, Customer> {
        Resource::new(self)
    }

    /// `/api/Operators`.
    pub fn operators(&self) -> Resource<'_, Operator> {
        Resource::new(self)
    }

    /// `/api/Webhooks`.
    pub fn webhooks(&self) -> Resource<'_, Webhook> {
        Resource::new(self)
    }

    /// `/api/Tickets`, with the ticket helpers ([`Resource::close`], [`Resource::reopen`],
    /// [`Resource::notifications`], [`Resource::list_where`], [`Resource::without_email`]).
    pub fn tickets(&self) -> Resource<'_, Ticket> {
        Resource::new(self)
    }

    /// A request to `path` (relative to the base URL, e.g. `api/Tickets/1`) with the key and
    /// the `Accept` of the client's format.
    fn request(&self, method: Method, path: &str, query: &[(&str, String)]) -> RequestBuilder {
        let mut url = self.base.join(path).expect("API paths are relative URLs");
        {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
            if self.key_placement == KeyPlacement::Query {
                pairs.append_pair("key", &self.key);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let mut request = self
            .http
            .request(method, url)
            .header(ACCEPT, self.format.media_type());
        if self.key_placement == KeyPlacement::Header {
            request = request.header("X-Api-Key", &self.key);
        }
        request
    }

    /// `value` as a request body in the client's format; `root` names the XML root element.
    fn body<T: Serialize>(&self, request: RequestBuilder, root: &str, value: &T) -> RequestBuilder {
        let bytes = match self.format {
            Format::Json => serde_json::to_vec(value).expect("entities always serialize"),
            Format::Xml => xml::to_string(root, value, &self.namespace).into_bytes(),
        };
        request
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static(self.format.media_type()),
            )
            .body(bytes)
    }

    /// Sends, and turns any non-success status into an [`Error`].
    async fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let response = request.send().await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(Error::from_response(status.as_u16(), &body))
    }

    /// Reads one entity from a response in either format.
    async fn read<T: DeserializeOwned>(response: Response) -> Result<T, Error> {
        let xml = is_xml(&response);
        let text = response.text().await?;
        if xml {
            xml::from_str(&text).map_err(Error::Decode)
        } else {
            serde_json::from_str(&text).map_err(|e| Error::Decode(e.to_string()))
        }
    }

    async fn read_list<T: DeserializeOwned>(response: Response) -> Result<Vec<T>, Error> {
        let xml = is_xml(&response);
        let text = response.text().await?;
        if xml {
            xml::list_from_str(&text).map_err(Error::Decode)
        } else {
            serde_json::from_str(&text).map_err(|e| Error::Decode(e.to_string()))
        }
    }
}

/// The response's own `Content-Type` decides how it is read.
fn is_xml(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("xml"))
}
