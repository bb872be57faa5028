//! The delivery queue on a real SurrealKV file: deduplicated by (rule,
//! event, channel), due times respected, and a restart in the middle of a
//! burst of 100 loses none and sends none twice.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use monitor::store::Delivery;
use monitor::Store;

fn delivery(seq: u64, channel: &str, next_at: i64) -> Delivery {
    Delivery {
        rule: "r1".into(),
        seq,
        channel: channel.into(),
        title: format!("event {seq}"),
        body: String::new(),
        state: "pending".into(),
        attempts: 0,
        next_at,
        last_error: None,
        created: Utc::now(),
        sent_at: None,
    }
}

#[tokio::test]
async fn a_restart_mid_burst_delivers_each_exactly_once() {
    let dir = std::env::temp_dir().join(format!("dropwatch-deliveries-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let db = format!("surrealkv://{}", dir.display());
    let mut sent: Vec<(u64, String)> = vec![];
    {
        let store = Store::open(&db).await.unwrap();
        let burst: Vec<Delivery> = (1..=100).map(|s| delivery(s, "discord", 0)).collect();
        assert_eq!(store.enqueue(&burst).await.unwrap(), 100);
        assert_eq!(
            store.enqueue(&burst[..10]).await.unwrap(),
            0,
            "the same rule and event queue once"
        );
        // Not yet due: left alone.
        let later = Utc::now().timestamp_millis() + 60_000;
        store.enqueue(&[delivery(7, "ntfy", later)]).await.unwrap();
        for _ in 0..3 {
            for mut d in store.claim_due(Utc::now(), 20).await.unwrap() {
                assert_eq!(d.state, "sending");
                sent.push((d.seq, d.channel.clone()));
                d.state = "sent".into();
                d.sent_at = Some(Utc::now());
                store.finish_delivery(&d).await.unwrap();
            }
        }
        // Claimed, then the process stops before it sends them.
        let stranded = store.claim_due(Utc::now(), 10).await.unwrap();
        assert_eq!(stranded.len(), 10);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    {
        let store = Store::open(&db).await.unwrap();
        store.requeue_unfinished().await.unwrap();
        loop {
            let batch = store.claim_due(Utc::now(), 25).await.unwrap();
            if batch.is_empty() {
                break;
            }
            for mut d in batch {
                sent.push((d.seq, d.channel.clone()));
                d.state = "sent".into();
                store.finish_delivery(&d).await.unwrap();
            }
        }
        let all = store.deliveries(500).await.unwrap();
        assert_eq!(all.len(), 101);
        assert_eq!(all.iter().filter(|d| d.state == "sent").count(), 100);
        let waiting = all.iter().find(|d| d.channel == "ntfy").unwrap();
        assert_eq!(waiting.state, "pending", "not due yet");
    }
    assert_eq!(sent.len(), 100);
    let unique: HashSet<_> = sent.iter().cloned().collect();
    assert_eq!(unique.len(), 100, "no event sent twice");
    assert!(sent.iter().all(|(_, c)| c == "discord"));
    let _ = std::fs::remove_dir_all(&dir);
}
