//! The client's address, which sign-in throttling counts by.
//!
//! A connection's peer is the client, unless it is one of the reverse
//! proxies named with `--trusted-proxy`. A proxy says whom it serves in
//! `X-Forwarded-For: client, proxy1, proxy2`, each hop appending the address
//! it saw. Only what trusted hops appended can be believed (anything further
//! left came from the client and may be made up), so the client is the
//! right-most entry that is not itself a trusted proxy. Without
//! `--trusted-proxy` the header is ignored: anyone could send it, to escape
//! the throttle or to get someone else throttled.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The address a request comes from, as far as can be believed.
pub fn address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    through(peer, &hops, trusted)
}

/// Walks `X-Forwarded-For` (`hops`, as sent) from the right, from a trusted
/// `peer`, to the first hop that is not a trusted proxy.
fn through(peer: IpAddr, hops: &[&str], trusted: &[IpNet]) -> IpAddr {
    let mut client = peer;
    for hop in hops.iter().rev() {
        // Something that is not an address ends what can be known; the last
        // trusted hop is as far as the chain can be followed.
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(ip, trusted) {
            break;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, perhaps with a port (`1.2.3.4:5`,
/// `[2001:db8::1]:5`) or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })?;
    Some(ip.to_canonical())
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// `--trusted-proxy`: a network (`10.0.0.0/8`) or a single address.
pub fn parse_trusted_proxy(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .map(|net| net.trunc())
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("expected an address or a network, e.g. 127.0.0.1 or 10.0.0.0/8 (got {s:?})")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|n| parse_trusted_proxy(n).unwrap())
            .collect()
    }

    fn from(peer: &str, xff: &[&str], trusted: &[&str]) -> String {
        let mut headers = HeaderMap::new();
        for v in xff {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        address(peer.parse().unwrap(), &headers, &nets(trusted)).to_string()
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client() {
        assert_eq!(from("203.0.113.7", &["198.51.100.1"], &[]), "203.0.113.7");
        assert_eq!(
            from("203.0.113.7", &["198.51.100.1"], &["10.0.0.0/8"]),
            "203.0.113.7",
            "anyone can send the header"
        );
        assert_eq!(from("::ffff:203.0.113.7", &[], &[]), "203.0.113.7");
    }

    #[test]
    fn behind_trusted_proxies_the_right_most_untrusted_hop_is_the_client() {
        let trusted = ["127.0.0.1", "10.0.0.0/8"];
        assert_eq!(
            from("127.0.0.1", &["198.51.100.1"], &trusted),
            "198.51.100.1"
        );
        // The client made up the left-most entry; the proxy appended the real one.
        assert_eq!(
            from("127.0.0.1", &["192.0.2.99, 198.51.100.1"], &trusted),
            "198.51.100.1"
        );
        // Two proxies, one after the other, and the header split over two lines.
        assert_eq!(
            from(
                "10.0.0.2",
                &["192.0.2.99, 198.51.100.1", "10.0.0.3"],
                &trusted
            ),
            "198.51.100.1"
        );
        // Ports and brackets.
        assert_eq!(
            from("127.0.0.1", &["198.51.100.1:4711"], &trusted),
            "198.51.100.1"
        );
        assert_eq!(
            from("127.0.0.1", &["[2001:db8::5]:4711"], &trusted),
            "2001:db8::5"
        );
        assert_eq!(
            from("127.0.0.1", &["[2001:db8::5]"], &trusted),
            "2001:db8::5"
        );
    }

    #[test]
    fn what_cannot_be_followed_stops_at_the_last_trusted_hop() {
        let trusted = ["127.0.0.1", "10.0.0.0/8"];
        assert_eq!(from("127.0.0.1", &[], &trusted), "127.0.0.1");
        assert_eq!(from("127.0.0.1", &["unknown"], &trusted), "127.0.0.1");
        assert_eq!(
            from("127.0.0.1", &["garbage, 10.0.0.3"], &trusted),
            "10.0.0.3"
        );
        // Only trusted hops: the left-most is as far as it goes.
        assert_eq!(
            from("127.0.0.1", &["10.0.0.9, 10.0.0.3"], &trusted),
            "10.0.0.9"
        );
    }

    #[test]
    fn proxies_are_given_as_networks_or_addresses() {
        assert_eq!(
            parse_trusted_proxy("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_trusted_proxy(" 127.0.0.1 ").unwrap().to_string(),
            "127.0.0.1/32"
        );
        assert_eq!(parse_trusted_proxy("::1").unwrap().to_string(), "::1/128");
        assert!(parse_trusted_proxy("proxy.lan").is_err());
    }
}
