//! The server's own doors under attack, against the running binary, each
//! test checking what the attacker (or the user) would notice: the demo's
//! control API, password guessing in parallel and through a proxy, the live
//! socket opened from another origin, other host names (DNS rebinding), the
//! page after sign-in, metric labels made up by strangers, tokens making
//! tokens, an admin's password reset, and a channel answering with an
//! endless error page.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{server_fn_name, server_fns, start, Auth, Server, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Signs in as the admin through the login form, optionally through a proxy
/// that says the client is `forwarded_for`.
async fn sign_in(
    s: &Server,
    password: &str,
    forwarded_for: Option<&str>,
    next: &str,
) -> reqwest::Response {
    let mut req = s.http.post(s.url("/auth/login")).form(&[
        ("name", "admin"),
        ("password", password),
        ("next", next),
    ]);
    if let Some(client) = forwarded_for {
        req = req.header("x-forwarded-for", client);
    }
    req.send().await.unwrap()
}

fn session_of(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("dw_session="))
        .map(|v| v.split(';').next().unwrap().to_string())
}

fn port_of(s: &Server) -> u16 {
    s.base.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_demo_control_api_needs_an_editor_while_the_shop_stays_public() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    // The shop stands in for someone else's store: anyone may read it.
    let (status, _) = s
        .call(Method::GET, "/demo/products.json", &Auth::None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // Its control API, and the fakes' behind it, are not open to strangers.
    for path in [
        "/demo/control/state",
        "/demo/shop/admin-control/state",
        "/demo/oxylabs/control/state",
        "/demo/popmart/control/state",
    ] {
        let (status, body) = s.call(Method::GET, path, &Auth::None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
    }
    let change = json!({ "variant_id": 1, "price": "1.00" });
    let (status, _) = s
        .call(
            Method::POST,
            "/demo/control/price",
            &Auth::None,
            Some(change),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .call(Method::DELETE, "/demo/control/fault", &Auth::None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let admin = s.admin().await;
    let viewer = s.user(&admin, "vera", "viewer").await;
    let editor = s.user(&admin, "ed", "editor").await;
    let (status, _) = s
        .call(
            Method::GET,
            "/demo/control/state",
            &Auth::Cookie(viewer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer changes nothing");
    let (status, state) = s
        .call(
            Method::GET,
            "/demo/control/state",
            &Auth::Cookie(editor.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{state}");
    let sample = serde_json::from_str::<Value>(&state).unwrap()["sample_variants"][0].clone();
    let change = json!({ "variant_id": sample["variant_id"], "price": "987.65" });
    // The editor's cookie from another site: refused like any change.
    let (status, _) = s
        .call(
            Method::POST,
            "/demo/control/price",
            &Auth::CrossSite(editor.clone()),
            Some(change.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = s
        .call(
            Method::POST,
            "/demo/control/price",
            &Auth::Cookie(editor.clone()),
            Some(change),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, products) = s
        .call(
            Method::GET,
            "/demo/products.json?limit=250",
            &Auth::None,
            None,
        )
        .await;
    assert!(products.contains("987.65"), "the shop shows the new price");
    // An editor's token drives the fakes too.
    let token = s.token(&editor, "editor").await;
    let (status, _) = s
        .call(
            Method::GET,
            "/demo/oxylabs/control/state",
            &Auth::Token(token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn parallel_guesses_are_counted_before_hashing_and_the_owner_still_signs_in() {
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--trusted-proxy",
            "127.0.0.1/32",
        ],
        &[],
    );
    let stranger = "203.0.113.7";
    // Twenty guesses at once from one address (behind the trusted proxy).
    let guesses = (0..20).map(|n| {
        let s = &s;
        async move { sign_in(s, &format!("guess-number-{n}"), Some(stranger), "/").await }
    });
    let answers = futures::future::join_all(guesses).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + refused, 20, "{statuses:?}");
    assert!(
        (1..=5).contains(&checked),
        "at most five of the guesses had their password checked: {statuses:?}"
    );
    for r in answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
    {
        let retry: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=15 * 60).contains(&retry), "{retry}");
    }
    // That address now waits, even with the right password, and cannot slip
    // out by naming another client in front of itself (the proxy appended
    // the address it really saw).
    let r = sign_in(&s, ADMIN_PASSWORD, Some(stranger), "/").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let spoofed = format!("198.51.100.20, {stranger}");
    let r = sign_in(&s, ADMIN_PASSWORD, Some(&spoofed), "/").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The admin, at another address behind the same proxy, is not locked out.
    let r = sign_in(&s, ADMIN_PASSWORD, Some("198.51.100.20"), "/").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(session_of(&r).is_some());

    // Without --trusted-proxy the header is the client's own word, ignored:
    // naming a new address each time does not get past the lock.
    let direct = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    for n in 0..5 {
        let r = sign_in(&direct, "wrong-guess", Some(&format!("192.0.2.{n}")), "/").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = sign_in(&direct, ADMIN_PASSWORD, Some("198.51.100.20"), "/").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_live_socket_opens_with_the_cookie_only_from_our_own_origin() {
    use futures::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Error;

    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = s.admin().await;
    let url = s.base.replace("http://", "ws://") + "/api/live?since=0";
    let from = |origin: &str| {
        let mut req = url.as_str().into_client_request().unwrap();
        let h = req.headers_mut();
        h.insert("cookie", format!("dw_session={admin}").parse().unwrap());
        h.insert("origin", origin.parse().unwrap());
        req
    };
    // Another site, and another port of the same host (SameSite=Lax would
    // still send it the cookie): refused.
    let neighbour = format!("http://127.0.0.1:{}", port_of(&s) + 1);
    for origin in ["http://evil.example", neighbour.as_str()] {
        match tokio_tungstenite::connect_async(from(origin)).await {
            Err(Error::Http(resp)) => assert_eq!(resp.status(), StatusCode::FORBIDDEN.as_u16()),
            Err(e) => panic!("{origin}: {e}"),
            Ok(_) => panic!("a page at {origin} opened the live feed with the cookie"),
        }
    }
    // Dropwatch's own page: the feed flows.
    let (mut socket, _) = tokio_tungstenite::connect_async(from(&s.base))
        .await
        .expect("our own page opens the socket");
    let first = tokio::time::timeout(Duration::from_secs(30), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.to_text().unwrap().contains("\"seq\""), "{first:?}");
}

#[tokio::test]
async fn requests_naming_another_host_are_refused() {
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--allowed-host",
            "dropwatch.lan",
            "--public-url",
            "https://watch.example.com",
        ],
        &[],
    );
    let port = port_of(&s);
    let with_host = |method: Method, path: &'static str, host: String| {
        let s = &s;
        async move {
            s.http
                .request(method, s.url(path))
                .header("host", host)
                .send()
                .await
                .unwrap()
        }
    };
    // A DNS-rebinding page: its own name, pointed at this machine.
    let r = with_host(Method::GET, "/healthz", format!("attacker.example:{port}")).await;
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    let body = r.text().await.unwrap();
    assert!(body.contains("--allowed-host attacker.example"), "{body}");
    // Nor can it guess passwords from the victim's own address.
    let r = with_host(
        Method::POST,
        "/auth/login",
        format!("attacker.example:{port}"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    // Addresses, localhost, --allowed-host and --public-url's host work.
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("dropwatch.lan:{port}"),
        "watch.example.com".to_string(),
    ] {
        let r = with_host(Method::GET, "/healthz", host.clone()).await;
        assert_eq!(r.status(), StatusCode::OK, "{host}");
    }
}

#[tokio::test]
async fn the_page_after_sign_in_is_always_on_this_site() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let base = url::Url::parse(&s.base).unwrap();
    for next in [
        "/\t/evil.example",
        "/%09/evil.example",
        "/\\evil.example",
        "/%5C/evil.example",
        "/\t\\evil.example",
        "//evil.example",
        "/..//evil.example",
        "https://evil.example/",
    ] {
        let r = sign_in(&s, ADMIN_PASSWORD, None, next).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        let to = r.headers()["location"].to_str().unwrap();
        // Where a browser lands: it drops tabs and reads `\` as `/`, as
        // the url crate does.
        let lands = base.join(to).unwrap();
        assert_eq!(lands.host_str(), base.host_str(), "{next:?} -> {to:?}");
        assert!(!to.contains('\t') && !to.contains('\\'), "{to:?}");
    }
    let r = sign_in(&s, ADMIN_PASSWORD, None, "/sources?q=dunk").await;
    assert_eq!(r.headers()["location"], "/sources?q=dunk");
}

/// The request counter's lines in /metrics.
async fn request_series(s: &Server) -> Vec<String> {
    let (status, text) = s
        .call(
            Method::GET,
            "/metrics",
            &Auth::Token("scrape-token-123456".into()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    text.lines()
        .filter(|l| l.starts_with("dropwatch_http_requests_total{"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn made_up_paths_and_methods_do_not_grow_the_metrics() {
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--metrics-token",
            "scrape-token-123456",
        ],
        &[],
    );
    let before = request_series(&s).await;
    let brew = Method::from_bytes(b"BREW").unwrap();
    for n in 0..50 {
        s.call(Method::GET, &format!("/api/made-up-{n}"), &Auth::None, None)
            .await;
        s.call(
            Method::GET,
            &format!("/no-such-page-{n}"),
            &Auth::None,
            None,
        )
        .await;
        s.call(
            brew.clone(),
            &format!("/api/v1/sources/{n}"),
            &Auth::None,
            None,
        )
        .await;
    }
    let after = request_series(&s).await;
    assert!(
        after
            .iter()
            .all(|l| !l.contains("made-up") && !l.contains("no-such-page") && !l.contains("BREW")),
        "{after:#?}"
    );
    // 150 strange requests: a few shared series (and the scrape itself), not 150.
    assert!(
        after.len() <= before.len() + 5,
        "before: {before:#?}\nafter: {after:#?}"
    );
}

#[tokio::test]
async fn an_api_token_cannot_make_more_tokens() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = s.admin().await;
    let token = s.token(&admin, "admin").await;
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/tokens",
            &Auth::Token(token.clone()),
            Some(json!({ "name": "child", "role": "viewer" })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("signed-in browser"), "{body}");
    // Nor through the account page's server function.
    let fns = server_fns();
    let (_, path) = fns
        .iter()
        .find(|(_, p)| server_fn_name(p) == "create_token")
        .expect("the create_token server function");
    let resp = s
        .http
        .post(s.url(path))
        .headers(s.headers(&Auth::Token(token.clone())))
        .form(&[("name", "child"), ("role", "viewer")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let (_, list) = s
        .call(
            Method::GET,
            "/api/v1/tokens",
            &Auth::Cookie(admin.clone()),
            None,
        )
        .await;
    let list: Vec<Value> = serde_json::from_str(&list).unwrap();
    assert_eq!(
        list.len(),
        1,
        "only the token made in the browser: {list:?}"
    );
    // The signed-in browser still makes them.
    s.token(&admin, "viewer").await;
}

#[tokio::test]
async fn an_admins_password_reset_revokes_the_users_tokens() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = s.admin().await;
    let ed = s.user(&admin, "ed", "editor").await;
    let token = s.token(&ed, "editor").await;
    let (status, _) = s
        .call(Method::GET, "/api/v1/me", &Auth::Token(token.clone()), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .call(
            Method::PATCH,
            "/api/v1/users/ed",
            &Auth::Cookie(admin.clone()),
            Some(json!({ "password": "ed-new-password-2" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = s
        .call(Method::GET, "/api/v1/me", &Auth::Token(token), None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the token went with the reset"
    );
    let (status, _) = s
        .call(Method::GET, "/api/v1/me", &Auth::Cookie(ed), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "so did the sessions");
    assert!(s.login("ed", "ed-new-password-2").await.is_ok());
}

/// A web hook that answers 400 with a body that never ends; returns its
/// `host:port` and how many bytes of body it has written.
async fn endless_error_page() -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = listener.local_addr().unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut request = vec![0u8; 64 * 1024];
                let _ = conn.read(&mut request).await;
                let head = "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n";
                if conn.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let size = 64 * 1024;
                let chunk = format!("{size:x}\r\n{}\r\n", "x".repeat(size));
                while conn.write_all(chunk.as_bytes()).await.is_ok() {
                    counter.fetch_add(size, Ordering::Relaxed);
                }
            });
        }
    });
    (at.to_string(), sent)
}

#[tokio::test]
async fn an_endless_error_page_from_a_channel_is_read_only_so_far() {
    let (hook, sent) = endless_error_page().await;
    // The hook is on this machine, which channels may reach only when allowed.
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--allow-private-networks",
        ],
        &[],
    );
    let admin = s.admin().await;
    let (status, body) = s
        .call(
            Method::POST,
            "/api/v1/channels",
            &Auth::Cookie(admin.clone()),
            Some(json!({ "name": "endless", "url": format!("json://{hook}/hook") })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let (status, body) = s
        .call(
            Method::POST,
            &format!("/api/v1/channels/{id}/test"),
            &Auth::Cookie(admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(result["delivered"], false, "{result}");
    assert!(
        result["error"].as_str().unwrap_or_default().contains("400"),
        "the answer's status is reported: {result}"
    );
    // The sender stopped reading: no waiting for the 15 s timeout, and no
    // more than socket buffers' worth was ever sent.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let total = sent.load(Ordering::Relaxed);
    assert!(total < 64 * 1024 * 1024, "{total} bytes were taken in");
}
