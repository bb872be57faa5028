//! The pages' server functions fed bodies they cannot take, against the
//! running binary, signed in as the admin (issue 23): every one of them
//! answers a malformed body, another Content-Type or missing arguments as
//! the client's mistake (4xx, saying what is wrong), never with a 500; a body
//! over the limit is refused with 413 without being read, and the server
//! carries on.

mod common;

use std::time::Duration;

use app::access::READ_ONLY_SERVER_FNS;
use common::{server_fn_name, server_fns, start, Auth, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// Server functions with no argument a call must give (they take none, or
/// only optional ones): a body without arguments is a proper call to them.
const NOTHING_REQUIRED: &[&str] = &[
    "whoami",
    "load_account",
    "load_users",
    "load_audit",
    "load_alerts",
    "load_sources",
    "load_status",
    "load_repricing",
    "use_offered_accounts",
    "connect_offered_shop",
    "connect_shop",
    "set_webhook_secret",
    "search_store",
    "link_product",
    "save_markup",
    "remove_markup",
    "approve_selected",
    "save_rule",
    "import_links",
    "import_sources",
    "load_picks",
    "clear_picks",
];

/// The path of the server function `name`, among `fns`.
fn path_of(fns: &[(String, String)], name: &str) -> String {
    fns.iter()
        .find(|(_, p)| server_fn_name(p) == name)
        .map(|(_, p)| p.clone())
        .unwrap_or_else(|| panic!("{name} is a server function"))
}

async fn post(
    s: &Server,
    path: &str,
    auth: &Auth,
    content_type: &str,
    body: &'static str,
) -> (StatusCode, String) {
    let resp = s
        .http
        .post(s.url(path))
        .headers(s.headers(auth))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn every_server_function_answers_a_body_it_cannot_take_with_a_client_error() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = Auth::Cookie(s.admin().await);
    let fns = server_fns();
    assert!(fns.len() >= 15, "the registry lists the server functions");
    for name in NOTHING_REQUIRED {
        assert!(
            fns.iter().any(|(_, p)| server_fn_name(p) == *name),
            "{name} is a server function"
        );
    }

    for (_, path) in &fns {
        let name = server_fn_name(path);

        // Not what the Content-Type says: 400, saying so, in the encoding
        // the pages' client decodes.
        for (content_type, body, says) in [(FORM, "%%%", "URL-encoded"), (JSON, "{", "not JSON")] {
            let (status, text) = post(&s, path, &admin, content_type, body).await;
            let what = format!("{name} with {body:?} as {content_type}");
            assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {text}");
            assert!(
                text.starts_with("Args|") && text.contains(says),
                "{what} says what is wrong: {text}"
            );
        }

        // A body no server function reads.
        let (status, text) = post(&s, path, &admin, "text/plain", "key=demo").await;
        assert_eq!(
            status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{name} with text/plain: {text}"
        );
        assert!(text.contains(JSON) && text.contains(FORM), "{name}: {text}");

        // No arguments, as the pages encode them (JSON for reads, a form
        // for changes) and the other way.
        let (own, other) = if READ_ONLY_SERVER_FNS.contains(&name.as_str()) {
            ((JSON, "{}"), (FORM, ""))
        } else {
            ((FORM, ""), (JSON, "{}"))
        };
        let required = !NOTHING_REQUIRED.contains(&name.as_str());
        for (content_type, body) in [own, other] {
            let (status, text) = post(&s, path, &admin, content_type, body).await;
            let what = format!("{name} without arguments ({content_type} {body:?})");
            assert!(
                !status.is_server_error(),
                "{what} answered {status}: {text}"
            );
            if required {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {text}");
            }
            if required && (content_type, body) == own {
                assert!(
                    text.contains("missing field"),
                    "{what} names the missing argument: {text}"
                );
            }
        }
    }

    // The functions still work with proper bodies.
    let (status, text) = post(&s, &path_of(&fns, "load_status"), &admin, JSON, "{}").await;
    assert_eq!(status, StatusCode::OK, "{text}");
}

/// POSTs `body` (after `headers`) to `path` by hand, as the admin with a
/// form's Content-Type, and returns the answer's status line and headers.
/// Writing stops quietly where the server stops reading: the answer is what
/// counts, and it must come within 30 s, whether or not the body was sent.
async fn raw_post(s: &Server, path: &str, cookie: &str, headers: &str, body: Vec<u8>) -> String {
    let addr = s.base.trim_start_matches("http://").to_string();
    let (mut from, mut to) = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap()
        .into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\norigin: {}\r\ncookie: dw_session={cookie}\r\n\
         content-type: {FORM}\r\n{headers}\r\n",
        s.base
    );
    let writer = tokio::spawn(async move {
        if to.write_all(head.as_bytes()).await.is_ok() {
            for chunk in body.chunks(64 * 1024) {
                if to.write_all(chunk).await.is_err() {
                    break;
                }
            }
        }
        // Kept open: a server waiting for the rest would wait, not fail.
        to
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the server answers without waiting for the whole body");
    writer.abort();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_body_over_a_mebibyte_is_refused_with_413_and_the_server_carries_on() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let cookie = s.admin().await;
    let fns = server_fns();
    let path = path_of(&fns, "add_source");
    const TEN_MB: usize = 10 * 1024 * 1024;

    let length = format!("content-length: {TEN_MB}\r\n");
    let mut form = b"kind=shopify&url=".to_vec();
    form.resize(TEN_MB, b'a');
    let mut chunked = Vec::new();
    for _ in 0..32 {
        chunked.extend_from_slice(format!("{:x}\r\n", 64 * 1024).as_bytes());
        chunked.resize(chunked.len() + 64 * 1024, b'a');
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    for (what, headers, body) in [
        ("10 MB announced and never sent", length.as_str(), vec![]),
        ("10 MB of a well-formed form", length.as_str(), form),
        (
            "2 MiB in chunks, no length to go by",
            "transfer-encoding: chunked\r\n",
            chunked,
        ),
    ] {
        let answer = raw_post(&s, &path, &cookie, headers, body).await;
        assert!(answer.starts_with("HTTP/1.1 413"), "{what}: {answer}");
    }

    let (status, _) = s.call(Method::GET, "/healthz", &Auth::None, None).await;
    assert_eq!(status, StatusCode::OK, "the server still answers");
    // And the server functions still answer.
    let load_status = path_of(&fns, "load_status");
    let (status, text) = post(&s, &load_status, &Auth::Cookie(cookie), JSON, "{}").await;
    assert_eq!(status, StatusCode::OK, "{text}");
}
