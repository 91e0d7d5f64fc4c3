//! A real Herald for each test (`herald_test_support::TestApp`: `herald::startup::Application`
//! on port 0 with its own SQLite file), a client of it, and the [`guide!`] macro that runs each
//! test in both wire formats.

use herald_client::{Client, Format};
pub use herald_test_support::{TestApp, KEY};

/// A client of a test server.
pub trait ClientOf {
    /// A client of this server speaking `format`.
    fn client(&self, format: Format) -> Client;
}

impl ClientOf for TestApp {
    fn client(&self, format: Format) -> Client {
        Client::new(&self.address, KEY).unwrap().with_format(format)
    }
}

/// Writes each test once and runs it in both formats:
/// `guide! { async fn name(herald, server) { …; Ok(()) } }` generates `json::name` and
/// `xml::name`, where `herald` is a [`Client`] of a fresh server and `server` the [`TestApp`].
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
                    let $server = $crate::server::TestApp::spawn().await;
                    #[allow(unused_variables)]
                    let $herald = $crate::server::ClientOf::client(&$server, herald_client::Format::$format);
                    $body
                }
            )*
        }
    };
}
