//! A real Herald for each test: `herald::startup::Application` on port 0 with its own SQLite
//! file, and the [`guide!`] macro that runs each test in both wire formats.

use herald::config::{Config, Key};
use herald::domain::ApiKey;
use herald::live_settings::set_api_key;
use herald::startup::Application;
use herald::store::Store;
use herald_client::{Client, Format};

/// The API key every test server uses.
pub const KEY: &str = "d5XNMpburJBfJVJd";

/// A running Herald, stopped when dropped.
pub struct Herald {
    pub address: String,
    /// The server's database, for checking what the API cannot show.
    pub store: Store,
    stop: Box<dyn Fn() + Send + Sync>,
    _dir: tempfile::TempDir,
}

impl Herald {
    pub async fn start() -> Herald {
        Herald::start_with(|c| c).await
    }

    /// Starts Herald with the test configuration changed by `adjust` (a mail server, say).
    pub async fn start_with(adjust: impl FnOnce(Config) -> Config) -> Herald {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("herald.db").display());
        let config = Config::default()
            .with(Key::Database, url)
            .with(Key::Bind, "127.0.0.1:0");
        let (app, _first_run) = Application::build(adjust(config))
            .await
            .expect("Herald starts");
        set_api_key(app.store(), &ApiKey::parse(KEY).unwrap())
            .await
            .unwrap();
        app.settings().refresh(app.store()).await.unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let store = app.store().clone();
        let token = app.shutdown_token();
        tokio::spawn(app.run_until_stopped());
        Herald {
            address,
            store,
            stop: Box::new(move || token.cancel()),
            _dir: dir,
        }
    }

    /// A client of this server speaking `format`.
    pub fn client(&self, format: Format) -> Client {
        Client::new(&self.address, KEY).unwrap().with_format(format)
    }
}

impl Drop for Herald {
    fn drop(&mut self) {
        (self.stop)();
    }
}

/// Writes each test once and runs it in both formats:
/// `guide! { async fn name(herald, server) { …; Ok(()) } }` generates `json::name` and
/// `xml::name`, where `herald` is a [`Client`] of a fresh server and `server` the [`Herald`].
#[macro_export]
macro_rules! guide {
    ($($(#[$meta:meta])* async fn $name:ident($herald:ident, $server:ident) $body:block)*) => {
        $crate::guide!(@format json, Json, $($(#[$meta])* async fn $name($herald, $server) $body)*);
        $crate::guide!(@format xml, Xml, $($(#[$meta])* async fn $name($herald, $server) $body)*);
    };
    (@format $module:ident, $format:ident, $($(#[$meta:meta])* async fn $name:ident($herald:ident, $server:ident) $body:block)*) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test]
                async fn $name() -> Result<(), herald_client::Error> {
                    #[allow(unused_variables)]
                    let $server = $crate::server::Herald::start().await;
                    #[allow(unused_variables)]
                    let $herald = $server.client(herald_client::Format::$format);
                    $body
                }
            )*
        }
    };
}
