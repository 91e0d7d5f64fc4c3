//! A loopback port where connections are refused, for as long as the test holds it.
//!
//! Binding a listener to port 0 and dropping it gives a port nothing listens on, but only for a
//! moment: the next test to bind port 0 may get the same one, and then the first test's Herald
//! delivers to the second test's server. A socket that is bound but never listens keeps the
//! port for itself while the kernel refuses every connection to it.

use std::net::SocketAddr;

use tokio::net::TcpSocket;

/// A port on 127.0.0.1 that refuses connections until this is dropped.
pub struct RefusedPort {
    _socket: TcpSocket,
    addr: SocketAddr,
}

impl RefusedPort {
    pub fn new() -> RefusedPort {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind a loopback port");
        let addr = socket.local_addr().expect("its address");
        RefusedPort {
            _socket: socket,
            addr,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Default for RefusedPort {
    fn default() -> Self {
        RefusedPort::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_are_refused_and_the_port_stays_taken() {
        let refused = RefusedPort::new();
        let err = tokio::net::TcpStream::connect(refused.addr())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(
            std::net::TcpListener::bind(refused.addr()).is_err(),
            "nobody else gets it"
        );
    }
}
