//! The address of the client, also behind reverse proxies and load balancers.
//!
//! Behind a load balancer every connection comes from the balancer, so the sign-in throttle's
//! per-address count would lump every user together (and lock them all out together). With
//! `--trusted-proxies`, a request whose connection comes from a trusted proxy is attributed to
//! the address in `X-Forwarded-For` instead: the list is read from the right, since each proxy
//! appends the address it saw, skipping further trusted proxies; the first address that is not a
//! trusted proxy is the client. Whatever a client wrote into the header itself sits to the left
//! of that, so it is never believed. Without trusted proxies the header is ignored.
//!
//! Hand-written (about twenty lines) because the crates that extract client addresses take one
//! fixed header position rather than a list of trusted networks; networks are parsed by `ipnet`.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses and networks: `10.0.0.0/8, 192.168.1.5, ::1`.
    fn from_str(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("{entry:?} is not an IP address or network (such as 10.0.0.0/8)")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|networks| TrustedProxies(networks.into()))
    }
}

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&ip))
    }

    /// The client's address, given the address the connection came from and the headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.trusts(client) {
            return client;
        }
        // Several header lines count as one list, in order. A line that is not text is skipped:
        // it can only have come from the client, so the addresses to its right still stand.
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|line| line.to_str().ok())
            .flat_map(|line| line.split(','))
            .collect();
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop.trim()) else {
                break;
            };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// `203.0.113.7`, `2001:db8::1`, or with a port as some proxies write it: `203.0.113.7:4711`,
/// `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append("x-forwarded-for", line.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let h = headers(&["203.0.113.7"]);
        assert_eq!(none.client(ip("10.0.0.2"), &h), ip("10.0.0.2"));
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let lb: TrustedProxies = "10.0.0.0/8, 192.168.1.5".parse().unwrap();
        // The client claims to be 1.1.1.1; the balancer appended what it saw.
        let h = headers(&["1.1.1.1, 203.0.113.7"]);
        assert_eq!(lb.client(ip("10.0.0.2"), &h), ip("203.0.113.7"));
        // Two proxies, two header lines.
        let h = headers(&["1.1.1.1", "203.0.113.7, 192.168.1.5"]);
        assert_eq!(lb.client(ip("10.0.0.2"), &h), ip("203.0.113.7"));
        // With a port, IPv6, IPv4-mapped IPv6.
        let h = headers(&["[2001:db8::1]:4711"]);
        assert_eq!(lb.client(ip("10.0.0.2"), &h), ip("2001:db8::1"));
        let h = headers(&["203.0.113.7:4711"]);
        assert_eq!(lb.client(ip("::ffff:10.0.0.2"), &h), ip("203.0.113.7"));
    }

    #[test]
    fn an_untrusted_peer_or_garbage_is_never_believed() {
        let lb: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        // A client talking to Herald directly cannot pretend to be someone else.
        let h = headers(&["198.51.100.1"]);
        assert_eq!(lb.client(ip("203.0.113.7"), &h), ip("203.0.113.7"));
        // No header, or garbage right of the client: the last trusted address stands.
        assert_eq!(lb.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        let h = headers(&["203.0.113.7, not-an-address"]);
        assert_eq!(lb.client(ip("10.0.0.2"), &h), ip("10.0.0.2"));
        // Every hop trusted: the leftmost one.
        let h = headers(&["10.9.9.9, 10.0.0.3"]);
        assert_eq!(lb.client(ip("10.0.0.2"), &h), ip("10.9.9.9"));
    }

    #[test]
    fn lists_are_parsed_with_clear_errors() {
        assert_eq!(
            "".parse::<TrustedProxies>().unwrap(),
            TrustedProxies::default()
        );
        assert!(" 10.0.0.0/8 ,, ::1 ".parse::<TrustedProxies>().is_ok());
        let err = "10.0.0.0/8, proxy.example"
            .parse::<TrustedProxies>()
            .unwrap_err();
        assert!(
            err.contains("\"proxy.example\" is not an IP address"),
            "{err}"
        );
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
    }
}
