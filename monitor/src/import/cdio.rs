//! A changedetection.io datastore, as its Backup button zips it or as its
//! `url-watches.json` alone (the README's "Coming from changedetection.io"
//! says what maps to what; the
//! format as read from its source is in monitor/tests/fixtures/cdio/FORMAT.md).
//!
//! Both layouts are read: up to 0.52 one `url-watches.json` holds watches,
//! settings and tags; from 0.53 each watch is `<uuid>/watch.json`, tags are
//! `<uuid>/tag.json`, settings `changedetection.json` (and a stale
//! `url-watches.json` may still ride along, so it is then ignored). A
//! restock watch's snapshots ("In Stock: True - Price: 129.99", listed in
//! `history.txt` / `history-restock_diff.txt`) become its price and stock
//! history. Every size read from the zip is capped: a backup is a file a
//! user uploads, so it is as hostile as any shop's page.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

use super::{Candidate, Reading};
use model::Condition;

/// Caps on what is read out of a zip, whatever its entries claim.
const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;
const MAX_SMALL_BYTES: u64 = 256 * 1024;
const MAX_ENTRIES: usize = 200_000;
const MAX_WATCHES: usize = 5_000;
const MAX_READINGS: usize = 5_000;

/// changedetection.io's own default check interval (3 hours).
const CDIO_DEFAULT_SECS: u64 = 3 * 3600;

/// What a backup holds, read.
#[derive(Debug)]
pub struct Backup {
    pub watches: Vec<Candidate>,
    /// The global notification addresses (for watches without their own).
    pub notify: Vec<String>,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A `{weeks, days, hours, minutes, seconds}` interval in seconds (0 when unset).
fn interval_secs(v: &Value) -> u64 {
    [
        ("weeks", 604_800u64),
        ("days", 86_400),
        ("hours", 3_600),
        ("minutes", 60),
        ("seconds", 1),
    ]
    .iter()
    .map(|(k, unit)| {
        v.get(*k)
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .saturating_mul(*unit)
    })
    .fold(0u64, u64::saturating_add)
}

fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse::<Decimal>().ok(),
        Value::String(s) => s.trim().parse::<Decimal>().ok(),
        _ => None,
    }
    .map(|d| d.round_dp(4).normalize())
    .filter(|d| model::money::check_price(*d).is_ok())
}

/// A restock watch's settings as Dropwatch rules, and what has no rule.
fn conditions(settings: &Value) -> (Vec<Condition>, Vec<String>) {
    let (mut out, mut dropped) = (vec![], vec![]);
    let stock = settings
        .get("in_stock_processing")
        .and_then(Value::as_str)
        .unwrap_or("in_stock_only");
    let follow = settings
        .get("follow_price_changes")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let percent = settings
        .get("price_change_threshold_percent")
        .and_then(decimal)
        .filter(|p| *p > Decimal::ZERO && *p < Decimal::ONE_HUNDRED);
    let min = settings.get("price_change_min").and_then(decimal);
    let max = settings.get("price_change_max").and_then(decimal);
    if follow {
        if let Some(p) = percent {
            out.push(Condition::DropPercent { percent: p });
        }
        if let Some(m) = min {
            out.push(Condition::PriceAtOrBelow { price: m });
        }
        if let Some(m) = max {
            dropped.push(format!("price rises above {m}"));
        }
    }
    let any_price = follow && percent.is_none() && min.is_none() && max.is_none();
    match (stock, any_price) {
        ("in_stock_only" | "all_changes", true) => out.push(Condition::DropOrRestock),
        ("in_stock_only" | "all_changes", false) => out.push(Condition::Restocked),
        (_, true) => out.push(Condition::DropOrRestock),
        _ => {}
    }
    if stock == "all_changes" {
        out.push(Condition::SoldOut);
    }
    (out, dropped)
}

/// One snapshot's text: "In Stock: True - Price: 129.99" (0.46 on) or
/// "True - 129.99" (before).
fn reading(at: DateTime<Utc>, text: &str) -> Option<Reading> {
    let text = text.trim();
    let (stock, price) = match text.strip_prefix("In Stock:") {
        Some(rest) => {
            let (s, p) = rest.split_once("- Price:").unwrap_or((rest, ""));
            (s.trim(), p.trim())
        }
        None => {
            let (s, p) = text.split_once(" - ")?;
            (s.trim(), p.trim())
        }
    };
    let available = match stock {
        "True" => Some(true),
        "False" => Some(false),
        _ => None,
    };
    let price = decimal(&Value::String(price.to_string()));
    (available.is_some() || price.is_some()).then_some(Reading {
        at,
        price,
        available,
    })
}

/// Files of the datastore, by their path in the zip (or none for a bare
/// `url-watches.json`).
struct Files<'a> {
    zip: Option<zip::ZipArchive<Cursor<&'a [u8]>>>,
}

impl Files<'_> {
    fn read(&mut self, name: &str, cap: u64) -> Option<String> {
        let zip = self.zip.as_mut()?;
        let entry = zip.by_name(name).ok()?;
        let mut text = String::new();
        entry.take(cap).read_to_string(&mut text).ok()?;
        Some(text)
    }

    fn names(&self) -> Vec<String> {
        self.zip
            .as_ref()
            .map(|z| {
                z.file_names()
                    .take(MAX_ENTRIES)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A restock watch's readings from its history files, oldest first.
fn history(files: &mut Files<'_>, uuid: &str) -> Vec<Reading> {
    let mut lines: Vec<(i64, String)> = vec![];
    for index in ["history.txt", "history-restock_diff.txt"] {
        let Some(text) = files.read(&format!("{uuid}/{index}"), MAX_SMALL_BYTES) else {
            continue;
        };
        for line in text.lines() {
            let Some((ts, file)) = line.split_once(',') else {
                continue;
            };
            let Ok(ts) = ts.trim().parse::<i64>() else {
                continue;
            };
            let base = file
                .trim()
                .rsplit(['/', '\\'])
                .next()
                .unwrap_or("")
                .to_string();
            lines.push((ts, base));
        }
    }
    lines.sort();
    lines.dedup();
    let mut out = vec![];
    for (ts, file) in lines.into_iter().take(MAX_READINGS) {
        let Some(at) = DateTime::<Utc>::from_timestamp(ts, 0) else {
            continue;
        };
        // Restock snapshots are tiny and never brotli'd; a .br one is text
        // of another processor.
        if file.ends_with(".br") {
            continue;
        }
        if let Some(r) = files
            .read(&format!("{uuid}/{file}"), 4096)
            .and_then(|t| reading(at, &t))
        {
            out.push(r);
        }
    }
    out
}

/// The settings every watch falls back on.
struct Defaults {
    interval: u64,
    notify: Vec<String>,
    tags: HashMap<String, Value>,
}

fn watch(uuid: &str, w: &Value, d: &Defaults, files: &mut Files<'_>) -> Candidate {
    let url = w.get("url").and_then(Value::as_str).unwrap_or("").trim();
    let mut c = Candidate::new(&format!("watch {uuid}"), url);
    c.name = ["title", "page_title"]
        .iter()
        .find_map(|k| w.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(120).collect());
    c.paused = w.get("paused").and_then(Value::as_bool).unwrap_or(false);
    let own = w.get("time_between_check").map_or(0, interval_secs);
    let use_default = w
        .get("time_between_check_use_default")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    c.interval_secs = Some(if use_default || own == 0 {
        d.interval
    } else {
        own
    });
    let tag_ids = strings(w.get("tags").unwrap_or(&Value::Null));
    let tags: Vec<&Value> = tag_ids.iter().filter_map(|t| d.tags.get(t)).collect();
    c.tags = tags
        .iter()
        .filter_map(|t| t.get("title").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    // Notifications cascade: the watch's own, the first tag's, the global.
    let unmuted = |v: &Value| {
        !v.get("notification_muted")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let own_urls = strings(w.get("notification_urls").unwrap_or(&Value::Null));
    c.notify = if !own_urls.is_empty() && unmuted(w) {
        own_urls
    } else {
        tags.iter()
            .filter(|t| unmuted(t))
            .map(|t| strings(t.get("notification_urls").unwrap_or(&Value::Null)))
            .find(|u| !u.is_empty())
            .unwrap_or_else(|| d.notify.clone())
    };
    let processor = w
        .get("processor")
        .and_then(Value::as_str)
        .unwrap_or("text_json_diff");
    let filters = strings(w.get("include_filters").unwrap_or(&Value::Null));
    match processor {
        "restock_diff" => {
            c.kind = Some(model::SOURCE_KIND_PAGE.into());
            c.currency = w
                .pointer("/restock/currency")
                .and_then(Value::as_str)
                .map(str::to_string);
            // 0.54.2 on: the settings are a file of their own.
            let from_file = files
                .read(&format!("{uuid}/restock_diff.json"), MAX_SMALL_BYTES)
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .and_then(|v| v.get("restock_diff").cloned());
            // A tag that overrides its watches brings its own settings.
            let settings = tags
                .iter()
                .find(|t| t.get("overrides_watch").and_then(Value::as_bool) == Some(true))
                .and_then(|t| {
                    t.get("restock_settings")
                        .or(t.get("processor_config_restock_diff"))
                })
                .cloned()
                .or(from_file)
                .or(w.get("restock_settings").cloned())
                .unwrap_or(Value::Null);
            (c.conditions, c.dropped_conditions) = conditions(&settings);
            c.history = history(files, uuid);
        }
        "text_json_diff" if url.trim_end_matches('/').ends_with("/products.json") => {
            c.kind = Some(model::SOURCE_KIND_SHOPIFY.into());
        }
        "text_json_diff"
            if filters
                .iter()
                .any(|f| f.starts_with("json:") || f.starts_with("jq")) =>
        {
            c.kind = Some(model::SOURCE_KIND_JSON.into());
            match super::json_map::price_path(&filters) {
                Ok(p) => c.json_price = Some(p),
                Err(why) => c.not_imported = Some(format!("a JSON API watch: {why}")),
            }
        }
        _ => {
            c.not_imported =
                Some(format!(
                "a {} watch of a page's text; Dropwatch tracks prices and stock, not text changes",
                if processor == "text_json_diff" { "text-change" } else { processor }
            ));
        }
    }
    c
}

fn defaults(settings: &Value) -> Defaults {
    let interval = settings
        .pointer("/requests/time_between_check")
        .map(interval_secs)
        .filter(|s| *s > 0)
        .unwrap_or(CDIO_DEFAULT_SECS);
    let tags = settings
        .pointer("/application/tags")
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Defaults {
        interval,
        notify: strings(
            settings
                .pointer("/application/notification_urls")
                .unwrap_or(&Value::Null),
        ),
        tags,
    }
}

fn parse_json(text: &str, what: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| {
        format!("{what} is not valid JSON ({e}); is this a changedetection.io backup?")
    })
}

fn read_all(
    watching: Vec<(String, Value)>,
    settings: &Value,
    files: &mut Files<'_>,
    extra_tags: HashMap<String, Value>,
) -> Backup {
    let mut d = defaults(settings);
    d.tags.extend(extra_tags);
    let mut watches: Vec<Candidate> = watching
        .iter()
        .take(MAX_WATCHES)
        .map(|(uuid, w)| watch(uuid, w, &d, files))
        .collect();
    if watching.len() > MAX_WATCHES {
        watches.push(Candidate::refused(
            "backup",
            "",
            format!("only the first {MAX_WATCHES} watches are read"),
        ));
    }
    Backup {
        watches,
        notify: d.notify,
    }
}

/// A bare `url-watches.json`.
pub fn from_json(text: &str) -> Result<Backup, String> {
    let v = parse_json(text, "the file")?;
    let watching = v
        .get("watching")
        .and_then(Value::as_object)
        .ok_or("a JSON file without \"watching\": not changedetection.io's url-watches.json")?;
    let watching = watching
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let settings = v.get("settings").cloned().unwrap_or(Value::Null);
    Ok(read_all(
        watching,
        &settings,
        &mut Files { zip: None },
        HashMap::new(),
    ))
}

/// A backup zip.
pub fn from_zip(bytes: &[u8]) -> Result<Backup, String> {
    let zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| format!("the zip cannot be read ({e})"))?;
    let mut files = Files { zip: Some(zip) };
    let names = files.names();
    if let Some(settings) = files.read("changedetection.json", MAX_JSON_BYTES) {
        // 0.53 and later: a file per watch and per tag.
        let settings = parse_json(&settings, "changedetection.json")?;
        let (mut watching, mut tags) = (vec![], HashMap::new());
        for name in &names {
            let Some((dir, file)) = name.split_once('/') else {
                continue;
            };
            if file != "watch.json" && file != "tag.json" {
                continue;
            }
            let Some(v) = files
                .read(name, MAX_SMALL_BYTES)
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            else {
                continue;
            };
            if file == "watch.json" {
                watching.push((dir.to_string(), v));
            } else {
                tags.insert(dir.to_string(), v);
            }
        }
        watching.sort_by(|a, b| a.0.cmp(&b.0));
        let settings = settings.get("settings").cloned().unwrap_or(Value::Null);
        return Ok(read_all(watching, &settings, &mut files, tags));
    }
    let text = files
        .read("url-watches.json", MAX_JSON_BYTES)
        .ok_or("the zip has neither url-watches.json nor changedetection.json: not a changedetection.io backup")?;
    let v = parse_json(&text, "url-watches.json")?;
    let watching = v
        .get("watching")
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let settings = v.get("settings").cloned().unwrap_or(Value::Null);
    Ok(read_all(watching, &settings, &mut files, HashMap::new()))
}

#[cfg(test)]
#[path = "cdio_tests.rs"]
mod tests;
