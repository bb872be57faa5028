//! The outbound address policy: where Dropwatch may connect on someone's behalf.
//!
//! Editors type shop and API addresses, channel URLs and (any signed-in user)
//! web-push endpoints; shops answer with `next` links and redirects. Left
//! alone, any of them could make the server fetch its own machine, the LAN or
//! a cloud metadata service (`169.254.169.254`) and show the answer back in a
//! preview, a product title or a "Send test" error. So every such request
//! goes through one [`Policy`]:
//!
//! - only `http` and `https`;
//! - the host is resolved by Dropwatch ([`PublicResolver`]), addresses that
//!   are not public are dropped, and the connection goes to an address that
//!   was checked (no second lookup, so DNS rebinding cannot swap it);
//!   literal addresses in any spelling (`127.1`, `2130706433`,
//!   `[::ffff:127.0.0.1]`, `0.0.0.0`) are checked before that;
//! - refused: loopback, private (RFC 1918), link-local, carrier-grade NAT
//!   (RFC 6598), unique-local (`fc00::/7`), multicast, unspecified,
//!   broadcast and reserved ranges, and IPv4 addresses inside IPv6 ones
//!   (mapped, compatible, NAT64) that are any of those; the error names the rule;
//! - redirects are followed by the caller one hop at a time, each hop
//!   checked again, at most [`MAX_REDIRECTS`].
//!
//! What the operator configured is trusted: `--source` addresses,
//! `--notify-endpoint`s, connector bases, `--trust-url`, and the built-in
//! demo (only its `/demo/` paths). `--allow-private-networks` lifts the
//! policy for people who watch their own network (and the tests' fakes).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use parking_lot::RwLock;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// The most redirects one request follows.
pub const MAX_REDIRECTS: usize = 5;

/// Why an address was refused, in words that name the rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{url} is not a web address: only http:// and https:// are fetched")]
    Scheme { url: String },
    #[error("{host} is {rule}: Dropwatch does not connect to private networks on a user's behalf (the operator can allow it with --allow-private-networks, or one address with --trust-url)")]
    Private { host: String, rule: &'static str },
    #[error("{host} could not be resolved: {why}")]
    Unresolved { host: String, why: String },
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
}

/// The rule a non-public address falls under, or `None` for a public one.
pub fn private_rule(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_rule(v4),
        IpAddr::V6(v6) => v6_rule(v6),
    }
}

fn v4_rule(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip.is_unspecified() || a == 0 => "an unspecified address (0.0.0.0/8)",
        _ if ip.is_loopback() => "a loopback address (127.0.0.0/8)",
        _ if ip.is_private() => "a private address (RFC 1918)",
        _ if ip.is_link_local() => "a link-local address (169.254.0.0/16, cloud metadata)",
        _ if a == 100 && (64..128).contains(&b) => "a carrier-grade NAT address (RFC 6598)",
        _ if ip.is_multicast() => "a multicast address",
        _ if ip.is_broadcast() => "the broadcast address",
        _ if a >= 240 => "a reserved address (240.0.0.0/4)",
        _ if a == 192 && b == 0 && c == 0 => "an IETF protocol address (192.0.0.0/24)",
        _ if a == 198 && (18..20).contains(&b) => "a benchmarking address (198.18.0.0/15)",
        _ if ip.is_documentation() => "a documentation address",
        _ => return None,
    })
}

fn v6_rule(ip: Ipv6Addr) -> Option<&'static str> {
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), compatible (::a.b.c.d) and
    // the NAT64 prefix (64:ff9b::/96) reach the IPv4 address.
    let seg = ip.segments();
    let embedded = ip.to_ipv4_mapped().or_else(|| {
        let compatible =
            seg[..6].iter().all(|s| *s == 0) && !ip.is_loopback() && !ip.is_unspecified();
        let nat64 = seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6].iter().all(|s| *s == 0);
        (compatible || nat64).then(|| {
            Ipv4Addr::new(
                (seg[6] >> 8) as u8,
                seg[6] as u8,
                (seg[7] >> 8) as u8,
                seg[7] as u8,
            )
        })
    });
    if let Some(v4) = embedded {
        return v4_rule(v4).map(|_| "an IPv4 address inside an IPv6 one that is not public");
    }
    Some(match () {
        _ if ip.is_unspecified() => "an unspecified address (::)",
        _ if ip.is_loopback() => "a loopback address (::1)",
        _ if (seg[0] & 0xfe00) == 0xfc00 => "a unique-local address (fc00::/7)",
        _ if (seg[0] & 0xffc0) == 0xfe80 => "a link-local address (fe80::/10)",
        _ if (seg[0] & 0xffc0) == 0xfec0 => "a site-local address (fec0::/10)",
        _ if ip.is_multicast() => "a multicast address",
        _ if seg[0] == 0x2001 && seg[1] == 0xdb8 => "a documentation address",
        _ if seg[0] == 0x2002 => "a 6to4 address (2002::/16)",
        _ if seg[0] == 0x100 && seg[1..4].iter().all(|s| *s == 0) => {
            "a discard-only address (100::/64)"
        }
        _ => return None,
    })
}

/// How a request to an address may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Through the resolver that keeps only public addresses.
    Public,
    /// The operator's own address (or the policy is lifted): as it is.
    Trusted,
}

/// The policy, shared by every client that fetches on someone's behalf.
#[derive(Debug, Default)]
pub struct Policy {
    allow_private: bool,
    /// `(origin, path prefix)` the operator trusts.
    trusted: RwLock<Vec<(String, String)>>,
}

impl Policy {
    /// Private networks refused (the default of `dropwatch serve`).
    pub fn strict() -> Arc<Policy> {
        Arc::new(Policy::default())
    }

    /// Everything allowed (`--allow-private-networks`, the engine's tests).
    pub fn open() -> Arc<Policy> {
        Arc::new(Policy {
            allow_private: true,
            ..Policy::default()
        })
    }

    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Trusts `base` and everything under it (same scheme, host and port,
    /// paths starting with its path).
    pub fn trust(&self, base: &Url) {
        let prefix = base.path().to_string();
        let entry = (base.origin().ascii_serialization(), prefix);
        let mut t = self.trusted.write();
        if !t.contains(&entry) {
            t.push(entry);
        }
    }

    fn is_trusted(&self, url: &Url) -> bool {
        let origin = url.origin().ascii_serialization();
        self.trusted
            .read()
            .iter()
            .any(|(o, prefix)| *o == origin && url.path().starts_with(prefix.as_str()))
    }

    /// Checks what can be checked without a lookup: the scheme, literal
    /// addresses in every spelling, and `localhost` names. Public names
    /// are checked by [`PublicResolver`] when connecting.
    pub fn check(&self, url: &Url) -> Result<Route, Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::Scheme {
                url: url.as_str().chars().take(200).collect(),
            });
        }
        if self.allow_private || self.is_trusted(url) {
            return Ok(Route::Trusted);
        }
        self.check_host(url.host())?;
        Ok(Route::Public)
    }

    /// The host part of [`Policy::check`], for addresses that are not URLs
    /// (an SMTP server).
    pub fn check_host(&self, host: Option<Host<&str>>) -> Result<(), Refused> {
        if self.allow_private {
            return Ok(());
        }
        let refuse = |host: String, rule| Err(Refused::Private { host, rule });
        match host {
            Some(Host::Ipv4(ip)) => match v4_rule(ip) {
                Some(rule) => refuse(ip.to_string(), rule),
                None => Ok(()),
            },
            Some(Host::Ipv6(ip)) => match v6_rule(ip) {
                Some(rule) => refuse(format!("[{ip}]"), rule),
                None => Ok(()),
            },
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if d == "localhost" || d.ends_with(".localhost") {
                    refuse(d, "a loopback name (localhost)")
                } else {
                    Ok(())
                }
            }
            None => Err(Refused::Scheme {
                url: "an address without a host".into(),
            }),
        }
    }

    /// Resolves `url`'s host now and refuses it when all its addresses are
    /// private: the check made when an address is saved or previewed, so the
    /// user reads why at once. A name that does not resolve now is let
    /// through (the network may be down); every connection is checked again.
    pub async fn check_resolved(&self, url: &Url) -> Result<Route, Refused> {
        let route = self.check(url)?;
        if route == Route::Public {
            if let Some(Host::Domain(d)) = url.host() {
                let port = url.port_or_known_default().unwrap_or(443);
                let lookup =
                    tokio::time::timeout(std::time::Duration::from_secs(3), public_addrs(d, port));
                if let Ok(Err(e @ Refused::Private { .. })) = lookup.await {
                    return Err(e);
                }
            }
        }
        Ok(route)
    }

    /// The addresses of `host` that the policy allows (all of them when it
    /// is lifted or the host is trusted as `host:port`).
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Refused> {
        let bracketed = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let literal = Url::parse(&format!("http://{bracketed}:{port}/")).ok();
        if let Some(ip) = literal.as_ref().and_then(|u| match u.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        }) {
            self.check_host(literal.as_ref().and_then(|u| u.host()))?;
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        if self.allow_private {
            let found =
                tokio::net::lookup_host((host, port))
                    .await
                    .map_err(|e| Refused::Unresolved {
                        host: host.into(),
                        why: e.to_string(),
                    })?;
            return Ok(found.collect());
        }
        self.check_host(Some(Host::Domain(host)))?;
        public_addrs(host, port).await
    }
}

/// The public addresses of a name; refused (naming the rule) when it has none.
async fn public_addrs(host: &str, port: u16) -> Result<Vec<SocketAddr>, Refused> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Refused::Unresolved {
            host: host.into(),
            why: e.to_string(),
        })?
        .collect();
    let public: Vec<SocketAddr> = found
        .iter()
        .copied()
        .filter(|a| private_rule(a.ip()).is_none())
        .collect();
    match (public.is_empty(), found.first()) {
        (false, _) => Ok(public),
        (true, Some(first)) => Err(Refused::Private {
            host: format!("{host} ({})", first.ip()),
            rule: private_rule(first.ip()).unwrap_or("not public"),
        }),
        (true, None) => Err(Refused::Unresolved {
            host: host.into(),
            why: "no addresses".into(),
        }),
    }
}

/// reqwest's resolver for requests on someone's behalf: keeps only public
/// addresses, so the connection goes to one that was checked.
struct PublicResolver;

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs = public_addrs(name.as_str(), 0)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A pair of HTTP clients under one policy: one that connects only to
/// public addresses, one for the operator's trusted ones. Neither follows
/// redirects by itself (see [`Outbound::redirect`]), nor uses a proxy from
/// the environment (it would resolve names itself).
#[derive(Clone)]
pub struct Outbound {
    policy: Arc<Policy>,
    public: reqwest::Client,
    trusted: reqwest::Client,
}

impl Outbound {
    /// Builds both clients with the caller's settings (timeouts, User-Agent).
    pub fn new(
        policy: Arc<Policy>,
        configure: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Outbound {
        let build = |b: reqwest::ClientBuilder| {
            configure(b.redirect(reqwest::redirect::Policy::none()))
                .build()
                .expect("the HTTP client's TLS backend is built in")
        };
        Outbound {
            public: build(
                reqwest::Client::builder()
                    .no_proxy()
                    .dns_resolver(Arc::new(PublicResolver)),
            ),
            trusted: build(reqwest::Client::builder()),
            policy,
        }
    }

    pub fn policy(&self) -> &Arc<Policy> {
        &self.policy
    }

    /// The client that may fetch `url`, or why none may.
    pub fn client_for(&self, url: &Url) -> Result<&reqwest::Client, Refused> {
        Ok(match self.policy.check(url)? {
            Route::Public => &self.public,
            Route::Trusted => &self.trusted,
        })
    }

    /// A client to build requests with (they are sent through
    /// [`Outbound::client_for`] their URL).
    pub fn builder(&self) -> &reqwest::Client {
        &self.public
    }

    /// Where a redirect answer leads, checked like the first request; `None`
    /// when `response` is not a redirect with a usable `Location`.
    pub fn redirect(
        &self,
        from: &Url,
        response: &reqwest::Response,
    ) -> Option<Result<Url, Refused>> {
        if !response.status().is_redirection() {
            return None;
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)?
            .to_str()
            .ok()?;
        let next = from.join(location).ok()?;
        Some(self.policy.check(&next).map(|_| next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> Option<&'static str> {
        match Policy::strict().check(&Url::parse(url).unwrap()) {
            Err(Refused::Private { rule, .. }) => Some(rule),
            Err(e) => panic!("{url}: {e}"),
            Ok(_) => None,
        }
    }

    #[test]
    fn private_addresses_in_every_spelling_are_refused() {
        for url in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://localhost:3000/",
            "http://LOCALHOST./",
            "http://admin.localhost/",
        ] {
            assert!(refused(url).is_some(), "{url} should be refused");
        }
        assert_eq!(
            refused("http://10.1.2.3/"),
            Some("a private address (RFC 1918)")
        );
        assert_eq!(
            refused("http://169.254.169.254/"),
            Some("a link-local address (169.254.0.0/16, cloud metadata)")
        );
    }

    #[test]
    fn public_addresses_and_trusted_ones_pass() {
        let p = Policy::strict();
        for url in [
            "https://kith.com/products.json",
            "http://93.184.216.34/",
            "https://[2606:4700::1111]/",
        ] {
            assert_eq!(
                p.check(&Url::parse(url).unwrap()),
                Ok(Route::Public),
                "{url}"
            );
        }
        assert!(matches!(
            p.check(&Url::parse("file:///etc/passwd").unwrap()),
            Err(Refused::Scheme { .. })
        ));
        assert!(matches!(
            p.check(&Url::parse("gopher://x/").unwrap()),
            Err(Refused::Scheme { .. })
        ));
        p.trust(&Url::parse("http://127.0.0.1:3000/demo/").unwrap());
        assert_eq!(
            p.check(&Url::parse("http://127.0.0.1:3000/demo/products.json").unwrap()),
            Ok(Route::Trusted)
        );
        assert!(
            p.check(&Url::parse("http://127.0.0.1:3000/api/v1/users").unwrap())
                .is_err(),
            "only under the trusted path"
        );
        assert!(
            p.check(&Url::parse("http://127.0.0.1:3001/demo/").unwrap())
                .is_err(),
            "only that port"
        );
        assert_eq!(
            Policy::open().check(&Url::parse("http://10.0.0.1/").unwrap()),
            Ok(Route::Trusted)
        );
    }

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused() {
        let p = Policy::strict();
        // "localhost" is refused by name; a name in /etc/hosts resolving to
        // loopback shows the lookup path.
        let err = p.resolve("localhost", 80).await.unwrap_err();
        assert!(err.to_string().contains("loopback"), "{err}");
        let err = public_addrs("localhost", 80).await.unwrap_err();
        assert!(matches!(err, Refused::Private { .. }), "{err}");
    }
}
