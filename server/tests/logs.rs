//! No secret reaches the logs: the binary runs at debug level through every
//! path that handles one, and its whole output is searched for each.

mod common;

use common::{start, Auth, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn assert_absent(printed: &str, kind: &str, secret: &str) {
    assert!(secret.len() >= 8, "{kind}: a real secret");
    assert!(
        !printed.contains(secret),
        "the {kind} appears in the server's output:\n{}",
        printed
            .lines()
            .filter(|l| l.contains(secret))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn passwords_cookies_tokens_and_keys_stay_out_of_the_logs() {
    let secret_key = "c2VjcmV0LWtleS1mb3ItbG9nLXRlc3RzLTMyYnl0ZXM="; // 32 bytes
    let metrics_token = "metrics-token-for-log-tests";
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--metrics-token",
            metrics_token,
            "--log-json",
        ],
        &[("DROPWATCH_SECRET_KEY", secret_key)],
    );
    let admin = s.admin().await;
    // A failed sign-in and a throttled one log the attempt, not the password.
    let _ = s.login("admin", "a-wrong-guess-password").await;
    let user_cookie = s.user(&admin, "vera", "viewer").await;
    let token = s.token(&admin, "editor").await;
    for auth in [
        Auth::Cookie(admin.clone()),
        Auth::Token(token.clone()),
        Auth::Cookie(user_cookie.clone()),
    ] {
        let (status, _) = s.call(Method::GET, "/api/v1/sources", &auth, None).await;
        assert_eq!(status, StatusCode::OK);
    }
    // A password change, an admin reset, a revoked token used again.
    let (status, _) = s
        .call(
            Method::PATCH,
            "/api/v1/users/vera",
            &Auth::Cookie(admin.clone()),
            Some(json!({ "password": "vera-new-password" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = token.split('_').nth(1).unwrap();
    s.call(
        Method::DELETE,
        &format!("/api/v1/tokens/{id}"),
        &Auth::Cookie(admin.clone()),
        None,
    )
    .await;
    let (status, _) = s
        .call(Method::GET, "/api/v1/me", &Auth::Token(token.clone()), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = s
        .call(
            Method::GET,
            "/metrics",
            &Auth::Token(metrics_token.into()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s
        .call(
            Method::POST,
            "/auth/logout",
            &Auth::Cookie(admin.clone()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let printed = s.printed();
    assert!(
        printed.contains("sign-in failed"),
        "the failure itself is logged:\n{printed}"
    );
    assert!(
        printed.contains("\"path\":\"/api/v1/sources\""),
        "requests are logged (with ids):\n{printed}"
    );
    assert!(printed.contains("\"id\":\""), "request ids");
    assert_absent(&printed, "admin password", ADMIN_PASSWORD);
    assert_absent(&printed, "wrong password", "a-wrong-guess-password");
    assert_absent(&printed, "user password", "vera-password-1");
    assert_absent(&printed, "reset password", "vera-new-password");
    assert_absent(&printed, "admin session cookie", &admin);
    assert_absent(&printed, "user session cookie", &user_cookie);
    assert_absent(&printed, "API token", &token);
    // `dw_<id>_<secret>`; the secret itself may contain `_`.
    let token_secret = token
        .strip_prefix("dw_")
        .and_then(|rest| rest.split_once('_'))
        .map(|(_, secret)| secret)
        .expect("dw_<id>_<secret>");
    assert_absent(&printed, "API token secret", token_secret);
    assert_absent(&printed, "metrics token", metrics_token);
    assert_absent(&printed, "secret key", secret_key);
}

#[tokio::test]
async fn the_setup_link_is_printed_once_and_never_logged() {
    let s = start(&[], &[]);
    let printed = s.printed();
    let link = printed
        .lines()
        .find_map(|l| l.split("Create the first admin at ").nth(1))
        .expect("the one-time link is printed at start")
        .trim()
        .to_string();
    let token = link.split("token=").nth(1).unwrap().to_string();
    let path = link
        .split_once("/setup")
        .map(|(_, p)| format!("/setup{p}"))
        .unwrap();
    let (status, page) = s.call(Method::GET, &path, &Auth::None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Create the first admin"));
    let resp = s
        .http
        .post(s.url("/auth/setup"))
        .form(&[
            ("token", token.as_str()),
            ("name", "boss"),
            ("password", "boss-password-1"),
            ("password2", "boss-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("HttpOnly"));
    // The first-run page says what the demo is and how to go on.
    assert_eq!(resp.headers()["location"], "/?welcome");
    let boss = s.login("boss", "boss-password-1").await.unwrap();
    let (status, first) = s
        .call(Method::GET, "/?welcome", &Auth::Cookie(boss.clone()), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for words in [
        "demo store",
        "To watch a real shop",
        "--no-demo",
        "href=\"/sources\"",
    ] {
        assert!(first.contains(words), "the first-run page says {words:?}");
    }
    let (_, later) = s.call(Method::GET, "/", &Auth::Cookie(boss), None).await;
    assert!(
        !later.contains("Welcome to Dropwatch"),
        "only on the first run"
    );
    // Used: the same link no longer works.
    let again = s
        .http
        .post(s.url("/auth/setup"))
        .form(&[
            ("token", token.as_str()),
            ("name", "eve"),
            ("password", "eve-password-1"),
            ("password2", "eve-password-1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(s.login("eve", "eve-password-1").await.is_err());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let printed = s.printed();
    assert_eq!(
        printed.matches(token.as_str()).count(),
        1,
        "only the start-up line:\n{printed}"
    );
    assert_absent(&printed, "first admin's password", "boss-password-1");
}
