//! One-page checks' runs are written behind, in batches (`store::run_log`).
//! While the database server is away the batch fails and stays queued; once
//! the server is back it is written with the runs queued since, in order,
//! each once.

use std::time::{Duration, Instant};

use chrono::Utc;

use super::common::{surreal::SurrealServer, TempDir};
use monitor::Store;

/// A finished one-page run of the source `page-watch`, numbered `id`.
fn page_run(id: i64) -> model::PollRun {
    let at = Utc::now();
    model::PollRun {
        id,
        source: "page-watch".into(),
        started: at,
        finished: Some(at),
        pages: 1,
        products: 1,
        changes: 0,
        complete: true,
        error: None,
        error_class: None,
        skipped: vec![],
        notes: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_queued_while_the_database_is_away_are_written_once_it_is_back() {
    let dir = TempDir::new("run-outage");
    let mut server = SurrealServer::start_on_files(&dir.0).await;
    let store = Store::open(&server.url())
        .await
        .expect("the database opens");
    store.queue_finished_run(page_run(1));
    store
        .write_queued_runs()
        .await
        .expect("the first run is written");

    server.kill();
    store.queue_finished_run(page_run(2));
    store.queue_finished_run(page_run(3));
    assert!(
        store.write_queued_runs().await.is_err(),
        "a write to a server that is gone fails (and keeps the runs queued)"
    );

    server.restart().await;
    store.queue_finished_run(page_run(4));
    // The client reconnects in its own time: write until the batch is taken.
    let start = Instant::now();
    while let Err(e) = store.write_queued_runs().await {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the queued runs were not written 30 s after the server came back: {e}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ids: Vec<i64> = store
        .runs("page-watch", 10)
        .await
        .expect("the runs read")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, [4, 3, 2, 1], "every run once, newest first");
}
