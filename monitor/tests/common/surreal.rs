//! A real SurrealDB server (`surreal start`, a memory or SurrealKV store) on
//! a free loopback port, for the tests of several instances sharing one
//! database. Installed by `scripts/setup.sh --cluster` (the README's test
//! command runs it). Also used by the server's tests (`#[path]`).

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SurrealServer {
    child: Child,
    pub port: u16,
    /// `memory` or `surrealkv://DIR`.
    store: String,
}

fn spawn(port: u16, store: &str) -> Child {
    Command::new("surreal")
        .args(["start", "--user", "root", "--pass", "root", "--log", "warn"])
        .args(["--bind", &format!("127.0.0.1:{port}"), store])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the SurrealDB server `surreal` runs: install it with scripts/setup.sh --cluster")
}

impl SurrealServer {
    /// Starts `surreal` on a memory store and waits until it answers; the
    /// root user is root/root, and `DROPWATCH_DB_USER`/`DROPWATCH_DB_PASS`
    /// are set to it.
    pub async fn start() -> SurrealServer {
        Self::start_on("memory".into()).await
    }

    /// [`SurrealServer::start`] on a SurrealKV store in `dir`, which a
    /// [`SurrealServer::restart`] finds again.
    pub async fn start_on_files(dir: &std::path::Path) -> SurrealServer {
        Self::start_on(format!("surrealkv://{}", dir.display())).await
    }

    async fn start_on(store: String) -> SurrealServer {
        // Every test of the process signs in the same way.
        std::env::set_var("DROPWATCH_DB_USER", "root");
        std::env::set_var("DROPWATCH_DB_PASS", "root");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = spawn(port, &store);
        let server = SurrealServer { child, port, store };
        server.answers().await;
        server
    }

    /// Waits (20 s at most) until the server takes connections.
    async fn answers(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "surreal did not start on port {}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the server (as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port and store.
    pub async fn restart(&mut self) {
        self.kill();
        self.child = spawn(self.port, &self.store);
        self.answers().await;
    }

    /// The `--db` URL of this server.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }
}

impl Drop for SurrealServer {
    fn drop(&mut self) {
        self.kill();
    }
}
