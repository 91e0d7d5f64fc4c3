//! A real headless Chromium, driven over WebDriver (ChromeDriver started by the test on a free
//! port, a fresh profile each time). Where Chromium or ChromeDriver is missing the tests say so
//! loudly and skip, except in CI (`CI=true`), where they fail.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// How long any one wait for the page may take.
pub const WAIT: Duration = Duration::from_secs(20);

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The Chromium and ChromeDriver binaries: `HERALD_CHROMIUM` / `HERALD_CHROMEDRIVER`, else PATH.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let chromium = std::env::var_os("HERALD_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| on_path(&["chromium", "chromium-browser", "google-chrome"]))?;
    let driver = std::env::var_os("HERALD_CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| on_path(&["chromedriver"]))?;
    Some((chromium, driver))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Browser {
    pub client: Client,
    pub base: String,
    driver: Child,
    stopped: bool,
    _profile: tempfile::TempDir,
}

/// Starts a browser for a Herald at `base`, or `None` (after saying so) when none is installed.
pub async fn start(base: &str) -> Option<Browser> {
    let Some((chromium, chromedriver)) = binaries() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but Chromium or ChromeDriver is missing: install the Debian packages chromium and chromium-driver");
        }
        eprintln!();
        eprintln!("**************************************************************************");
        eprintln!("*  SKIPPED: browser test. Chromium or ChromeDriver is not installed.      *");
        eprintln!("*  Install them (apt-get install chromium chromium-driver) to run it.     *");
        eprintln!("**************************************************************************");
        eprintln!();
        return None;
    };
    let port = free_port();
    let driver = {
        use std::os::unix::process::CommandExt;
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the browser it starts can be ended with it.
            .process_group(0)
            .spawn()
            .expect("ChromeDriver starts")
    };
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "ChromeDriver did not listen within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let profile = tempfile::tempdir().expect("a profile directory");
    let downloads = profile.path().join("downloads");
    std::fs::create_dir_all(&downloads).expect("a download directory");
    let caps = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            // Downloads go to the profile's directory without asking (see Browser::downloads).
            "prefs": {
                "download.default_directory": downloads,
                "download.prompt_for_download": false,
            },
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ]
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with Chromium");
    Some(Browser {
        client,
        base: base.to_owned(),
        driver,
        stopped: false,
        _profile: profile,
    })
}

impl Browser {
    /// Where this browser's downloads are saved.
    pub fn downloads(&self) -> PathBuf {
        self._profile.path().join("downloads")
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// Waits for an element to be on the page.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "waiting for {css} on {}: {e}\n{}",
                self.path().await,
                self.page_text().await
            ),
        }
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("element text")
    }

    pub async fn page_text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("current URL")
            .path()
            .to_owned()
    }

    /// Types into a field, replacing what it had.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.wait_for(css).await;
        field.clear().await.expect("clear field");
        field.send_keys(value).await.expect("type into field");
    }

    /// Sets a field's value directly (date-time inputs, whose typing depends on the locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        let field = self.wait_for(css).await;
        let el = serde_json::to_value(&field).expect("element reference");
        self.client
            .execute("arguments[0].value = arguments[1];", vec![el, json!(value)])
            .await
            .expect("set value");
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks a submit button and waits for an element of the page that answers. The element is
    /// looked for only once the form's page has gone, since it may have one of the same id (a
    /// notice from the previous save) that would otherwise be found before the answer arrives.
    pub async fn submit(&self, button: &str, then: &str) -> Element {
        let before = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("the page");
        self.click(button).await;
        let deadline = Instant::now() + WAIT;
        // A reference to an element of a page that was replaced is stale: any question fails.
        while before.tag_name().await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "submitting {button} never left {}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.wait_for(then).await
    }

    /// Reloads the page until the element `css` contains `text` (the page does not update by
    /// itself); panics after [`WAIT`].
    pub async fn reload_until(&self, css: &str, text: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            if self.text(css).await.contains(text) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed {text:?}: {}",
                self.text(css).await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
            self.client.refresh().await.expect("reload");
        }
    }

    /// The text of the element `css` as it is now ("" when there is none), read in one step, so
    /// a script replacing the element meanwhile cannot make the read fail.
    pub async fn text_now(&self, css: &str) -> String {
        let text = self
            .client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
                vec![json!(css)],
            )
            .await
            .expect("read text");
        text.as_str().unwrap_or_default().to_owned()
    }

    /// Waits, without reloading, until the element `css` contains `text` (the page's script
    /// changes it); panics after [`WAIT`].
    pub async fn wait_until_text(&self, css: &str, text: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.text_now(css).await.contains(text) {
            assert!(
                Instant::now() < deadline,
                "{css} never showed {text:?}: {}",
                self.text_now(css).await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The value of the cookie `name`.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.client
            .get_all_cookies()
            .await
            .expect("cookies")
            .into_iter()
            .find(|c| c.name() == name)
            .map(|c| c.value().to_owned())
    }

    /// A PNG of the page at this viewport size, written to `path`.
    pub async fn screenshot(&self, path: &Path, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize");
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot directory");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Ends the browser session and ChromeDriver.
    pub async fn finish(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        self.stop_driver();
    }

    fn stop_driver(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        // The whole process group: ChromeDriver and any browser it started.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop_driver();
    }
}
