//! Diagnostic: how long fetching and parsing a 10,000-product demo catalogue
//! takes without the engine (no diff, no store).
use monitor::demo::{DemoConfig, DemoStore};
use monitor::normalise::BrandTable;
use monitor::sources::shopify::{page_url, parse_page, PageContext};
use std::time::Instant;

#[tokio::main]
async fn main() {
    let demo = DemoStore::new(&DemoConfig {
        products: 10_000,
        seed: 1,
        change_every: None,
        changes_per_tick: 0,
    });
    let t = Instant::now();
    let mut bytes = 0;
    for p in 1..=40 {
        bytes += demo
            .catalogue
            .lock()
            .unwrap()
            .page(p, 250, "http://x")
            .len();
    }
    println!(
        "demo page JSON built in-process: {:?} ({} MB)",
        t.elapsed(),
        bytes / 1_000_000
    );
    let addr = demo.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let store: url::Url = format!("http://{addr}").parse().unwrap();
    let client = reqwest::Client::new();
    let brands = BrandTable::default();
    let mut bodies = vec![];
    let t = Instant::now();
    for p in 1..=41 {
        bodies.push(
            client
                .get(page_url(&store, p))
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap(),
        );
    }
    println!("fetch 41 pages: {:?}", t.elapsed());
    let ctx = PageContext {
        source: "s",
        store: &store,
        currency: "USD",
        brands: &brands,
    };
    // The best of 5, to see through the machine's noise.
    let mut best = std::time::Duration::MAX;
    let mut n = 0;
    for _ in 0..5 {
        let t = Instant::now();
        n = bodies
            .iter()
            .map(|b| parse_page(b, &ctx).unwrap().len())
            .sum::<usize>();
        best = best.min(t.elapsed());
    }
    println!("parse {n} products: {best:?} (best of 5)");
}
