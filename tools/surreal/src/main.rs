//! `surreal`: SurrealDB's own server and CLI, as the upstream binary starts it
//! (`surreal start`, `surreal sql`, `surreal version`, …).

// As upstream's: the layout of the server's async query engine nests deeper
// than the default limit.
#![recursion_limit = "256"]

use std::process::ExitCode;

fn main() -> ExitCode {
    surrealdb_server::init(surrealdb_server::core::CommunityComposer())
}
