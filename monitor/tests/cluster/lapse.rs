//! A read on a shared server asks the shop for each page only while its
//! lease holds: when the database server goes away in the middle of a read,
//! the lease cannot be renewed, and once it is about to lapse the read asks
//! the shop nothing more (another instance may be polling it by then).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;

use super::common::{quick_config, surreal::SurrealServer};
use monitor::fetch::FetchLimits;
use monitor::{Engine, EngineConfig, NewSource, Store};

/// How long the shop takes to answer a catalogue page: longer than the
/// lease's TTL, shorter than the request's timeout.
const PAGE_DELAY: Duration = Duration::from_secs(4);

/// A demo shop that answers each catalogue page `PAGE_DELAY` late and
/// counts the pages asked for.
async fn slow_shop(ip: &str) -> (String, Arc<AtomicUsize>) {
    let demo = monitor::demo::DemoStore::new(&super::common::demo_config(10));
    let asked = Arc::new(AtomicUsize::new(0));
    let counted = asked.clone();
    let app = demo.router().layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let asked = counted.clone();
            async move {
                if req.uri().path().ends_with("products.json") {
                    asked.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(PAGE_DELAY).await;
                }
                next.run(req).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), asked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_read_whose_lease_lapses_asks_the_shop_for_no_further_page() {
    let mut server = SurrealServer::start().await;
    let (url, asked) = slow_shop("127.0.0.6").await;
    let store = Store::open(&server.url())
        .await
        .expect("the server's database opens");
    let cfg = EngineConfig {
        lease_ttl: Duration::from_secs(3),
        jitter: 0.0,
        limits: FetchLimits {
            timeout: PAGE_DELAY * 3,
            max_body_bytes: 4 * 1024 * 1024,
        },
        ..quick_config()
    };
    let engine = Engine::open(store, cfg).await.expect("engine opens");
    engine.start();
    engine
        .add_source(NewSource::new("shopify", &url, Duration::from_secs(1)))
        .await
        .expect("source added");

    // The first page is asked for under the lease; then the database goes.
    for _ in 0..150 {
        if asked.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1, "the shop is read");
    server.kill();

    // The page comes after the lease (3 s, renewed at most a second ago)
    // has lapsed: the page after it (every read asks for one, to see the
    // catalogue end) is not asked for, nor is the shop read again.
    tokio::time::sleep(PAGE_DELAY + Duration::from_secs(3)).await;
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "the shop was asked for a page after this instance's lease had lapsed"
    );
}
