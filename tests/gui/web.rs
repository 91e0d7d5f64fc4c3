//! The GUI over plain HTTP (reqwest), for what a browser would not do: forms without their
//! CSRF token, many failed sign-ins, several sessions at once.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::Response;

/// A browser-like HTTP client: keeps cookies, does not follow redirects.
pub struct Web {
    pub base: String,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

/// What came back: status, where it redirects, the body.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    /// The `Set-Cookie` headers, as sent.
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        self.field("csrf")
    }

    /// The value of the first field named `name` (as rendered: attribute-escaped).
    pub fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} field in: {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }
}

impl Web {
    pub fn new(base: &str) -> Web {
        Web::with_headers(base, HeaderMap::new())
    }

    /// A browser behind a proxy that sends `X-Forwarded-For: {forwarded_for}` on every request.
    pub fn forwarded_for(base: &str, forwarded_for: &str) -> Web {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded_for.parse().unwrap());
        Web::with_headers(base, headers)
    }

    fn with_headers(base: &str, headers: HeaderMap) -> Web {
        Web {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .unwrap(),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies
            .lock()
            .unwrap()
            .insert(name.to_owned(), value.to_owned());
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&self, r: Response) -> Page {
        let mut set_cookies = Vec::new();
        for v in r.headers().get_all(SET_COOKIE) {
            let text = v.to_str().unwrap();
            set_cookies.push(text.to_owned());
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut jar = self.cookies.lock().unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_owned()),
            set_cookies,
            body: r.text().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str) -> Page {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// POSTs a form as a browser would (`application/x-www-form-urlencoded`).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.post_raw(path, body.as_bytes()).await
    }

    /// POSTs a form body as given.
    pub async fn post_raw(&self, path: &str, body: &[u8]) -> Page {
        let r = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// Uploads `bytes` as the file field `file` of a multipart form (the CSRF token in the
    /// query string, as the GUI's upload forms send it).
    pub async fn upload(&self, path: &str, csrf: &str, file_name: &str, bytes: Vec<u8>) -> Page {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(file_name.to_owned())
            .mime_str("text/csv")
            .unwrap();
        let form = reqwest::multipart::Form::new().part("file", part);
        let r = self
            .client
            .post(format!("{}{path}?csrf={csrf}", self.base))
            .header(COOKIE, self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.read(r).await
    }

    /// GETs `form_page`, then POSTs `fields` to `action` with that page's CSRF token.
    pub async fn submit(&self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.get(form_page).await.csrf();
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Creates the first administrator on the setup page (signed in afterwards).
    pub async fn setup(&self, name: &str, email: &str, password: &str) -> Page {
        self.submit(
            "/setup",
            "/setup",
            &[
                ("Name", name),
                ("Email", email),
                ("Password", password),
                ("PasswordConfirm", password),
            ],
        )
        .await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }
}
