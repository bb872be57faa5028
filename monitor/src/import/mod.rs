//! Importing sources in bulk (issue 19): from a changedetection.io backup
//! (its zip, or the `url-watches.json` inside) or from a list of URLs
//! (text or CSV). The file is read into [`Candidate`]s (`cdio.rs`,
//! `list.rs`); each is then checked as the Sources form would check it
//! (`Engine::vet_source`: settings, outbound policy, interval, duplicates)
//! and, unless previewing, added through [`Control`] so it is audited like
//! any other change. A bad entry is refused with its reason and never stops
//! the others; channels and rules a watch brings are made after its source.

mod cdio;
mod json_map;
mod kind;
mod list;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use model::{
    Condition, EntryState, ExtraEntry, ExtraKind, PricePoint, Rule, Scope, SourceEntry,
    SourceImport, StockPoint,
};

use crate::control::{Control, ControlError};
use crate::engine::NewSource;
use crate::sources::page;
use crate::Identity;

/// The largest file an import reads (a zip's own entries are capped too).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;

/// The interval of an entry that does not say (changedetection.io's default
/// is 3 hours; Dropwatch's sources page suggests 5 minutes).
const DEFAULT_INTERVAL_SECS: u64 = 300;

/// Why a file could not be imported at all (a bad entry is not this).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Unreadable(String),
    #[error(transparent)]
    Control(#[from] ControlError),
}

/// One price or stock reading from another tool's history.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    pub at: chrono::DateTime<chrono::Utc>,
    pub price: Option<model::Decimal>,
    pub available: Option<bool>,
}

/// One source to make, as read from the file.
#[derive(Clone, Debug, Default)]
pub struct Candidate {
    pub at: String,
    pub url: String,
    pub kind: Option<String>,
    pub name: Option<String>,
    /// The currency of its prices, where the file says.
    pub currency: Option<String>,
    pub interval_secs: Option<u64>,
    pub tags: Vec<String>,
    pub paused: bool,
    /// A JSON API watch's price path (its `json:` filter); the rest of its
    /// mapping is found when it is checked.
    pub json_price: Option<String>,
    /// A JSON API source's field mapping, once found.
    pub json: Option<model::JsonMapping>,
    /// Why it is refused or not imported, once known.
    pub refused: Option<String>,
    pub not_imported: Option<String>,
    /// Notification addresses (Apprise URLs) its alerts go to.
    pub notify: Vec<String>,
    /// Alert conditions on this source.
    pub conditions: Vec<Condition>,
    /// What could not become a rule, with why.
    pub dropped_conditions: Vec<String>,
    pub history: Vec<Reading>,
}

impl Candidate {
    pub fn new(at: &str, url: &str) -> Candidate {
        Candidate {
            at: at.to_string(),
            url: url.trim().to_string(),
            ..Candidate::default()
        }
    }

    pub fn refused(at: &str, url: &str, why: impl Into<String>) -> Candidate {
        Candidate::new(at, url).refuse(why)
    }

    pub fn refuse(mut self, why: impl Into<String>) -> Candidate {
        self.refused = Some(why.into());
        self
    }

    /// The entry as the report shows it (before it is checked).
    pub fn entry(&self) -> SourceEntry {
        let (state, reason) = match (&self.refused, &self.not_imported) {
            (Some(r), _) => (EntryState::Refused, Some(r.clone())),
            (None, Some(r)) => (EntryState::NotImported, Some(r.clone())),
            (None, None) => (EntryState::WillAdd, None),
        };
        SourceEntry {
            at: self.at.clone(),
            url: self.url.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            interval_secs: self.interval_secs,
            tags: self.tags.clone(),
            paused: self.paused,
            state,
            reason,
            source: None,
            history_points: 0,
        }
    }
}

/// What a file turned out to be.
enum Read {
    Cdio(cdio::Backup),
    List(Vec<Candidate>),
}

fn read_file(bytes: &[u8]) -> Result<Read, ImportError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ImportError::Unreadable(format!(
            "the file is {:.1} MB; an import reads at most {} MB",
            bytes.len() as f64 / 1e6,
            MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return cdio::from_zip(bytes)
            .map(Read::Cdio)
            .map_err(ImportError::Unreadable);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        ImportError::Unreadable(
            "the file is neither a zip nor text (UTF-8); give a changedetection.io backup or a list of URLs".into(),
        )
    })?;
    let text = text.trim_start_matches('\u{feff}');
    if text.trim_start().starts_with('{') {
        return cdio::from_json(text)
            .map(Read::Cdio)
            .map_err(ImportError::Unreadable);
    }
    Ok(Read::List(list::read(text)))
}

fn extra(kind: ExtraKind, what: String, state: EntryState, reason: Option<String>) -> ExtraEntry {
    ExtraEntry {
        kind,
        what,
        state,
        reason,
    }
}

impl Control {
    /// Previews (`preview`) or imports the sources of a changedetection.io
    /// backup or a list of URLs (editors).
    pub async fn import_sources(
        &self,
        who: &Identity,
        file: &[u8],
        preview: bool,
    ) -> Result<SourceImport, ImportError> {
        who.require(model::Role::Editor)
            .map_err(ControlError::from)?;
        let (format, candidates, global_notify) = match read_file(file)? {
            Read::Cdio(b) => ("changedetection.io backup", b.watches, b.notify),
            Read::List(c) => ("list", c, vec![]),
        };
        let mut report = SourceImport {
            format: format.into(),
            preview,
            sources: vec![],
            extras: vec![],
        };
        let channels = self
            .import_channels(who, &candidates, &global_notify, preview, &mut report)
            .await;
        let mut seen = HashSet::new();
        for c in candidates {
            let entry = self
                .import_one(
                    who,
                    c,
                    &global_notify,
                    &channels,
                    preview,
                    &mut seen,
                    &mut report.extras,
                )
                .await;
            report.sources.push(entry);
        }
        if !preview {
            tracing::info!(summary = %report.summary(), "import");
        }
        Ok(report)
    }

    /// One candidate: checked, and unless previewing added with its
    /// history and rules. `seen`: the sources this file already gave.
    #[allow(clippy::too_many_arguments)]
    async fn import_one(
        &self,
        who: &Identity,
        mut c: Candidate,
        global_notify: &[String],
        channels: &HashMap<String, String>,
        preview: bool,
        seen: &mut HashSet<String>,
        extras: &mut Vec<ExtraEntry>,
    ) -> SourceEntry {
        if c.refused.is_none() && c.not_imported.is_none() {
            kind::settle(&self.engine, &mut c).await;
        }
        let mut entry = c.entry();
        if entry.state != EntryState::WillAdd {
            return entry;
        }
        let kind = c.kind.clone().unwrap_or_default();
        let interval = Duration::from_secs(c.interval_secs.unwrap_or(DEFAULT_INTERVAL_SECS));
        let mut new = NewSource::new(&kind, &c.url, interval);
        new.name = c.name.clone();
        new.currency = c.currency.clone();
        new.json = c.json.clone();
        new.tags = c.tags.clone();
        let key = format!("{kind} {}", c.url.trim_end_matches('/'));
        let twice = |entry: &mut SourceEntry| {
            entry.state = EntryState::Duplicate;
            entry.reason = Some("listed twice in this file".into());
        };
        // Adding checks it as the Sources form does; a preview checks the same
        // without adding.
        if preview {
            match self.engine.vet_source(&mut new).await {
                Err(e) => {
                    entry.state = EntryState::Refused;
                    entry.reason = Some(e.to_string());
                    return entry;
                }
                Ok(Some(existing)) => {
                    entry.state = EntryState::Duplicate;
                    entry.reason = Some(format!("already watched as {:?}", existing.name));
                    entry.source = Some(existing.key);
                    return entry;
                }
                Ok(None) if !seen.insert(key.clone()) => {
                    twice(&mut entry);
                    return entry;
                }
                Ok(None) => {}
            }
        } else if seen.contains(&key) {
            twice(&mut entry);
            return entry;
        }
        let notify: Vec<String> = if c.notify.is_empty() {
            global_notify.to_vec()
        } else {
            c.notify.clone()
        };
        let channel_ids: Vec<String> = notify
            .iter()
            .filter_map(|u| channels.get(u).cloned())
            .collect();
        entry.history_points = c.history.len();
        if preview {
            for cond in &c.conditions {
                extras.push(rule_preview(&c, cond, &channel_ids));
            }
            dropped(&c, extras);
            return entry;
        }
        let source = match self.add_source(who, new).await {
            Ok((s, true)) => {
                seen.insert(key);
                s
            }
            Ok((s, false)) => {
                entry.state = EntryState::Duplicate;
                entry.reason = Some(format!("already watched as {:?}", s.name));
                entry.source = Some(s.key);
                entry.history_points = 0;
                return entry;
            }
            Err(e) => {
                entry.state = EntryState::Refused;
                entry.reason = Some(e.to_string());
                entry.history_points = 0;
                return entry;
            }
        };
        entry.state = EntryState::Added;
        entry.source = Some(source.key.clone());
        if c.paused {
            if let Err(e) = self.set_source_enabled(who, &source.key, false).await {
                entry.reason = Some(format!("added, but could not be paused: {e}"));
            }
        }
        if let Err(e) = self.import_readings(&source, &c.history).await {
            entry.reason = Some(format!("added without its history: {e}"));
            entry.history_points = 0;
        }
        for cond in &c.conditions {
            extras.push(
                self.import_rule(who, &c, &source.key, cond, &channel_ids)
                    .await,
            );
        }
        dropped(&c, extras);
        entry
    }

    /// A watch's readings as the history of the product its page source
    /// will read, as the single offer of a single-price page.
    async fn import_readings(
        &self,
        source: &model::Source,
        readings: &[Reading],
    ) -> Result<(), ControlError> {
        let Ok(url) = url::Url::parse(&source.url) else {
            return Ok(());
        };
        let product = page::product_key(&source.key, &url);
        let (variant, size) = page::SINGLE_OFFER;
        let mut prices = vec![];
        let mut stock = vec![];
        for r in readings {
            let ts = r.at.timestamp_millis();
            if let Some(price) = r.price.filter(|p| model::money::check_price(*p).is_ok()) {
                prices.push(PricePoint {
                    product: product.clone(),
                    at: r.at,
                    ts,
                    variants: vec![model::VariantPrice {
                        variant: variant.into(),
                        size: size.into(),
                        price,
                        compare_at: None,
                    }],
                });
            }
            if let Some(available) = r.available {
                stock.push(StockPoint {
                    product: product.clone(),
                    at: r.at,
                    ts,
                    variants: vec![model::VariantStock {
                        variant: variant.into(),
                        size: size.into(),
                        available,
                    }],
                });
            }
        }
        self.engine.store().import_history(&prices, &stock).await?;
        Ok(())
    }

    async fn import_rule(
        &self,
        who: &Identity,
        c: &Candidate,
        source: &str,
        cond: &Condition,
        channels: &[String],
    ) -> ExtraEntry {
        let mut e = rule_preview(c, cond, channels);
        if e.state != EntryState::WillAdd {
            return e;
        }
        let rule = Rule {
            id: String::new(),
            name: rule_name(c, cond),
            scope: Scope {
                source: Some(source.to_string()),
                ..Scope::default()
            },
            condition: cond.clone(),
            channels: channels.to_vec(),
            cooldown_secs: 0,
            paused: c.paused,
            created: chrono::Utc::now(),
            owner: None,
        };
        match self.alerts.save_rule(who, rule).await {
            Ok(_) => e.state = EntryState::Added,
            Err(err) => {
                e.state = EntryState::Refused;
                e.reason = Some(err.to_string());
            }
        }
        e
    }

    /// Every distinct notification address once: parsed, matched against
    /// the channels already here (by their masked form), and unless
    /// previewing added. Returns address -> channel id.
    async fn import_channels(
        &self,
        who: &Identity,
        candidates: &[Candidate],
        global: &[String],
        preview: bool,
        report: &mut SourceImport,
    ) -> HashMap<String, String> {
        let mut wanted: Vec<&String> = vec![];
        for c in candidates
            .iter()
            .filter(|c| c.refused.is_none() && c.not_imported.is_none())
        {
            let list = if c.notify.is_empty() {
                global
            } else {
                &c.notify[..]
            };
            for u in list {
                if !wanted.contains(&u) {
                    wanted.push(u);
                }
            }
        }
        let mut ids = HashMap::new();
        for address in wanted {
            let channel = match crate::alerts::channel::Channel::parse(address) {
                Ok(ch) => ch,
                Err(e) => {
                    let scheme = address.split("://").next().unwrap_or("").to_string();
                    report.extras.push(extra(
                        ExtraKind::Channel,
                        format!("{scheme}://…"),
                        EntryState::NotImported,
                        Some(format!(
                            "{e}; add it by hand under Alerts if Dropwatch speaks it"
                        )),
                    ));
                    continue;
                }
            };
            let redacted = channel.redacted();
            if let Some(have) = self
                .alerts
                .channels()
                .into_iter()
                .find(|i| i.redacted == redacted)
            {
                report.extras.push(extra(
                    ExtraKind::Channel,
                    redacted,
                    EntryState::Duplicate,
                    Some(format!("already here as {:?}", have.name)),
                ));
                ids.insert(address.clone(), have.id);
                continue;
            }
            if preview {
                report.extras.push(extra(
                    ExtraKind::Channel,
                    redacted,
                    EntryState::WillAdd,
                    None,
                ));
                ids.insert(address.clone(), String::from("(new)"));
                continue;
            }
            let name = format!("{} (imported)", channel.kind());
            match self.alerts.add_channel(who, &name, address).await {
                Ok(info) => {
                    report.extras.push(extra(
                        ExtraKind::Channel,
                        redacted,
                        EntryState::Added,
                        None,
                    ));
                    ids.insert(address.clone(), info.id);
                }
                Err(e) => report.extras.push(extra(
                    ExtraKind::Channel,
                    redacted,
                    EntryState::Refused,
                    Some(e.to_string()),
                )),
            }
        }
        ids
    }
}

fn rule_name(c: &Candidate, cond: &Condition) -> String {
    let what = c.name.clone().unwrap_or_else(|| c.url.clone());
    let name = format!("{}: {}", what, cond.describe());
    name.chars().take(120).collect()
}

fn rule_preview(c: &Candidate, cond: &Condition, channels: &[String]) -> ExtraEntry {
    let what = rule_name(c, cond);
    if channels.is_empty() {
        return extra(
            ExtraKind::Rule,
            what,
            EntryState::NotImported,
            Some("the watch has no notification address Dropwatch can send to; add a rule with a channel by hand".into()),
        );
    }
    extra(ExtraKind::Rule, what, EntryState::WillAdd, None)
}

fn dropped(c: &Candidate, extras: &mut Vec<ExtraEntry>) {
    for d in &c.dropped_conditions {
        extras.push(extra(
            ExtraKind::Rule,
            format!("{}: {d}", c.name.clone().unwrap_or_else(|| c.url.clone())),
            EntryState::NotImported,
            Some(
                "Dropwatch alerts on drops, restocks and prices at or below a figure, not on this"
                    .into(),
            ),
        ));
    }
}
