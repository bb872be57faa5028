//! Load generators for the benchmarks against the real binary (issues 22
//! and 23): `live_storm`, `load` and `soak` in `src/bin`. A crate of its own
//! so that a release build of it takes a few minutes (tokio, reqwest without
//! TLS, tungstenite), not a second release build of SurrealDB.
//!
//! What they share: starting it (the
//! release build, `DW_BIN`) on a free port with the demo store, signing in
//! and making an admin token, live sockets, the server's memory and CPU
//! from /proc, and percentiles.

use std::time::Duration;

use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub const PASSWORD: &str = "bench-admin-password";

pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    pub http: reqwest::Client,
    pub token: String,
    /// The admin's session cookie (for the pages).
    pub cookie: String,
    /// The server's working directory and database, removed at the end.
    pub dir: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Server {
    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        r.json().await.unwrap_or(Value::Null)
    }

    pub async fn post(&self, path: &str, body: Value) -> u16 {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        r.status().as_u16()
    }

    /// (current, peak) resident memory in MB, from /proc.
    pub fn rss_mb(&self) -> (f64, f64) {
        (self.status_mb("VmRSS:"), self.status_mb("VmHWM:"))
    }

    /// The server's resident memory in MB as (heap and other anonymous
    /// memory, mapped files: mostly its own code).
    pub fn rss_parts_mb(&self) -> (f64, f64) {
        (self.status_mb("RssAnon:"), self.status_mb("RssFile:"))
    }

    /// "RSS 155 MB (heap 93, code and files 62; peak 159 MB)".
    pub fn memory(&self) -> String {
        let (rss, peak) = self.rss_mb();
        let (anon, file) = self.rss_parts_mb();
        format!("RSS {rss:.0} MB (heap {anon:.0}, code and files {file:.0}; peak {peak:.0} MB)")
    }

    /// A `kB` line of the server's `/proc/PID/status`, in MB.
    fn status_mb(&self, key: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    }

    /// Starts the peak RSS afresh (Linux: `5` to `/proc/PID/clear_refs`), so
    /// that a phase's peak is not a set-up's.
    pub fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

/// Starts the binary with `products` demo products and `extra` flags.
pub async fn start(products: usize, extra: &[&str]) -> Server {
    start_with(products, extra, &[]).await
}

/// [`start`] with environment variables (`extra` may name its own `--db`).
pub async fn start_with(products: usize, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let bin = std::env::var("DW_BIN").unwrap_or_else(|_| {
        let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
        format!("{dir}/release/dropwatch")
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("dropwatch-bench-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let child = std::process::Command::new(&bin)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}")])
        .args(if extra.contains(&"--db") {
            vec![]
        } else {
            // On disk, as users run it (`DW_DB` to compare, e.g. mem://).
            let db = std::env::var("DW_DB")
                .unwrap_or_else(|_| format!("surrealkv://{}/db", dir.display()));
            vec!["--db".to_string(), db]
        })
        .args(if extra.contains(&"--demo-interval") {
            &[][..]
        } else {
            &["--demo-interval", "1s"][..]
        })
        .args([
            "--demo-products",
            &products.to_string(),
            "--admin-password",
            PASSWORD,
        ])
        .args(if extra.contains(&"--demo-change-every") {
            &[][..]
        } else {
            &["--demo-change-every", "off"][..]
        })
        .args(extra)
        .current_dir(&dir)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        // As users run it: a developer's RUST_BACKTRACE=1 makes every error
        // inside the database capture a backtrace (a few % of CPU).
        .env_remove("RUST_BACKTRACE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{bin}: {e} (build it with scripts/bench-storm.sh)"));
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for _ in 0..600 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Sign in, and make a token for the rest.
    let r = http
        .post(format!("{base}/auth/login"))
        .form(&[("name", "admin"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix("dw_session=")
                .map(|r| r.split(';').next().unwrap().to_string())
        })
        .expect("the admin signs in");
    let t: Value = http
        .post(format!("{base}/api/v1/tokens"))
        .header("cookie", format!("dw_session={cookie}"))
        .header("origin", &base)
        .json(&json!({ "name": "bench", "role": "admin" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = t["secret"].as_str().unwrap().to_string();
    Server {
        child,
        base,
        dir,
        http,
        token,
        cookie,
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn socket(s: &Server, since: u64) -> Socket {
    socket_at(&s.base, &s.token, since).await
}

/// A live socket to the server at `base` (`http://...`) with an API token.
pub async fn socket_at(base: &str, token: &str, since: u64) -> Socket {
    let url = format!(
        "{}/api/live?since={since}",
        base.replace("http://", "ws://")
    );
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

pub fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

impl Server {
    /// CPU seconds the server has used (user + system), from /proc.
    pub fn cpu_secs(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces) start after ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, r)| r.split_whitespace().collect())
            .unwrap_or_default();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 (11 and 12 after the name).
        (ticks(11) + ticks(12)) / 100.0
    }

    /// A page or an API path as the signed-in admin, and how long it took (ms).
    pub async fn timed(&self, path: &str) -> Result<f64, String> {
        let t = std::time::Instant::now();
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("dw_session={}", self.cookie))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        r.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{path}: {status}"));
        }
        Ok(t.elapsed().as_secs_f64() * 1000.0)
    }

    /// The sum of a counter over its labels, from /metrics.
    pub async fn counter(&self, name: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .map(|r| r.text())
            .ok();
        let text = match text {
            Some(t) => t.await.unwrap_or_default(),
            None => String::new(),
        };
        text.lines()
            .filter(|l| {
                l.starts_with(name)
                    && (l.as_bytes().get(name.len()) == Some(&b'{')
                        || l.as_bytes().get(name.len()) == Some(&b' '))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}
