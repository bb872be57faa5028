//! Runs the real `dropwatch` binary on a free port (in-memory database, the
//! demo store inside it) and talks to it over HTTP like any client would.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

pub struct Server {
    child: Child,
    pub base: String,
    /// Everything the process printed (stdout and stderr), as it goes.
    pub output: Arc<Mutex<String>>,
    pub http: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn site_root() -> String {
    // cargo-leptos's output when it was built; the API does not need it.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site");
    root.to_string_lossy().into_owned()
}

pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
    let dir = std::env::temp_dir().join(format!(
        "dropwatch-server-test-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dropwatch"));
    // The defaults, unless the test gives the flag itself.
    let defaults = [
        ("--addr", "127.0.0.1:0"),
        ("--db", "mem://"),
        ("--demo-products", "20"),
        ("--demo-change-every", "off"),
        ("--demo-interval", "1s"),
    ];
    cmd.arg("serve");
    for (flag, value) in defaults {
        if !args.contains(&flag) {
            cmd.args([flag, value]);
        }
    }
    cmd.args(args)
    .current_dir(&dir)
    .env("LEPTOS_OUTPUT_NAME", "dropwatch")
    .env("LEPTOS_SITE_ROOT", site_root())
    .env(
        "RUST_LOG",
        "debug,surrealdb=warn,surrealdb_core=warn,surrealkv=warn,hyper=info,h2=info,reqwest=info",
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the dropwatch binary runs");
    let output = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    for (stream, tx) in [
        (Box::new(out) as Box<dyn std::io::Read + Send>, Some(tx)),
        (Box::new(err), None),
    ] {
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if let (Some(tx), Some(url)) = (&tx, line.split("open ").nth(1)) {
                    let _ = tx.send(url.split_whitespace().next().unwrap_or("").to_string());
                }
                let mut o = output.lock().unwrap();
                o.push_str(&line);
                o.push('\n');
            }
        });
    }
    let base = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(b) => b,
        Err(_) => panic!("the server did not start:\n{}", output.lock().unwrap()),
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Server {
        child,
        base,
        output,
        http,
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// How a test client authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    /// A session cookie; requests carry our own Origin, as a browser's do.
    Cookie(String),
    /// A session cookie, but the request comes from another site.
    CrossSite(String),
    Token(String),
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn headers(&self, auth: &Auth) -> HeaderMap {
        let mut h = HeaderMap::new();
        match auth {
            Auth::None => {}
            Auth::Cookie(c) => {
                h.insert(
                    "cookie",
                    HeaderValue::from_str(&format!("dw_session={c}")).unwrap(),
                );
                h.insert("origin", HeaderValue::from_str(&self.base).unwrap());
            }
            Auth::CrossSite(c) => {
                h.insert(
                    "cookie",
                    HeaderValue::from_str(&format!("dw_session={c}")).unwrap(),
                );
                h.insert("origin", HeaderValue::from_static("http://evil.example"));
            }
            Auth::Token(t) => {
                h.insert(
                    "authorization",
                    HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
                );
            }
        }
        h
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, String) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .headers(self.headers(auth));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap_or_default())
    }

    /// A request with a body that is not JSON (`content_type`: e.g.
    /// `text/csv`), as a program would send one.
    pub async fn call_text(
        &self,
        method: Method,
        path: &str,
        auth: &Auth,
        content_type: &str,
        body: &str,
    ) -> (StatusCode, String) {
        let resp = self
            .http
            .request(method, self.url(path))
            .headers(self.headers(auth))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap_or_default())
    }

    /// Signs in through the login form; returns the session cookie's value.
    pub async fn login(&self, name: &str, password: &str) -> Result<String, (StatusCode, String)> {
        let resp = self
            .http
            .post(self.url("/auth/login"))
            .form(&[("name", name), ("password", password), ("next", "/")])
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let cookie = resp
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| {
                v.strip_prefix("dw_session=")
                    .map(|r| r.split(';').next().unwrap().to_string())
            });
        match (status, cookie) {
            (StatusCode::SEE_OTHER, Some(c)) => Ok(c),
            _ => Err((status, resp.text().await.unwrap_or_default())),
        }
    }

    pub async fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD)
            .await
            .expect("the admin signs in")
    }

    /// Creates a user as the admin and signs them in.
    pub async fn user(&self, admin: &str, name: &str, role: &str) -> String {
        let pw = format!("{name}-password-1");
        let (s, body) = self
            .call(
                Method::POST,
                "/api/v1/users",
                &Auth::Cookie(admin.into()),
                Some(serde_json::json!({ "name": name, "role": role, "password": pw })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        self.login(name, &pw).await.unwrap()
    }

    /// An API token with `role`, made by the user behind `cookie`.
    pub async fn token(&self, cookie: &str, role: &str) -> String {
        let (s, body) = self
            .call(
                Method::POST,
                "/api/v1/tokens",
                &Auth::Cookie(cookie.into()),
                Some(serde_json::json!({ "name": format!("{role} token"), "role": role })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn printed(&self) -> String {
        self.output.lock().unwrap().clone()
    }
}

/// Every server function the pages can call ("POST /api/..." lines).
pub fn server_fns() -> Vec<(String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_dropwatch"))
        .arg("server-fns")
        .output()
        .expect("dropwatch server-fns runs");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

/// "/api/load_sources12345" -> "load_sources".
pub fn server_fn_name(path: &str) -> String {
    path.trim_start_matches("/api/")
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .to_string()
}
