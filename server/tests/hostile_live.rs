//! Clients that abuse the event feed, against the real binary: a socket
//! that never reads while the history streams to it, and cursors beyond
//! the end. The server must not buffer for a stalled client, nor replay
//! the history to a cursor that wrapped.

mod common;

use std::time::{Duration, Instant};

use common::{start, Auth, ADMIN_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// `dropwatch_live_clients` from `/metrics`.
async fn live_clients(s: &common::Server, auth: &Auth) -> u64 {
    let (_, body) = s.call(Method::GET, "/metrics", auth, None).await;
    body.lines()
        .find_map(|l| l.strip_prefix("dropwatch_live_clients "))
        .and_then(|n| n.trim().parse().ok())
        .expect("the metric is there")
}

async fn events_stored(s: &common::Server, auth: &Auth) -> u64 {
    let (_, body) = s
        .call(Method::GET, "/api/v1/events?limit=1", auth, None)
        .await;
    serde_json::from_str::<Value>(&body).unwrap()["last_seq"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn a_socket_that_never_reads_is_closed_instead_of_buffered_for() {
    // 12,000 products: their new_product events are about 8 MB, more
    // than the sockets' buffers hold.
    let s = start(
        &[
            "--admin-password",
            ADMIN_PASSWORD,
            "--demo-products",
            "12000",
        ],
        &[],
    );
    let admin = Auth::Cookie(s.admin().await);
    let token = s
        .token(
            match &admin {
                Auth::Cookie(c) => c,
                _ => unreachable!(),
            },
            "viewer",
        )
        .await;
    let mut waited = 0;
    while events_stored(&s, &admin).await < 12000 && waited < 1200 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let total = events_stored(&s, &admin).await;
    assert!(total >= 12000, "the demo was imported: {total} events");

    // A client with a small receive buffer asks for everything, then reads nothing.
    let url = s.base.replace("http://", "ws://") + "/api/live?since=0";
    let mut req = url.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let addr: std::net::SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(addr).await.unwrap();
    let (_socket, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    assert_eq!(live_clients(&s, &admin).await, 1);
    // The history fills the buffers; the server waits 10 s for the client
    // to take the next event, then lets it go (it would reconnect with
    // `since`): no queue grows for a client that does not read.
    let started = Instant::now();
    while live_clients(&s, &admin).await > 0 {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "the stalled socket is still held"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        s.printed().contains("did not take an event"),
        "the server says why"
    );
    // The server is fine.
    let (status, _) = s.call(Method::GET, "/healthz", &Auth::None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn cursors_beyond_the_end_mean_from_now() {
    let s = start(&["--admin-password", ADMIN_PASSWORD], &[]);
    let admin = Auth::Cookie(s.admin().await);
    let mut waited = 0;
    while events_stored(&s, &admin).await == 0 && waited < 100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let last = events_stored(&s, &admin).await;
    for since in [
        "18446744073709551615",
        "18446744073709551614",
        &(last + 5).to_string(),
    ] {
        let (status, body) = s
            .call(
                Method::GET,
                &format!("/api/v1/events?since={since}&limit=5"),
                &admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            page["events"].as_array().unwrap().len(),
            0,
            "since={since}: no replay of the history"
        );
        assert!(page["next_since"].as_u64().unwrap() >= last, "{page}");
    }
}
