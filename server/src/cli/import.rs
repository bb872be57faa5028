//! `dropwatch import FILE --url URL --token dw_...`: sends the file to the
//! running server's `POST /api/v1/import` (a preview, or with `--apply` the
//! import) and prints what each entry became and why.

use anyhow::Context;

use model::{EntryState, ExtraKind, SourceImport};

use super::client::{ok, Client};
use super::ImportArgs;

/// The report as lines a terminal shows.
pub fn in_words(r: &SourceImport) -> String {
    let mut out = String::new();
    for e in &r.sources {
        out.push_str(&format!(
            "{:<14} {:<8} {}{}\n",
            e.state.label(),
            e.kind.as_deref().unwrap_or("-"),
            e.url,
            e.name
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ));
        let mut notes = vec![];
        if let Some(why) = &e.reason {
            notes.push(why.clone());
        }
        if e.history_points > 0 {
            notes.push(format!("{} history points", e.history_points));
        }
        if e.paused {
            notes.push("paused".into());
        }
        if !e.tags.is_empty() {
            notes.push(format!("tags: {}", e.tags.join(", ")));
        }
        if !notes.is_empty() {
            out.push_str(&format!("{:<14} {}: {}\n", "", e.at, notes.join("; ")));
        }
    }
    for x in &r.extras {
        let kind = match x.kind {
            ExtraKind::Channel => "channel",
            ExtraKind::Rule => "rule",
        };
        out.push_str(&format!("{:<14} {:<8} {}\n", x.state.label(), kind, x.what));
        if let Some(why) = &x.reason {
            out.push_str(&format!("{:<14} {why}\n", ""));
        }
    }
    out.push_str(&r.summary());
    if r.preview && r.sources.iter().any(|e| e.state == EntryState::WillAdd) {
        out.push_str(" Run again with --apply to import.");
    }
    out
}

pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let bytes = tokio::fs::read(&args.file)
        .await
        .with_context(|| format!("could not read {}", args.file.display()))?;
    let client = Client::new(&args.remote)?;
    let path = if args.apply {
        "/api/v1/import?apply=true"
    } else {
        "/api/v1/import"
    };
    let res = ok(client
        .post(path)?
        .header("content-type", "application/octet-stream")
        .body(bytes))
    .await?;
    let report: SourceImport = res.json().await.context("the server's answer")?;
    println!("{}", in_words(&report));
    Ok(())
}
