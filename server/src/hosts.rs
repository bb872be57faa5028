//! Which names this server answers to: the guard against DNS rebinding.
//!
//! A page on attacker.example can make its own name resolve to 127.0.0.1 (or
//! a LAN address) once it has loaded. The browser then sends that page's
//! requests to Dropwatch as if they were same-origin, with
//! `Host: attacker.example:3000`, and lets the page read the answers. It has
//! no session cookie (that belongs to Dropwatch's own name), but it could
//! read whatever `--anonymous viewer` shows, drive public endpoints and guess
//! passwords from the victim's own address. So a request must name the
//! server by:
//!
//! - an IP address: an address cannot be rebound (a page served from it is
//!   Dropwatch itself), so with `--addr 0.0.0.0:3000` every address of the
//!   machine works;
//! - `localhost` (or a name under `.localhost`), which browsers resolve to
//!   loopback themselves;
//! - the host of `--public-url`, or a name given with `--allowed-host`
//!   (`*` turns the check off).
//!
//! Anything else is answered 421 with the flag that admits the name. Ports
//! are not compared: rebinding needs a name, not a port, and a container or
//! proxy may publish the port under another number.

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use url::{Host, Url};

use crate::problem::Problem;
use crate::serve::AppState;

/// The names (beyond addresses and localhost) requests may use.
#[derive(Clone, Debug, Default)]
pub struct AllowedHosts {
    names: Vec<String>,
    /// `--allowed-host '*'`: any name.
    any: bool,
}

impl AllowedHosts {
    /// From `--public-url` and the `--allowed-host` names (as
    /// [`parse_allowed_host`] left them).
    pub fn new(public_url: Option<&Url>, allowed: &[String]) -> AllowedHosts {
        let mut names: Vec<String> = allowed.iter().filter(|n| *n != "*").cloned().collect();
        if let Some(Host::Domain(d)) = public_url.and_then(|u| u.host()) {
            names.push(normalise(d));
        }
        AllowedHosts {
            names,
            any: allowed.iter().any(|n| n == "*"),
        }
    }

    /// Whether a `Host` header (a name or an address, with or without a
    /// port) names this server.
    pub fn allows(&self, host: &str) -> bool {
        match host_of(host) {
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => true,
            Some(Host::Domain(d)) => {
                let d = normalise(&d);
                self.any || d == "localhost" || d.ends_with(".localhost") || self.names.contains(&d)
            }
            None => self.any,
        }
    }
}

/// A name as compared: lower case, without the root's trailing dot.
fn normalise(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The host in a `Host` header, if the header is nothing but `host[:port]`;
/// parsed as a browser would (so `0x7f.1` is the address 127.0.0.1).
fn host_of(value: &str) -> Option<Host<String>> {
    let u = Url::parse(&format!("http://{value}/")).ok()?;
    let bare = u.username().is_empty()
        && u.password().is_none()
        && u.path() == "/"
        && u.query().is_none()
        && u.fragment().is_none();
    if !bare {
        return None;
    }
    u.host().map(|h| h.to_owned())
}

/// `--allowed-host`: a name (a port is ignored), or `*` for any.
pub fn parse_allowed_host(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s == "*" {
        return Ok(s.into());
    }
    match host_of(s) {
        Some(Host::Domain(d)) if !s.contains("://") => Ok(normalise(&d)),
        Some(_) if !s.contains("://") => Ok(s.to_string()),
        _ => Err(format!(
            "expected a host name such as dropwatch.lan, without scheme or path (got {s:?})"
        )),
    }
}

/// The middleware: refuses requests that name another host.
pub async fn check(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // HTTP/2 names the host in the URI instead. A request naming none at all
    // does not come from a browser, which is what this guards against.
    let host = match req.headers().get(header::HOST) {
        Some(v) => Some(v.to_str().unwrap_or_default().to_string()),
        None => req.uri().authority().map(|a| a.as_str().to_string()),
    };
    match host {
        Some(h) if !state.allowed_hosts.allows(&h) => {
            let shown: String = h.chars().take(100).collect();
            tracing::warn!(host = %shown, "refused a request for another host name");
            let name = match host_of(&h) {
                Some(Host::Domain(d)) => normalise(&d),
                _ => "NAME".into(),
            };
            Problem::new(
                StatusCode::MISDIRECTED_REQUEST,
                "Unknown host name",
                &format!(
                    "This Dropwatch does not answer to {shown:?}. IP addresses and localhost always work; to reach it by this name, start it with --allowed-host {name} (or --public-url https://{name})."
                ),
            )
            .into_response()
        }
        _ => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_localhost_always_pass_and_other_names_do_not() {
        let h = AllowedHosts::new(None, &[]);
        for ok in [
            "127.0.0.1:3000",
            "localhost:3000",
            "LOCALHOST",
            "localhost.:3000",
            "app.localhost:3000",
            "[::1]:3000",
            "192.168.1.20:8080",
            "0x7f.1:3000",
        ] {
            assert!(h.allows(ok), "{ok}");
        }
        for refused in [
            "attacker.example:3000",
            "attacker.example",
            "localhost.attacker.example",
            "127.0.0.1.attacker.example:3000",
            "127.0.0.1:3000@attacker.example",
            "attacker.example/x",
            "",
        ] {
            assert!(!h.allows(refused), "{refused}");
        }
    }

    #[test]
    fn the_public_url_and_allowed_names_pass() {
        let public: Url = "https://Dropwatch.Example.com/".parse().unwrap();
        let allowed = vec![parse_allowed_host("NAS.lan:8080").unwrap()];
        let h = AllowedHosts::new(Some(&public), &allowed);
        assert!(h.allows("dropwatch.example.com"));
        assert!(h.allows("dropwatch.example.com:443"));
        assert!(h.allows("nas.lan:3000"));
        assert!(!h.allows("other.lan:3000"));
        let any = AllowedHosts::new(None, &[parse_allowed_host("*").unwrap()]);
        assert!(any.allows("other.lan:3000"));
    }

    #[test]
    fn allowed_hosts_are_names_not_urls() {
        assert_eq!(parse_allowed_host(" Box.Lan. ").unwrap(), "box.lan");
        assert!(parse_allowed_host("https://box.lan").is_err());
        assert!(parse_allowed_host("box.lan/path").is_err());
    }
}
