//! Moving in and out with the real binary (issue 19): `dropwatch backup`
//! of a running server over REST, `dropwatch restore` into a new database
//! that a second server then serves with the same products, history, rules
//! and channels; and `dropwatch import` of a list, previewed then applied.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{start, Auth, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A 32-byte secret key, base64 (`--secret-key`).
const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

fn dropwatch(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dropwatch"))
        .args(args)
        .env_remove("DROPWATCH_DB")
        .output()
        .expect("the dropwatch binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn json_of(s: &common::Server, path: &str, auth: &Auth) -> Value {
    let (status, body) = s.call(Method::GET, path, auth, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// The grid's products as stored: each one's deal badge is left out, since
/// it is not stored but worked out again by each server from the stored
/// history (a second or so after it starts).
async fn products(s: &common::Server, auth: &Auth) -> Value {
    for _ in 0..150 {
        let mut v = json_of(s, "/api/v1/products", auth).await;
        if v["matched"].as_u64() == Some(20) {
            for p in v["products"].as_array_mut().into_iter().flatten() {
                if let Some(o) = p.as_object_mut() {
                    o.remove("deal");
                }
            }
            return v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("the demo store's 20 products never showed");
}

#[tokio::test]
async fn a_running_server_is_backed_up_and_restored_into_a_new_database_identical() {
    let dir = std::env::temp_dir().join(format!("dropwatch-moving-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let live_db = dir.join("live/dw").display().to_string();
    // Without the demo's made-up year: it is written in the background, and
    // a backup taken meanwhile would hold part of it.
    let common_args = [
        "--demo-history-products",
        "0",
        "--admin-password",
        ADMIN_PASSWORD,
        "--secret-key",
        KEY,
        "--notify-endpoint",
        "discord=http://127.0.0.1:9/api/webhooks/",
    ];
    let mut args = common_args.to_vec();
    args.extend(["--db", &live_db]);
    let s = start(&args, &[]);
    let cookie = s.admin().await;
    let admin = Auth::Token(s.token(&cookie, "admin").await);
    let before = products(&s, &admin).await;
    let (st, ch) = s
        .call(
            Method::POST,
            "/api/v1/channels",
            &admin,
            Some(json!({"name": "team", "url": "discord://1/secret-token-xyz"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{ch}");
    let ch: Value = serde_json::from_str(&ch).unwrap();
    let (st, rule) = s
        .call(
            Method::POST,
            "/api/v1/rules",
            &admin,
            Some(json!({"condition": {"kind": "restocked"}, "channels": [ch["id"]]})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{rule}");

    // An editor's token may not take the whole database.
    let editor = Auth::Token(s.token(&cookie, "editor").await);
    let (st, _) = s.call(Method::GET, "/api/v1/backup", &editor, None).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    let Auth::Token(token) = &admin else {
        unreachable!()
    };
    let file = dir.join("backup.surql").display().to_string();
    let (ok, said) = dropwatch(&["backup", &file, "--url", &s.base, "--token", token]);
    assert!(ok, "{said}");
    assert!(said.contains("Backed up"), "{said}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("OPTION IMPORT"));
    assert!(
        !text.contains("secret-token-xyz"),
        "secrets stay sealed in a backup"
    );

    let restored_db = dir.join("restored/dw").display().to_string();
    let (ok, said) = dropwatch(&["restore", &file, "--db", &restored_db]);
    assert!(ok, "{said}");
    assert!(said.contains("Restored 1 sources, 20 products"), "{said}");
    let (ok, said) = dropwatch(&["restore", &file, "--db", &restored_db]);
    assert!(!ok && said.contains("not empty"), "{said}");

    let history_path = {
        let key = before["products"][0]["key"].as_str().unwrap();
        format!(
            "/api/v1/products/{}/history",
            url::form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
        )
    };
    let history = json_of(&s, &history_path, &admin).await;
    let rules = json_of(&s, "/api/v1/rules", &admin).await;
    let channels = json_of(&s, "/api/v1/channels", &admin).await;

    let mut args = common_args.to_vec();
    args.extend(["--db", &restored_db, "--no-demo"]);
    let r = start(&args, &[]);
    let cookie = r.login("admin", ADMIN_PASSWORD).await.unwrap();
    let again = Auth::Cookie(cookie);
    let after = products(&r, &again).await;
    assert_eq!(after["matched"], before["matched"]);
    assert_eq!(
        after["products"], before["products"],
        "the dashboard is the same"
    );
    assert_eq!(json_of(&r, &history_path, &again).await, history);
    assert_eq!(json_of(&r, "/api/v1/rules", &again).await, rules);
    assert_eq!(json_of(&r, "/api/v1/channels", &again).await, channels);
    drop(r);
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn dropwatch_import_previews_a_list_then_applies_it_through_the_api() {
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--allow-private-networks",
        ],
        &[],
    );
    let cookie = s.admin().await;
    let token = s.token(&cookie, "editor").await;
    let auth = Auth::Token(token.clone());
    let sources = json_of(&s, "/api/v1/sources", &auth).await;
    let demo = sources[0]["source"]["url"].as_str().unwrap().to_string();
    let dir = std::env::temp_dir().join(format!("dropwatch-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("list.csv");
    std::fs::write(
        &list,
        format!("url,interval,name\n{demo}/products/some-shoe,90,A shoe\n{demo},,\nnot a url,,\n"),
    )
    .unwrap();
    let list = list.display().to_string();

    let (ok, said) = dropwatch(&["import", &list, "--url", &s.base, "--token", &token]);
    assert!(ok, "{said}");
    assert!(said.contains("will add       page"), "{said}");
    assert!(said.contains("already here   shopify"), "{said}");
    assert!(said.contains("refused"), "{said}");
    assert!(said.contains("--apply"), "{said}");
    assert_eq!(
        json_of(&s, "/api/v1/sources", &auth)
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let (ok, said) = dropwatch(&[
        "import", &list, "--url", &s.base, "--token", &token, "--apply",
    ]);
    assert!(ok, "{said}");
    assert!(said.contains("added 1 source"), "{said}");
    let now = json_of(&s, "/api/v1/sources", &auth).await;
    let added = now
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["source"]["name"] == "A shoe")
        .expect("the page source");
    assert_eq!(added["source"]["interval_secs"], 90);

    // A wrong token: a clear error, non-zero exit.
    let (ok, said) = dropwatch(&["import", &list, "--url", &s.base, "--token", "dw_wrong"]);
    assert!(!ok && said.contains("401"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}
