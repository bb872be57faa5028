//! Outbound HTTP: one polite client, a size cap, and failure classes.
//!
//! Every connector fetches through [`Fetcher::get`], which first passes the
//! host's politeness gate, then reads the body up to a size cap, and turns
//! every way a shop can refuse into a [`FetchError`] whose [`FailureClass`]
//! decides what happens next: back off, retry later, or report the source as
//! blocked. None of them ever means "sold out".
//!
//! Every request goes through the [outbound policy](crate::outbound): an
//! address that is not public (unless the operator trusts it) is refused as
//! [`FetchError::Refused`] before anything is sent, and redirects are
//! followed here one hop at a time, each checked again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use url::Url;

use crate::body::Body;
use crate::outbound::{Outbound, Policy, MAX_REDIRECTS};
use crate::politeness::{Gates, Outcome};

/// Dropwatch says who it is on every request; it never pretends to be a browser.
pub const USER_AGENT: &str = concat!(
    "Dropwatch/",
    env!("CARGO_PKG_VERSION"),
    " (self-hosted price and stock monitor)"
);

/// How a request failed, in the words the UI and the poll-run records use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// 401: the store is behind its password page. Not an outage.
    PasswordProtected,
    /// 429 or 430: slow down; `Retry-After` is honoured.
    RateLimited,
    /// 5xx: the shop's problem; retried later.
    ServerError,
    /// No answer in time.
    Timeout,
    /// Could not connect at all.
    Unreachable,
    /// Something other than the catalogue came back (HTML, a challenge, garbage).
    Blocked,
    /// The body is larger than the configured cap.
    TooLarge,
    /// Another unexpected HTTP status (404, ...).
    HttpError,
    /// Our own gate refused: the host is in back-off or its circuit breaker is open.
    BackingOff,
    /// The answer came, but what the source should say (a price) could not
    /// be read from it: the data is missing or contradicts itself.
    Unreadable,
    /// An API refused our credentials (a wrong username, password or key).
    Refused,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::PasswordProtected => "password_protected",
            FailureClass::RateLimited => "rate_limited",
            FailureClass::ServerError => "server_error",
            FailureClass::Timeout => "timeout",
            FailureClass::Unreachable => "unreachable",
            FailureClass::Blocked => "blocked",
            FailureClass::TooLarge => "too_large",
            FailureClass::HttpError => "http_error",
            FailureClass::BackingOff => "backing_off",
            FailureClass::Unreadable => "unreadable",
            FailureClass::Refused => "refused",
        }
    }

    /// Whether this answer means "the source is not showing us its catalogue",
    /// which raises a `blocked` event (as opposed to a passing failure).
    pub fn is_blocked(self) -> bool {
        matches!(
            self,
            FailureClass::Blocked | FailureClass::PasswordProtected
        )
    }
}

/// A failed fetch, with a message a user can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("the store is password protected (HTTP 401): it shows its password page instead of the catalogue")]
    PasswordProtected,
    #[error("rate limited (HTTP {status}){}", retry_after_text(*.retry_after))]
    RateLimited {
        status: u16,
        retry_after: Option<Duration>,
    },
    #[error("the shop's server failed (HTTP {status}); will retry later")]
    Server { status: u16 },
    #[error("no answer within {0:?}; will retry later")]
    Timeout(Duration),
    #[error("could not connect: {0}")]
    Unreachable(String),
    #[error("blocked: {0}")]
    Blocked(String),
    #[error("the answer is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("unexpected HTTP status {status}")]
    Http { status: u16 },
    #[error("host {host} is backing off until {until} after repeated failures")]
    BackingOff { host: String, until: DateTime<Utc> },
    #[error("host {host}: circuit breaker open until {until} after repeated failures")]
    CircuitOpen { host: String, until: DateTime<Utc> },
    #[error("{0}")]
    Unreadable(String),
    #[error("{0}")]
    Refused(String),
}

fn retry_after_text(d: Option<Duration>) -> String {
    d.map(|d| format!("; asked to wait {}s", d.as_secs()))
        .unwrap_or_default()
}

impl FetchError {
    pub fn class(&self) -> FailureClass {
        match self {
            FetchError::PasswordProtected => FailureClass::PasswordProtected,
            FetchError::RateLimited { .. } => FailureClass::RateLimited,
            FetchError::Server { .. } => FailureClass::ServerError,
            FetchError::Timeout(_) => FailureClass::Timeout,
            FetchError::Unreachable(_) => FailureClass::Unreachable,
            FetchError::Blocked(_) => FailureClass::Blocked,
            FetchError::TooLarge { .. } => FailureClass::TooLarge,
            FetchError::Http { .. } => FailureClass::HttpError,
            FetchError::BackingOff { .. } | FetchError::CircuitOpen { .. } => {
                FailureClass::BackingOff
            }
            FetchError::Unreadable(_) => FailureClass::Unreadable,
            FetchError::Refused(_) => FailureClass::Refused,
        }
    }
}

/// Limits for outbound requests.
#[derive(Clone, Debug)]
pub struct FetchLimits {
    pub timeout: Duration,
    pub max_body_bytes: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            timeout: Duration::from_secs(20),
            max_body_bytes: 4 * 1024 * 1024,
        }
    }
}

/// The HTTP client every connector shares.
pub struct Fetcher {
    outbound: Outbound,
    limits: FetchLimits,
    pub gates: Gates,
}

impl Fetcher {
    pub fn new(limits: FetchLimits, gates: Gates, policy: std::sync::Arc<Policy>) -> Self {
        let (timeout, connect) = (limits.timeout, limits.timeout.min(Duration::from_secs(10)));
        let outbound = Outbound::new(policy, |b| {
            b.user_agent(USER_AGENT)
                .timeout(timeout)
                .connect_timeout(connect)
        });
        Fetcher {
            outbound,
            limits,
            gates,
        }
    }

    /// The outbound policy every request of this fetcher follows.
    pub fn policy(&self) -> &std::sync::Arc<Policy> {
        self.outbound.policy()
    }

    /// GETs `url` as JSON through the host's politeness gate.
    pub async fn get_json(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        Ok(self.get(url, false, &[]).await?.into_vec())
    }

    /// [`Fetcher::get_json`], the body as it came (digest it before
    /// copying it, see `body.rs`).
    pub async fn get_json_body(&self, url: &Url) -> Result<Body, FetchError> {
        self.get(url, false, &[]).await
    }

    /// GETs `url` as JSON with these extra headers (an API's key).
    pub async fn get_json_with(
        &self,
        url: &Url,
        headers: &[(String, String)],
    ) -> Result<Vec<u8>, FetchError> {
        Ok(self.get(url, false, headers).await?.into_vec())
    }

    /// GETs a web page (HTML) through the host's politeness gate.
    pub async fn get_html(&self, url: &Url) -> Result<String, FetchError> {
        Ok(self.get_page(url).await?.into_text())
    }

    /// [`Fetcher::get_html`], the body as it came (digest it before
    /// copying it, see `body.rs`).
    pub async fn get_page(&self, url: &Url) -> Result<Body, FetchError> {
        self.get(url, true, &[]).await
    }

    async fn get(
        &self,
        url: &Url,
        html: bool,
        headers: &[(String, String)],
    ) -> Result<Body, FetchError> {
        let host = host_key(url);
        let permit = self.gates.acquire(&host).await?;
        let result = self.get_unguarded(url, html, headers).await;
        self.gates.report(permit, outcome_of(&result));
        result
    }

    /// Sends a request an API connector built (a POST, Basic auth, its own
    /// headers) through the host's politeness gate, and lets the connector
    /// say what the answer means: APIs give statuses their own meanings
    /// (Oxylabs' 401 is a wrong password, Pop Mart's 471 a firewall block).
    /// Transport failures, time-outs and the size cap are handled here.
    pub async fn exchange<T>(
        &self,
        request: reqwest::RequestBuilder,
        classify: impl FnOnce(Answer) -> Result<T, FetchError>,
    ) -> Result<T, FetchError> {
        let request = request.build().map_err(|e| {
            FetchError::Unreadable(format!("the request could not be made: {}", root_cause(&e)))
        })?;
        let client = self
            .outbound
            .client_for(request.url())
            .map_err(|e| FetchError::Refused(e.to_string()))?;
        let permit = self.gates.acquire(&host_key(request.url())).await?;
        let result = async {
            let response = client
                .execute(request)
                .await
                .map_err(|e| self.transport_error(e))?;
            let status = response.status().as_u16();
            let retry_after = retry_after(response.headers());
            let html = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.contains("text/html"));
            let body = self.read_capped(response).await?.into_vec();
            classify(Answer {
                status,
                retry_after,
                html,
                body,
            })
        }
        .await;
        self.gates.report(permit, outcome_of(&result));
        result
    }

    /// The shared client, for connectors that build their own requests
    /// (sent with [`Fetcher::exchange`], which does not follow redirects:
    /// an API that answers with one gets it classified as it is).
    pub fn client(&self) -> &reqwest::Client {
        self.outbound.builder()
    }

    async fn get_unguarded(
        &self,
        url: &Url,
        want_html: bool,
        headers: &[(String, String)],
    ) -> Result<Body, FetchError> {
        let accept = if want_html {
            "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
        } else {
            "application/json"
        };
        let mut hop = url.clone();
        let mut hops = 0;
        let response = loop {
            let client = self
                .outbound
                .client_for(&hop)
                .map_err(|e| FetchError::Refused(e.to_string()))?;
            let mut request = client
                .get(hop.clone())
                .header(reqwest::header::ACCEPT, accept);
            // The source's headers (an API key) go to its own host only,
            // never to a host a redirect leads to.
            if host_key(&hop) == host_key(url) {
                for (name, value) in headers {
                    // Marked sensitive: never printed by reqwest's or our Debug.
                    let mut v = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
                        FetchError::Unreadable(format!(
                            "the value of the header {name} is not valid in HTTP"
                        ))
                    })?;
                    v.set_sensitive(true);
                    request = request.header(name.as_str(), v);
                }
            }
            let response = request.send().await.map_err(|e| self.transport_error(e))?;
            match self.outbound.redirect(&hop, &response) {
                None => break response,
                Some(_) if hops >= MAX_REDIRECTS => {
                    return Err(FetchError::Refused(
                        crate::outbound::Refused::TooManyRedirects.to_string(),
                    ))
                }
                Some(Err(refused)) => {
                    return Err(FetchError::Refused(format!(
                        "a redirect was refused: {refused}"
                    )))
                }
                Some(Ok(next)) => {
                    hop = next;
                    hops += 1;
                }
            }
        };
        let status = response.status().as_u16();
        match status {
            200..=299 => {}
            401 => return Err(FetchError::PasswordProtected),
            403 => {
                return Err(FetchError::Blocked(
                    "HTTP 403: the shop refused the request (a firewall or challenge page)".into(),
                ))
            }
            429 | 430 => {
                return Err(FetchError::RateLimited {
                    status,
                    retry_after: retry_after(response.headers()),
                })
            }
            // WooCommerce's Store API limits with a 400 and its own header.
            400 if response.headers().contains_key(RATELIMIT_RETRY_AFTER) => {
                return Err(FetchError::RateLimited {
                    status,
                    retry_after: retry_after(response.headers()),
                })
            }
            500..=599 => return Err(FetchError::Server { status }),
            _ => return Err(FetchError::Http { status }),
        }
        let is_html = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("text/html"));
        let body = self.read_capped(response).await?;
        if is_html && !want_html {
            return Err(FetchError::Blocked(
                "an HTML page came back where JSON was expected (a challenge or error page)".into(),
            ));
        }
        Ok(body)
    }

    async fn read_capped(&self, response: reqwest::Response) -> Result<Body, FetchError> {
        let limit = self.limits.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|len| usize::try_from(len).map_or(true, |len| len > limit))
        {
            return Err(FetchError::TooLarge { limit });
        }
        // Kept as the chunks that came (see `body.rs`).
        let mut body = Body::default();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.transport_error(e))?;
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.push(chunk);
        }
        Ok(body)
    }

    fn transport_error(&self, e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.limits.timeout);
        }
        // The resolver's refusal (a name with only private addresses) is
        // the policy speaking, not a network failure.
        let mut cause: &(dyn std::error::Error + 'static) = &e;
        while let Some(next) = cause.source() {
            if let Some(r) = next.downcast_ref::<crate::outbound::Refused>() {
                return FetchError::Refused(r.to_string());
            }
            cause = next;
        }
        FetchError::Unreachable(root_cause(&e))
    }
}

/// What an API answered, for its connector to classify.
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// Whether it says it is an HTML page.
    pub html: bool,
    pub body: Vec<u8>,
}

/// What a request's result tells the host's gate.
fn outcome_of<T>(result: &Result<T, FetchError>) -> Outcome {
    match result {
        Ok(_)
        | Err(FetchError::PasswordProtected)
        | Err(FetchError::Http { .. })
        | Err(FetchError::Refused(_)) => Outcome::Ok,
        Err(FetchError::RateLimited {
            status,
            retry_after,
        }) => Outcome::RateLimited {
            retry_after: *retry_after,
            security_rejection: *status == 430,
        },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// The wait WooCommerce's Store API asks for (it sends no `Retry-After`).
const RATELIMIT_RETRY_AFTER: &str = "ratelimit-retry-after";

/// `Retry-After` (else `RateLimit-Retry-After`) as seconds or an HTTP date,
/// at most an hour (see [`crate::bounds`]).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(RETRY_AFTER)
        .or_else(|| headers.get(RATELIMIT_RETRY_AFTER))?
        .to_str()
        .ok()?;
    crate::bounds::retry_after(value, Utc::now(), crate::bounds::MAX_WAIT)
}

/// The politeness key of a URL: host and port.
pub fn host_key(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.as_str().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = (Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(100) && d <= Duration::from_secs(120));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("10000000000000000000"),
        );
        assert_eq!(retry_after(&h), Some(crate::bounds::MAX_WAIT));
        // WooCommerce's own header, when there is no Retry-After.
        let mut woo = HeaderMap::new();
        woo.insert(RATELIMIT_RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&woo), Some(Duration::from_secs(7)));
    }
}
