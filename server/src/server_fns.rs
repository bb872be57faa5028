//! The door in front of the pages' server functions (crate `app`): their
//! request bodies are checked before Leptos reads them, so that a body a
//! function cannot take is answered as the client's mistake (4xx), not as
//! the server's (issue 23).
//!
//! leptos_axum hands every `POST /api/<name>` to server_fn, which reads the
//! whole body (up to axum's `DefaultBodyLimit`, 2 MB), decodes the arguments
//! (JSON or a URL-encoded form) and answers *any* failure, its own or the
//! function's, with 500 and the error as `Kind|message` text (server_fn's
//! `ServerFnErrorEncoding`) under a `serverfnerror` header. Around those
//! routes, [`guard`] therefore:
//!
//! - refuses a body over [`BODY_LIMIT`] with 413: at once when its
//!   Content-Length says so, else as soon as reading it passes the limit
//!   (axum's `DefaultBodyLimit` does reach server_fn, which reads through
//!   `into_limited_body`, but its overflow comes out as a 500
//!   `Deserialization|length limit exceeded`);
//! - refuses a Content-Type other than JSON or a form with 415;
//! - refuses a body that is not what its Content-Type says with 400;
//! - turns server_fn's 500 for arguments it could not read (`Args`,
//!   `MissingArg`, `Deserialization`: one missing, or of the wrong type) into
//!   422, as axum's `Json` and `Form` answer on the REST API.
//!
//! Every refusal keeps server_fn's error encoding, because the pages' wasm
//! client decodes the body of any 4xx or 5xx answer with it
//! (`server_fn::Http::run_client`); only the status differs. The functions'
//! own errors (a database failure: `ServerError`) stay 5xx. A plain HTML
//! form post (no wasm) that gets past the checks here is answered by
//! server_fn with a redirect, error or not, and keeps it.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use futures::StreamExt;
use leptos::server_fn::codec::{Json, PostUrl};
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorEncoding, SERVER_FN_ERROR_HEADER};
use leptos::server_fn::{ContentType, ServerFnError};

/// The largest body a server function takes. The pages send a few kilobytes
/// (a source's settings, a rule); a mebibyte leaves room for long pasted
/// lists of ASINs or keywords.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The error kinds server_fn raises while decoding a body into arguments,
/// before the function runs (the text before `|` in its error encoding).
const ARGUMENT_ERRORS: &[&str] = &["Args", "MissingArg", "Deserialization"];

/// How server_fn labels its error answers (`text/plain`): the encoding of
/// [`ServerFnError`], which every server function here returns.
const ERROR_CONTENT_TYPE: &str = ServerFnErrorEncoding::CONTENT_TYPE;

/// The paths of the registered server functions.
type Paths = Arc<HashSet<&'static str>>;

/// Puts the checks in front of the server functions among `router`'s
/// routes; its other routes (the pages) pass through untouched.
pub fn guard<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let paths: Paths = Arc::new(
        leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path)
            .collect(),
    );
    router.layer(middleware::from_fn_with_state(paths, check))
}

async fn check(State(paths): State<Paths>, req: Request, next: Next) -> Response {
    if !paths.contains(req.uri().path()) {
        return next.run(req).await;
    }
    let path = req.uri().path().to_string();
    match read_body(req).await {
        Ok(req) => argument_errors_as_422(next.run(req).await).await,
        Err(refusal) => {
            tracing::debug!(path = %path, "refused a server function's body: {refusal:?}");
            refusal.into_response(&path)
        }
    }
}

/// Why a body is refused before the server function sees it.
#[derive(Debug, PartialEq)]
enum Refusal {
    /// Over [`BODY_LIMIT`].
    TooLarge,
    /// A Content-Type no server function reads (or none, with a body).
    Unsupported(String),
    /// Not what its Content-Type says, or not received whole.
    Malformed(String),
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }

    fn message(&self) -> String {
        match self {
            Refusal::TooLarge => format!(
                "The request body is over {} MiB, the most a server function takes; send less.",
                BODY_LIMIT / (1024 * 1024)
            ),
            Refusal::Unsupported(given) => format!(
                "A server function takes its arguments as {} or {}, not {given}.",
                Json::CONTENT_TYPE,
                PostUrl::CONTENT_TYPE
            ),
            Refusal::Malformed(why) => why.clone(),
        }
    }

    /// The answer, as server_fn itself answers an `Args` error (with this
    /// status), so that the pages' client shows the message.
    fn into_response(self, path: &str) -> Response {
        let err: ServerFnError = ServerFnError::Args(self.message());
        let mut resp = Response::new(Body::from(err.ser()));
        *resp.status_mut() = self.status();
        let headers = resp.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(ERROR_CONTENT_TYPE),
        );
        if let Ok(path) = HeaderValue::from_str(path) {
            headers.insert(SERVER_FN_ERROR_HEADER, path);
        }
        resp
    }
}

/// How a body says its arguments are encoded.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Encoding {
    Json,
    Form,
}

/// The encoding a Content-Type names (`None` without one); parameters such
/// as `charset` and the case of the name do not matter.
fn encoding_of(content_type: Option<&HeaderValue>) -> Result<Option<Encoding>, Refusal> {
    let Some(value) = content_type else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    let media = text.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case(Json::CONTENT_TYPE) {
        Ok(Some(Encoding::Json))
    } else if media.eq_ignore_ascii_case(PostUrl::CONTENT_TYPE) {
        Ok(Some(Encoding::Form))
    } else {
        Err(Refusal::Unsupported(format!("{media:?}")))
    }
}

/// The request with its body read whole (at most [`BODY_LIMIT`]) and
/// checked against its Content-Type, or why it is refused.
async fn read_body(req: Request) -> Result<Request, Refusal> {
    let (parts, body) = req.into_parts();
    // Refused before a byte of it is read.
    if declared_length(&parts.headers).is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(Refusal::TooLarge);
    }
    let encoding = encoding_of(parts.headers.get(header::CONTENT_TYPE))?;
    let bytes = collect(body, BODY_LIMIT).await?;
    check_body(encoding, &bytes)?;
    // server_fn reads the arguments from what was read here.
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads `body` whole, giving up as soon as it passes `limit` (a body sent
/// in chunks declares no length).
async fn collect(body: Body, limit: usize) -> Result<Bytes, Refusal> {
    let mut chunks = body.into_data_stream();
    let mut whole = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            Refusal::Malformed(format!("The request body did not arrive whole: {e}."))
        })?;
        if whole.len() + chunk.len() > limit {
            return Err(Refusal::TooLarge);
        }
        whole.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(whole))
}

/// Whether `body` is what its Content-Type says. Stricter than server_fn,
/// which reads `%%%` as a form field of that name and so would call a
/// function without arguments with it.
fn check_body(encoding: Option<Encoding>, body: &[u8]) -> Result<(), Refusal> {
    match encoding {
        None if body.is_empty() => Ok(()),
        None => Err(Refusal::Unsupported("a body without a Content-Type".into())),
        Some(Encoding::Json) => serde_json::from_slice::<serde::de::IgnoredAny>(body)
            .map(|_| ())
            .map_err(|e| {
                Refusal::Malformed(format!(
                    "The body is not JSON ({e}); send the arguments as a JSON object."
                ))
            }),
        Some(Encoding::Form) => check_form(body),
    }
}

/// A URL-encoded form as browsers send one: UTF-8 text in which every `%`
/// starts an escape of two hex digits.
fn check_form(body: &[u8]) -> Result<(), Refusal> {
    if std::str::from_utf8(body).is_err() {
        return Err(Refusal::Malformed(
            "The form is not URL-encoded: it is not UTF-8 text.".into(),
        ));
    }
    for (at, _) in body.iter().enumerate().filter(|(_, b)| **b == b'%') {
        let escape = body.get(at + 1..at + 3);
        if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
            return Err(Refusal::Malformed(format!(
                "The form is not URL-encoded: the % at byte {at} does not start an escape such as %20."
            )));
        }
    }
    Ok(())
}

/// server_fn's answer, with 422 instead of 500 when it could not read the
/// arguments (the body and its encoding stay as they are).
async fn argument_errors_as_422(resp: Response) -> Response {
    if resp.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !resp.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // server_fn builds an error answer from one buffer in memory: reading
    // it back costs nothing and cannot fail.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    parts.status = status_for(parts.status, &bytes);
    Response::from_parts(parts, Body::from(bytes))
}

/// The status for a server function's error answer with `body`, given
/// server_fn's `status`.
fn status_for(status: StatusCode, body: &[u8]) -> StatusCode {
    let kind = body.iter().position(|b| *b == b'|').map(|end| &body[..end]);
    match kind {
        Some(kind)
            if status == StatusCode::INTERNAL_SERVER_ERROR
                && ARGUMENT_ERRORS.iter().any(|k| k.as_bytes() == kind) =>
        {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ct(value: &'static str) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(value))
    }

    #[test]
    fn argument_errors_are_422_and_the_functions_own_errors_stay_500() {
        let server = StatusCode::INTERNAL_SERVER_ERROR;
        // Encoded by server_fn itself, as the pages' client decodes them.
        let unread: [ServerFnError; 3] = [
            ServerFnError::Args("missing field `key`".into()),
            ServerFnError::MissingArg("key".into()),
            ServerFnError::Deserialization("EOF while parsing a value".into()),
        ];
        for err in unread {
            assert_eq!(
                status_for(server, &err.ser()),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{err:?}"
            );
        }
        let db = ServerFnError::new("could not read the latest events: timeout");
        assert_eq!(status_for(server, &db.ser()), server);
        // A status the function chose (401, 403, a redirect) stays.
        let args: ServerFnError = ServerFnError::Args("x".into());
        assert_eq!(
            status_for(StatusCode::FORBIDDEN, &args.ser()),
            StatusCode::FORBIDDEN
        );
        // Not server_fn's encoding: left alone.
        assert_eq!(status_for(server, b"Args"), server);
        assert_eq!(status_for(server, b"upstream failed"), server);
    }

    #[test]
    fn content_types_name_json_or_a_form_and_nothing_else() {
        assert_eq!(encoding_of(None), Ok(None));
        assert_eq!(
            encoding_of(ct("application/json").as_ref()),
            Ok(Some(Encoding::Json))
        );
        assert_eq!(
            encoding_of(ct("Application/JSON; charset=utf-8").as_ref()),
            Ok(Some(Encoding::Json))
        );
        assert_eq!(
            encoding_of(ct("application/x-www-form-urlencoded;charset=UTF-8").as_ref()),
            Ok(Some(Encoding::Form))
        );
        for other in [
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/jsonx",
            "",
        ] {
            let refused = encoding_of(Some(&HeaderValue::from_static(other))).unwrap_err();
            assert_eq!(
                refused.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{other}"
            );
        }
    }

    #[test]
    fn bodies_must_be_what_their_content_type_says() {
        let form = Some(Encoding::Form);
        let json = Some(Encoding::Json);
        for ok in [
            &b""[..],
            b"key=demo",
            b"a=%20b&c=%7e+d",
            b"name=caf%C3%A9&x=",
        ] {
            assert_eq!(check_body(form, ok), Ok(()), "{ok:?}");
        }
        for bad in [&b"%%%"[..], b"a=100%", b"a=%2", b"a=%zz", b"a=\xff"] {
            let refused = check_body(form, bad).unwrap_err();
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad:?}");
            assert!(refused.message().contains("URL-encoded"), "{bad:?}");
        }
        for ok in [&b"{}"[..], b"{\"key\":\"demo\"}", b" null "] {
            assert_eq!(check_body(json, ok), Ok(()), "{ok:?}");
        }
        for bad in [&b"{"[..], b"", b"key=demo", b"{\"a\":1}}"] {
            let refused = check_body(json, bad).unwrap_err();
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad:?}");
            assert!(refused.message().contains("not JSON"), "{bad:?}");
        }
        // A call without arguments needs no Content-Type; a body does.
        assert_eq!(check_body(None, b""), Ok(()));
        assert_eq!(
            check_body(None, b"key=demo").unwrap_err().status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[tokio::test]
    async fn reading_stops_past_the_limit_even_without_a_declared_length() {
        let at_limit = collect(Body::from(vec![b'a'; BODY_LIMIT]), BODY_LIMIT).await;
        assert_eq!(at_limit.map(|b| b.len()), Ok(BODY_LIMIT));
        let chunks = futures::stream::iter(
            (0..32).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 64 * 1024]))),
        );
        assert_eq!(
            collect(Body::from_stream(chunks), BODY_LIMIT).await,
            Err(Refusal::TooLarge)
        );
    }

    #[tokio::test]
    async fn a_refusal_reads_as_server_fns_own_error_with_its_status() {
        let resp = Refusal::TooLarge.into_response("/api/load_sources123");
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            resp.headers()[SERVER_FN_ERROR_HEADER],
            "/api/load_sources123"
        );
        assert_eq!(resp.headers()[header::CONTENT_TYPE], ERROR_CONTENT_TYPE);
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        // What the pages' client gets from it.
        match <ServerFnError as FromServerFnError>::de(body) {
            ServerFnError::Args(message) => assert!(message.contains("1 MiB"), "{message}"),
            other => panic!("decoded as {other:?}"),
        }
    }
}
