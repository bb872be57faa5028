//! `dropwatch backup FILE` and `dropwatch restore FILE`.
//!
//! A backup of a running server streams from `GET /api/v1/backup` (admins)
//! into FILE; without `--url` the command opens the database itself, which
//! only works when no server has it open (SurrealKV locks its folder). The
//! file is written beside FILE first and renamed when complete, so an
//! interrupted backup never looks like a good one.

use anyhow::Context;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use monitor::store::DbMemory;
use monitor::Store;

use super::client::{ok, Client};
use super::{BackupArgs, RestoreArgs};

pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let partial = args.file.with_extension("partial");
    let mut out = tokio::fs::File::create(&partial)
        .await
        .with_context(|| format!("could not write {}", partial.display()))?;
    let mut bytes = 0u64;
    if args.remote.url.is_some() {
        let client = Client::new(&args.remote)?;
        let res = ok(client.get("/api/v1/backup")?).await?;
        let mut body = res.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.context("the backup stopped before its end")?;
            bytes += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
    } else {
        let store = Store::open(&args.db).await.with_context(|| {
            format!("could not open {} (if a server is running on it, back it up with --url and --token)", args.db)
        })?;
        let mut chunks = store.backup().await?;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            bytes += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
    }
    out.flush().await?;
    out.sync_all().await?;
    drop(out);
    tokio::fs::rename(&partial, &args.file).await?;
    println!(
        "Backed up {:.1} MB to {}. Restore it with `dropwatch restore {} --db NEW_PATH`; sealed secrets open only with the same secret key.",
        bytes as f64 / 1e6,
        args.file.display(),
        args.file.display()
    );
    Ok(())
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let r = monitor::store::restore(&args.db, &args.file, DbMemory::DEFAULT).await?;
    println!(
        "Restored {} sources, {} products and events up to #{} into {}. Start Dropwatch with --db {} (and the secret key of the backed-up instance).",
        r.sources, r.products, r.last_event, args.db, args.db
    );
    Ok(())
}
