//! Sessions and CSRF protection.
//!
//! - The session cookie carries 32 random bytes (hex); the database keeps only their SHA-256,
//!   so a copy of the database does not let anyone sign in. The cookie is HttpOnly,
//!   SameSite=Lax, and Secure when the public URL is https.
//! - Each session has its own CSRF token, put into every form; before signing in (the sign-in
//!   and setup forms) a random token in a cookie of its own plays that part (double submit).
//!   [`require_csrf`] refuses any POST whose `csrf` field does not match.

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, OptionalFromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cookie::{Cookie, SameSite};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::page::GuiError;
use crate::domain::{Actor, Busy, Operator, Timestamp, Who};
use crate::state::{AppState, ClientAddress};
use crate::store::{NewSession, Store, StoreError};

pub const SESSION_COOKIE: &str = "herald_session";
pub const CSRF_COOKIE: &str = "herald_csrf";
/// Name of the hidden field every form carries.
pub const CSRF_FIELD: &str = "csrf";
/// A session unused for this long ends.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(12 * 3600);
/// Activity is written back at most this often (not on every request).
const TOUCH_EVERY: Duration = Duration::from_secs(5 * 60);

/// The signed-in operator of a request.
#[derive(Debug, Clone)]
pub struct Session {
    pub operator: Operator,
    pub csrf: String,
    pub token_sha256: String,
    /// The client's address (honouring `--trusted-proxies`), for the audit log.
    pub address: Option<std::net::IpAddr>,
}

impl Session {
    pub fn actor(&self) -> Actor {
        Actor::Operator {
            id: self.operator.id,
            name: self.operator.name.clone(),
        }
    }

    /// Is `typed` this operator's current password (the proof before changing it, or before
    /// turning two-factor sign-in off)? `Err(Busy)` when the password hashing is at its limit.
    pub async fn password_matches(
        &self,
        state: &AppState,
        typed: &str,
    ) -> Result<Result<bool, Busy>, StoreError> {
        let hash = state
            .store
            .operator_credentials(&self.operator.email)
            .await?
            .and_then(|(_, h)| h);
        Ok(state.store.hashing().verify(hash.as_ref(), typed).await)
    }

    /// Who makes a change in this session, for the audit log.
    pub fn who(&self) -> Who {
        Who::new(self.actor(), self.address)
    }
}

/// A signed-in administrator; any other request is refused with 403.
#[derive(Debug, Clone)]
pub struct Admin(pub Session);

/// 32 random bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Starts a session for `operator`; returns the `Set-Cookie` value for the browser.
pub async fn start(
    store: &Store,
    operator: &Operator,
    secure: bool,
) -> Result<HeaderValue, StoreError> {
    let token = random_token();
    let now = Timestamp::now();
    store
        .create_session(&NewSession {
            token_sha256: &token_digest(&token),
            operator_id: operator.id,
            csrf_token: &random_token(),
            now,
            expires_at: Timestamp::from_unix_micros(now.unix_micros() + micros(IDLE_TIMEOUT)),
        })
        .await?;
    Ok(cookie_header(SESSION_COOKIE, &token, secure, None))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, path `/`, Secure when asked.
pub fn cookie_header(
    name: &str,
    value: &str,
    secure: bool,
    max_age: Option<cookie::time::Duration>,
) -> HeaderValue {
    let mut c = Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    if let Some(age) = max_age {
        c = c.max_age(age);
    }
    HeaderValue::from_str(&c.build().to_string()).expect("tokens are valid cookie values")
}

/// A `Set-Cookie` value that removes a cookie.
pub fn removal_header(name: &str, secure: bool) -> HeaderValue {
    cookie_header(name, "", secure, Some(cookie::time::Duration::ZERO))
}

/// Is the GUI served over https (so cookies get `Secure`)?
pub fn secure_cookies(state: &AppState) -> bool {
    state
        .settings
        .get()
        .public_url
        .as_deref()
        .is_some_and(|u| u.len() >= 8 && u[..8].eq_ignore_ascii_case("https://"))
}

/// The value of a request cookie.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// Finds the session of the request's cookie and puts it into the request's extensions.
pub async fn load_session(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(token) = cookie_value(request.headers(), SESSION_COOKIE) else {
        return next.run(request).await;
    };
    let digest = token_digest(&token);
    let now = Timestamp::now();
    let record = match state.store.find_session(&digest, now).await {
        Ok(r) => r,
        Err(e) => return GuiError::from(e).into_response(),
    };
    if let Some(record) = record {
        if now.unix_micros() - record.seen_at.unix_micros() > micros(TOUCH_EVERY) {
            let expires = Timestamp::from_unix_micros(now.unix_micros() + micros(IDLE_TIMEOUT));
            if let Err(e) = state.store.touch_session(&digest, now, expires).await {
                tracing::warn!(error = %e, "could not record session activity");
            }
        }
        request.extensions_mut().insert(Session {
            operator: record.operator,
            csrf: record.csrf_token,
            token_sha256: digest,
            address: None,
        });
    }
    next.run(request).await
}

/// Refuses a POST (or any other unsafe method) whose form does not carry the right token.
pub async fn require_csrf(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let expected = match request.extensions().get::<Session>() {
        Some(s) => Some(s.csrf.clone()),
        None => cookie_value(request.headers(), CSRF_COOKIE),
    };
    // A file upload (multipart, larger than other forms) is not read here: its form carries
    // the token in its action's query string instead.
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if multipart {
        let given = request.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(name, _)| name == CSRF_FIELD)
                .map(|(_, v)| v.into_owned())
        });
        if !csrf_matches(expected, given) {
            return GuiError::BadCsrf.into_response();
        }
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, crate::limits::BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => return GuiError::TooLarge.into_response(),
    };
    let given = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, v)| v.into_owned());
    if !csrf_matches(expected, given) {
        return GuiError::BadCsrf.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn csrf_matches(expected: Option<String>, given: Option<String>) -> bool {
    match (expected, given) {
        (Some(e), Some(g)) if !e.is_empty() => bool::from(e.as_bytes().ct_eq(g.as_bytes())),
        _ => false,
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = GuiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Session>() {
            Some(s) => Ok(Session {
                address: ClientAddress::of(state, parts).0,
                ..s.clone()
            }),
            None => Err(GuiError::SignInRequired {
                next: match parts.method {
                    Method::GET => parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_else(|| "/".into()),
                    _ => "/".into(),
                },
            }),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Session>().map(|s| Session {
            address: ClientAddress::of(state, parts).0,
            ..s.clone()
        }))
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = GuiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session =
            <Session as FromRequestParts<AppState>>::from_request_parts(parts, state).await?;
        if session.operator.is_admin {
            Ok(Admin(session))
        } else {
            Err(GuiError::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_digests_stable() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
        assert_eq!(token_digest(&a), token_digest(&a));
        assert_ne!(token_digest(&a), a);
    }

    #[test]
    fn cookies_are_http_only_and_lax() {
        let v = cookie_header(SESSION_COOKIE, "abc", true, None);
        let s = v.to_str().unwrap();
        assert!(s.contains("HttpOnly"), "{s}");
        assert!(s.contains("SameSite=Lax"), "{s}");
        assert!(s.contains("Secure"), "{s}");
        let v = cookie_header(SESSION_COOKIE, "abc", false, None);
        assert!(!v.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn cookie_values_are_found() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; herald_session=tok; b=2"),
        );
        assert_eq!(cookie_value(&h, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie_value(&h, CSRF_COOKIE), None);
    }
}
