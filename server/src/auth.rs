//! Who is asking, and may they? The gate every request passes, and the
//! sign-in, first-admin setup and sign-out endpoints.
//!
//! The gate resolves an [`Identity`] from an `Authorization: Bearer` API
//! token or the session cookie (or lets visitors in as anonymous viewers
//! with `--anonymous viewer`), refuses cross-site requests made with the
//! cookie, sends visitors without an identity to the sign-in page (pages) or
//! answers 401 (API), and puts the identity in the request's extensions. The
//! server functions, REST handlers and the socket then check the role the
//! action needs ([`Identity::require`]), so a role is enforced on the server
//! whatever the UI shows.
//!
//! CSRF: the session cookie is `SameSite=Lax`, and every state-changing
//! request that relies on it must come with an `Origin` (or, failing that, a
//! `Referer`) of this server. Browsers always send one on POST; a page on
//! another site cannot forge it. Token-authenticated requests carry no
//! ambient credential, so they need no such check.
//!
//! The built-in demo shop is public (it stands in for someone else's store),
//! but its control API, which sets the prices, stock and faults the poller
//! sees, is for editors and admins like any other change.
//!
//! Sign-in attempts are throttled per account and client address
//! (`monitor::auth::limit`); the address is the connection's peer, or what a
//! `--trusted-proxy` says in `X-Forwarded-For` (`client.rs`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use model::Role;
use monitor::auth::{AuthError, Credential, Identity, SESSION_COOKIE, SESSION_TTL};

use crate::problem::Problem;
use crate::serve::AppState;

/// Paths anyone may reach: health, sign-in, static files, the demo shop
/// (a stand-in for someone else's store), the API's description, and the
/// shop's webhooks (which carry their own signature).
fn public(path: &str) -> bool {
    const EXACT: &[&str] = &[
        "/healthz",
        "/readyz",
        "/login",
        "/setup",
        "/auth/login",
        "/auth/setup",
        "/api/whoami",
        "/favicon.svg",
        "/manifest.webmanifest",
        "/sw.js",
        "/offline.html",
        "/api/v1/openapi.json",
        "/api/docs",
        "/demo",
        // Signed by the shop (HMAC over the body), not by a session.
        "/webhooks/shopify",
    ];
    const PREFIX: &[&str] = &["/pkg/", "/icons/", "/demo/"];
    if demo_control(path) {
        return false;
    }
    EXACT.contains(&path) || PREFIX.iter().any(|p| path.starts_with(p))
}

/// The control API of the demo shop and of the demo's fake Shopify Admin,
/// Oxylabs and Pop Mart: tests and demos drive them; editors and up only.
/// (`dropwatch demo-store` serves its own control API without this gate.)
fn demo_control(path: &str) -> bool {
    const CONTROL: &[&str] = &[
        "/demo/control/",
        "/demo/shop/admin-control/",
        "/demo/oxylabs/control/",
        "/demo/popmart/control/",
    ];
    CONTROL.iter().any(|p| path.starts_with(p))
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The origin this server is reached at, as the browser names it.
fn own_origin(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(o) = &state.public_origin {
        return Some(o.clone());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("http");
    Some(format!("{scheme}://{host}"))
}

/// Whether the request says it comes from one of our own pages.
pub fn same_origin(state: &AppState, headers: &HeaderMap, required: bool) -> bool {
    let Some(own) = own_origin(state, headers) else {
        return false;
    };
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            let r = headers.get(header::REFERER)?.to_str().ok()?;
            let u = url::Url::parse(r).ok()?;
            Some(u.origin().ascii_serialization())
        });
    match origin {
        Some(o) => o == own,
        None => !required,
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"))
}

fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Resolves who the request is from; `Err` is the answer to send instead.
/// (The credentials are read out of the headers beforehand: the request
/// itself cannot be held across the lookups' awaits.)
async fn resolve(
    state: &AppState,
    bearer: Option<&str>,
    session: Option<&str>,
    path: &str,
) -> Result<Option<Identity>, Response> {
    let accounts = &state.accounts;
    if let Some(presented) = bearer {
        if path == "/metrics" {
            if let Some(t) = &state.metrics_token {
                if monitor::auth::secret::same(t, presented) {
                    let mut who = Identity::anonymous(Role::Viewer);
                    who.label = "metrics token".into();
                    return Ok(Some(who));
                }
            }
        }
        return match accounts.token(presented).await {
            Ok(Some(who)) => Ok(Some(who)),
            Ok(None) => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "The API token is not valid",
                "It is malformed, unknown, or was revoked. Create a new one on the account page.",
            )
            .into_response()),
            Err(e) => Err(Problem::from(e).into_response()),
        };
    }
    if let Some(c) = session {
        match accounts.session(c).await {
            Ok(Some(who)) => return Ok(Some(who)),
            Ok(None) => {}
            Err(e) => return Err(Problem::from(e).into_response()),
        }
    }
    Ok(state.anonymous.map(Identity::anonymous))
}

/// The middleware in front of every route.
pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let presented = bearer(req.headers()).map(str::to_string);
    let session = cookie(req.headers(), SESSION_COOKIE);
    let who = match resolve(&state, presented.as_deref(), session.as_deref(), &path).await {
        Ok(w) => w,
        Err(resp) => return resp,
    };
    let by_cookie = matches!(
        who.as_ref().map(|w| &w.credential),
        Some(Credential::Session(_))
    );
    // Public routes do not act on the session (sign-in checks its own origin).
    if unsafe_method(req.method())
        && by_cookie
        && !public(&path)
        && !same_origin(&state, req.headers(), true)
    {
        tracing::warn!(path = %path, "refused a cross-site request made with a session cookie");
        return Problem::new(
            StatusCode::FORBIDDEN,
            "Cross-site request refused",
            "Changes made with a signed-in browser must come from Dropwatch's own pages.",
        )
        .into_response();
    }
    if demo_control(&path) {
        if let Some(Err(e)) = who.as_ref().map(|w| w.require(Role::Editor)) {
            return Problem::from(e).into_response();
        }
    }
    match who {
        Some(who) => {
            req.extensions_mut().insert(who);
        }
        None if public(&path) => {}
        None => {
            if req.method() == Method::GET && wants_html(req.headers()) {
                let next_url = req
                    .uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let to = format!("/login?next={}", urlencode(next_url));
                return Redirect::to(&to).into_response();
            }
            let mut resp = Problem::new(
                StatusCode::UNAUTHORIZED,
                "Sign in first",
                "Sign in with a session cookie (the login page) or send `Authorization: Bearer <API token>`.",
            )
            .into_response();
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return resp;
        }
    }
    next.run(req).await
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `Secure` whenever the page is served over HTTPS (directly, through a
/// proxy that says `X-Forwarded-Proto: https`, or `--public-url https://..`).
/// Over plain HTTP a browser would drop a Secure cookie and sign-in would not
/// stick, so there it is left off; put Dropwatch behind HTTPS when it is
/// reachable beyond a trusted network.
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    own_origin(state, headers).is_some_and(|o| o.starts_with("https://"))
}

fn session_cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let mut c =
        format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}");
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are base64url")
}

#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
}

/// A failed form: back to its page with the message (browsers), or a
/// problem document (programs).
fn form_failure(
    headers: &HeaderMap,
    page: &str,
    params: &[(&str, &str)],
    problem: Problem,
) -> Response {
    if wants_html(headers) {
        let q: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .chain([format!("error={}", urlencode(&problem.detail))])
            .collect();
        Redirect::to(&format!("{page}?{}", q.join("&"))).into_response()
    } else {
        problem.into_response()
    }
}

fn signed_in(state: &AppState, headers: &HeaderMap, cookie: &str, next: &str) -> Response {
    let mut resp = Redirect::to(next).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(cookie, SESSION_TTL.as_secs(), secure(state, headers)),
    );
    resp
}

/// `POST /auth/login` (form: name, password, next).
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = crate::next_path::local(form.next.as_deref());
    if !same_origin(&state, &headers, false) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "Cross-site sign-in refused",
            "Sign in from Dropwatch's own login page.",
        )
        .into_response();
    }
    match state
        .accounts
        .login(
            &form.name,
            &form.password,
            Some(client(&state, peer, &headers)),
        )
        .await
    {
        Ok((cookie, _)) => signed_in(&state, &headers, &cookie, &next),
        Err(e) => {
            let params = [("name", form.name.as_str()), ("next", next.as_str())];
            form_failure(&headers, "/login", &params, Problem::from(e))
        }
    }
}

#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    name: String,
    password: String,
    password2: String,
}

/// `POST /auth/setup`: the first admin, with the one-time link's token.
pub async fn setup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Response {
    if !same_origin(&state, &headers, false) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "Cross-site request refused",
            "Use the setup page.",
        )
        .into_response();
    }
    let params = [("token", form.token.as_str()), ("name", form.name.as_str())];
    if form.password != form.password2 {
        let p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Passwords differ",
            "The two passwords are not the same.",
        );
        return form_failure(&headers, "/setup", &params, p);
    }
    if let Err(e) = state
        .accounts
        .setup_admin(&form.token, &form.name, &form.password)
        .await
    {
        return form_failure(&headers, "/setup", &params, Problem::from(e));
    }
    match state
        .accounts
        .login(
            &form.name,
            &form.password,
            Some(client(&state, peer, &headers)),
        )
        .await
    {
        Ok((cookie, who)) => {
            tracing::info!(user = ?who.viewer.user, "first admin created");
            // The first-run page: what the demo is and how to go on.
            signed_in(&state, &headers, &cookie, "/?welcome")
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

/// The client's address, for throttling sign-ins.
fn client(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    crate::client::address(peer.ip(), headers, &state.trusted_proxies)
}

/// `POST /auth/logout`: ends this browser's session.
pub async fn logout(State(state): State<AppState>, req: Request) -> Response {
    if let Some(who) = req.extensions().get::<Identity>() {
        if let Err(e) = state.accounts.logout(who).await {
            return Problem::from(e).into_response();
        }
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie("", 0, secure(&state, req.headers())),
    );
    resp
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Problem {
        let (status, title) = match &e {
            AuthError::BadLogin => (StatusCode::UNAUTHORIZED, "Sign-in failed"),
            AuthError::Throttled(_) | AuthError::Busy => {
                (StatusCode::TOO_MANY_REQUESTS, "Too many attempts")
            }
            AuthError::Unauthenticated => (StatusCode::UNAUTHORIZED, "Sign in first"),
            AuthError::Forbidden { .. } | AuthError::SessionOnly(_) => {
                (StatusCode::FORBIDDEN, "Not allowed")
            }
            AuthError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "Invalid request"),
            AuthError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
            AuthError::Store(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "The database did not answer",
            ),
        };
        let mut p = Problem::new(status, title, &e.to_string());
        match e {
            // Rounded up: a client that waits exactly this long is let in.
            AuthError::Throttled(wait) => {
                p.retry_after = Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
            }
            AuthError::Busy => p.retry_after = Some(1),
            _ => {}
        }
        p
    }
}
