//! Shared set-up for the engine's integration tests: a demo store on a free
//! loopback port, an engine on `mem://` (or a file), and helpers to drive both.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use model::{Event, EventKind, Source};
use monitor::demo::{DemoConfig, DemoStore, Fault, FaultSetting};
use monitor::fetch::FetchLimits;
use monitor::politeness::Politeness;
use monitor::{Engine, EngineConfig, NewSource, Store};

pub mod surreal;

pub struct Harness {
    pub demo: Arc<DemoStore>,
    pub addr: SocketAddr,
    pub engine: Arc<Engine>,
    pub source: Source,
}

/// Quick politeness so tests don't wait: no spacing, short back-off, and a
/// request never waits more than 200 ms for a back-off deadline.
pub fn quick_config() -> EngineConfig {
    EngineConfig {
        politeness: Politeness {
            max_in_flight: 2,
            min_spacing: Duration::ZERO,
            spacing_jitter: Duration::ZERO,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            security_backoff: Duration::from_millis(50),
            breaker_threshold: 100,
            breaker_cooldown: Duration::from_millis(100),
            max_wait: Duration::from_millis(200),
        },
        limits: FetchLimits {
            timeout: Duration::from_millis(1500),
            max_body_bytes: 4 * 1024 * 1024,
        },
        // The fakes listen on this machine.
        outbound: monitor::outbound::Policy::open(),
        ..EngineConfig::default()
    }
}

/// An alert rule as a user saves it: no cooldown, not paused, made now
/// (the server gives it its id and owner).
pub fn rule(
    name: &str,
    scope: model::Scope,
    condition: model::Condition,
    channels: Vec<String>,
) -> model::Rule {
    model::Rule {
        id: String::new(),
        name: name.into(),
        scope,
        condition,
        channels,
        cooldown_secs: 0,
        paused: false,
        created: chrono::Utc::now(),
        owner: None,
    }
}

pub fn demo_config(products: usize) -> DemoConfig {
    DemoConfig {
        products,
        seed: 11,
        change_every: None,
        changes_per_tick: 0,
    }
}

impl Harness {
    pub async fn new(products: usize) -> Harness {
        Self::with(products, "mem://", quick_config()).await
    }

    pub async fn with(products: usize, db: &str, cfg: EngineConfig) -> Harness {
        let demo = DemoStore::new(&demo_config(products));
        let addr = demo.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
        Self::attach(demo, addr, db, cfg).await
    }

    /// An engine on `mem://` reading a demo store as a source of `kind`
    /// (the demo speaks Shopify's catalogue and WooCommerce's Store API).
    pub async fn of_kind(products: usize, kind: &str) -> Harness {
        let demo = DemoStore::new(&demo_config(products));
        let addr = demo.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
        Self::attach_as(demo, addr, "mem://", quick_config(), kind).await
    }

    /// An engine on `db` watching an already running demo store.
    pub async fn attach(
        demo: Arc<DemoStore>,
        addr: SocketAddr,
        db: &str,
        cfg: EngineConfig,
    ) -> Harness {
        Self::attach_as(demo, addr, db, cfg, "shopify").await
    }

    async fn attach_as(
        demo: Arc<DemoStore>,
        addr: SocketAddr,
        db: &str,
        cfg: EngineConfig,
        kind: &str,
    ) -> Harness {
        let store = Store::open(db).await.expect("store opens");
        let engine = Engine::open(store, cfg).await.expect("engine opens");
        let source = engine
            .add_source(NewSource {
                name: Some("Demo".into()),
                currency: Some("USD".into()),
                ..NewSource::new(kind, &format!("http://{addr}"), Duration::from_secs(3600))
            })
            .await
            .expect("source added");
        Harness {
            demo,
            addr,
            engine,
            source,
        }
    }

    pub async fn check(&self) -> model::PollRun {
        self.engine
            .check_now(&self.source.key)
            .await
            .expect("run recorded")
    }

    pub async fn events(&self) -> Vec<Event> {
        self.engine
            .store()
            .events_since(0, 1_000_000)
            .await
            .unwrap()
    }

    pub async fn events_after(&self, seq: u64) -> Vec<Event> {
        self.engine
            .store()
            .events_since(seq, 1_000_000)
            .await
            .unwrap()
    }

    pub fn fault(&self, kind: Fault, retry_after: Option<u64>) {
        self.demo.set_fault(Some(FaultSetting {
            kind,
            retry_after,
            retry_after_raw: None,
            from_page: None,
        }));
    }

    /// (product id, variant id, available) of the first product's `j`-th size.
    pub fn variant(&self, i: usize, j: usize) -> (u64, u64, bool) {
        let cat = self.demo.catalogue.lock();
        let p = &cat.products[i];
        (p.id, p.variants[j].id, p.variants[j].available)
    }

    /// The fake Shopify Admin API of "the user's own store", mirroring the
    /// demo catalogue's first `products` products, served on a free port.
    /// Returns it and its base URL.
    pub async fn fake_admin(
        &self,
        token: &str,
        products: usize,
    ) -> (Arc<monitor::demo::admin::FakeAdmin>, String) {
        let admin = {
            let cat = self.demo.catalogue.lock();
            monitor::demo::admin::FakeAdmin::new(token, &cat, products.min(cat.products.len()))
        };
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let app = admin.router();
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        (admin, url)
    }

    /// HTTP POST to the demo store's control API, as the e2e tests do.
    pub async fn control(&self, path: &str, body: serde_json::Value) -> u16 {
        reqwest::Client::new()
            .post(format!("http://{}/control/{path}", self.addr))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// A fresh directory under the system's temp dir, removed when dropped.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("dropwatch-{label}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

/// Whether any file under `dir` (a database's files) holds `secret` as is.
pub fn files_contain(dir: &std::path::Path, secret: &str) -> bool {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = vec![];
    walk(dir, &mut files);
    files.iter().any(|f| {
        std::fs::read(f)
            .unwrap_or_default()
            .windows(secret.len())
            .any(|w| w == secret.as_bytes())
    })
}

/// What a fake webhook received: when, and the JSON body.
pub type Received = Arc<std::sync::Mutex<Vec<(chrono::DateTime<chrono::Utc>, serde_json::Value)>>>;

/// A local Discord webhook (answers 204 after `delay`) and the endpoints
/// that send Discord notifications to it.
pub async fn fake_discord(delay: Duration) -> (Received, monitor::alerts::Endpoints) {
    use axum::extract::State;
    let seen: Received = Arc::default();
    let app = axum::Router::new()
        .fallback(
            move |State(s): State<Received>, body: axum::body::Bytes| async move {
                tokio::time::sleep(delay).await;
                s.lock().unwrap().push((
                    chrono::Utc::now(),
                    serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                ));
                axum::http::StatusCode::NO_CONTENT
            },
        )
        .with_state(seen.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let mut at = monitor::alerts::Endpoints::default();
    at.discord = url::Url::parse(&format!("http://{addr}/api/webhooks/")).unwrap();
    (seen, at)
}

/// An alert service on `h`'s store with a signed-in admin ("root").
pub async fn alert_service(
    h: &Harness,
    at: monitor::alerts::Endpoints,
) -> (Arc<monitor::alerts::AlertService>, monitor::Identity) {
    use monitor::auth::{KeySource, LoginLimits, Vault};
    let store = h.engine.store().clone();
    let vault = Vault::open(&KeySource::Ephemeral, &store).await.unwrap();
    let accounts = Arc::new(monitor::Accounts::new(store, vault, LoginLimits::default()));
    accounts
        .ensure_admin("root", "root-password-1")
        .await
        .unwrap();
    let (_, who) = accounts
        .login("root", "root-password-1", None)
        .await
        .unwrap();
    assert_eq!(who.role(), model::Role::Admin);
    let alerts = monitor::alerts::AlertService::open(accounts, at, "mailto:ops@example.com")
        .await
        .unwrap();
    (alerts, who)
}
