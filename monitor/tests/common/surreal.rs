//! A real SurrealDB server (`surreal start`, memory store) on a free loopback
//! port, for the tests of several instances sharing one database. Installed
//! by `scripts/setup.sh --cluster` (the README's test command runs it).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SurrealServer {
    child: Child,
    pub port: u16,
}

impl SurrealServer {
    /// Starts `surreal` and waits until it answers; the root user is
    /// root/root, and `DROPWATCH_DB_USER`/`DROPWATCH_DB_PASS` are set to it.
    pub async fn start() -> SurrealServer {
        // Every test of the process signs in the same way.
        std::env::set_var("DROPWATCH_DB_USER", "root");
        std::env::set_var("DROPWATCH_DB_PASS", "root");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("surreal")
            .args(["start", "--user", "root", "--pass", "root", "--log", "warn"])
            .args(["--bind", &format!("127.0.0.1:{port}"), "memory"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "the SurrealDB server `surreal` runs: install it with scripts/setup.sh --cluster",
            );
        let server = SurrealServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "surreal did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// The `--db` URL of this server.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }
}

impl Drop for SurrealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
