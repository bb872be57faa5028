//! Sources added, changed, paused, checked and removed: what a user gives is
//! checked first (`source_input.rs`), then saved once and its scheduler
//! started or stopped; a refused change leaves the source as it was.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use url::Url;

use model::{PollRun, RunProgress, Source, SourceSettings};

use super::*;
use crate::fetch::host_key;

impl Engine {
    /// Checks a source as [`Engine::add_source`] would, without adding it:
    /// the settings, the address (under the outbound policy) and the
    /// interval. Returns the source already watching it, if one is.
    pub async fn vet_source(&self, new: &mut NewSource) -> Result<Option<Source>, EngineError> {
        // The kind alone first (its settings are checked below, one by one).
        SourceSettings::from_parts(&new.kind, None, None, None, None)
            .map_err(|e| model::FieldError::new(model::SourceField::Kind, e))?;
        check_page_settings(&new.kind, &mut new.page)?;
        check_json_mapping(&new.kind, &new.json, &self.cfg.source_env)?;
        check_api_settings(new)?;
        new.keywords = check_keywords(&new.kind, std::mem::take(&mut new.keywords))?;
        // A WooCommerce shop given by its Store API's address is the shop.
        if new.kind == model::SOURCE_KIND_WOOCOMMERCE {
            if let Some(shop) = Url::parse(new.url.trim())
                .ok()
                .and_then(|u| crate::sources::woocommerce::shop_of(&u))
            {
                new.url = shop.to_string();
            }
        }
        let url = source_url(&new.url)?;
        // An Amazon source's address is never fetched (Oxylabs is).
        if new.kind != model::SOURCE_KIND_AMAZON {
            self.check_address(&url).await?;
        }
        check_interval(new.interval)?;
        let url_text = url.as_str().trim_end_matches('/').to_string();
        Ok(self
            .sources
            .lock()
            .values()
            .map(|t| t.source.lock().clone())
            .find(|s| {
                s.kind() == new.kind
                    && s.url == url_text
                    && s.settings.amazon() == new.amazon.as_ref()
                    && s.settings.popmart() == new.popmart.as_ref()
            }))
    }

    /// Adds a source, or returns the existing one with the same kind and URL.
    pub async fn add_source(self: &Arc<Self>, mut new: NewSource) -> Result<Source, EngineError> {
        if self.store.is_shared() {
            // Another instance may have added it (or one with its key).
            self.sync_sources(self.store.sources().await?);
        }
        if let Some(s) = self.vet_source(&mut new).await? {
            return Ok(s);
        }
        let url = source_url(&new.url)?;
        let url_text = url.as_str().trim_end_matches('/').to_string();
        let base = new
            .key
            .as_deref()
            .map(|k| slug_text(k))
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| match (&new.amazon, &new.popmart) {
                (Some(a), _) => slug_text(&format!("amazon-{}", a.domain)),
                (_, Some(p)) => slug_text(&format!("popmart-{}", p.region)),
                _ => slug(&url),
            });
        let mut key = base.clone();
        let mut n = 2;
        while self.sources.lock().contains_key(&key) {
            key = format!("{base}-{n}");
            n += 1;
        }
        // Checked above: the settings given are the kind's own.
        let settings = SourceSettings::from_parts(
            &new.kind,
            Some(new.page),
            new.json,
            new.amazon,
            new.popmart,
        )
        .map_err(|e| model::FieldError::new(model::SourceField::Kind, e))?;
        let source = Source {
            settings,
            name: new
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| url.host_str().unwrap_or(&key).to_string()),
            key,
            url: url_text,
            currency: new
                .currency
                .map(|c| c.trim().to_uppercase())
                .filter(|c| c.len() == 3)
                .unwrap_or_else(|| "USD".into()),
            interval_secs: new.interval.as_secs().max(1),
            enabled: true,
            created: Utc::now(),
            blocked: false,
            tags: clean_tags(&new.tags),
            keywords: new.keywords,
        };
        self.store.save_source(&source).await?;
        let task = self.register(source.clone());
        self.spawn_scheduler(&task);
        // On a shared server the source's host may need a lease first.
        self.leases.nudge();
        Ok(source)
    }

    /// Refuses an address the outbound policy refuses, in words the
    /// Sources page shows (the rule it falls under).
    pub async fn check_address(&self, url: &Url) -> Result<(), EngineError> {
        self.cfg
            .outbound
            .check_resolved(url)
            .await
            .map(|_| ())
            .map_err(|e| {
                model::FieldError::new(model::SourceField::Url, format!("refused: {e}")).into()
            })
    }

    /// The outbound policy (the alert and repricing clients follow it too).
    pub fn outbound(&self) -> &Arc<crate::outbound::Policy> {
        &self.cfg.outbound
    }

    pub(super) fn task(&self, key: &str) -> Result<Arc<SourceTask>, EngineError> {
        self.sources
            .lock()
            .get(key)
            .cloned()
            .ok_or_else(|| EngineError::UnknownSource(key.to_string()))
    }

    /// Pauses or resumes a source.
    pub async fn set_enabled(
        self: &Arc<Self>,
        key: &str,
        enabled: bool,
    ) -> Result<Source, EngineError> {
        self.change_source(key, SourceEdit::default(), Some(enabled))
            .await
    }

    /// Renames a source or changes its address or interval. A new interval
    /// applies from the next wait; a new address from the next run.
    pub async fn update_source(
        self: &Arc<Self>,
        key: &str,
        edit: SourceEdit,
    ) -> Result<Source, EngineError> {
        self.change_source(key, edit, None).await
    }

    /// Edits a source and pauses or resumes it, as one change: every field
    /// is checked before any is applied, and the source is saved once, so a
    /// refused field (or a failed save) leaves it as it was.
    pub async fn change_source(
        self: &Arc<Self>,
        key: &str,
        mut edit: SourceEdit,
        enabled: Option<bool>,
    ) -> Result<Source, EngineError> {
        let task = self.task(key)?;
        let kind = task.source.lock().kind();
        let url = edit.url.as_deref().map(source_url).transpose()?;
        if let Some(u) = url.as_ref().filter(|_| kind != model::SOURCE_KIND_AMAZON) {
            self.check_address(u).await?;
        }
        if let Some(i) = edit.interval {
            check_interval(i)?;
        }
        if let Some(p) = &mut edit.page {
            check_page_settings(&kind, p)?;
        }
        if edit.json.is_some() {
            check_json_mapping(&kind, &edit.json, &self.cfg.source_env)?;
        }
        if edit.amazon.is_some() || edit.popmart.is_some() {
            let mut probe = NewSource {
                amazon: edit.amazon.clone(),
                popmart: edit.popmart.clone(),
                ..NewSource::new(&kind, "https://example.invalid", Duration::from_secs(60))
            };
            check_api_settings(&mut probe)?;
            edit.amazon = probe.amazon;
            edit.popmart = probe.popmart;
        }
        if let Some(k) = edit.keywords.take() {
            edit.keywords = Some(check_keywords(&kind, k)?);
        }
        // Everything is valid: apply it all, then save once.
        let (before, after) = {
            let mut s = task.source.lock();
            let before = s.clone();
            if let Some(name) = edit.name.filter(|n| !n.trim().is_empty()) {
                s.name = name.trim().to_string();
            }
            if let Some(url) = &url {
                s.url = url.as_str().trim_end_matches('/').to_string();
            }
            if let Some(i) = edit.interval {
                s.interval_secs = i.as_secs().max(1);
            }
            // Checked above: settings of another kind were refused.
            match (
                &mut s.settings,
                edit.page,
                edit.json,
                edit.amazon,
                edit.popmart,
            ) {
                (SourceSettings::Page(now), Some(p), ..) => *now = p,
                (SourceSettings::Json(now), _, Some(j), ..) => *now = j,
                (SourceSettings::Amazon(now), _, _, Some(a), _) => *now = a,
                (SourceSettings::Popmart(now), .., Some(p)) => *now = p,
                _ => {}
            }
            if let Some(k) = edit.keywords {
                s.keywords = k;
            }
            if let Some(e) = enabled {
                s.enabled = e;
            }
            (before, s.clone())
        };
        if let Err(e) = self.store.save_source(&after).await {
            // Not saved: back to what it was (keeping what a run changed meanwhile).
            let mut s = task.source.lock();
            let blocked = s.blocked;
            *s = Source { blocked, ..before };
            return Err(e.into());
        }
        if before.keywords != after.keywords {
            // The same pages read with another filter keep other products.
            task.catalogue_pages.forget_all();
        }
        if let (Some(url), true) = (&url, kind == model::SOURCE_KIND_POPMART) {
            self.fetcher
                .gates
                .set_rules(&host_key(url), self.cfg.popmart_politeness.clone());
        }
        match enabled {
            Some(true) => self.spawn_scheduler(&task),
            Some(false) => {
                if let Some(h) = task.handle.lock().take() {
                    h.abort();
                }
            }
            None => {}
        }
        Ok(after)
    }

    /// Stops polling a source and forgets it (its products' history stays).
    pub async fn remove_source(&self, key: &str) -> Result<(), EngineError> {
        let task = self.task(key)?;
        if let Some(h) = task.handle.lock().take() {
            h.abort();
        }
        self.store.delete_source(key).await?;
        self.sources.lock().remove(key);
        Ok(())
    }

    /// Polls a source now and waits for the run to end.
    pub async fn check_now(&self, key: &str) -> Result<PollRun, EngineError> {
        let task = self.task(key)?;
        self.run(&task).await
    }

    /// Makes a source's scheduler poll now without waiting for the result.
    pub fn trigger(&self, key: &str) -> Result<(), EngineError> {
        self.task(key)?.wake.notify_one();
        Ok(())
    }

    pub fn sources(&self) -> Vec<Source> {
        let mut v: Vec<Source> = self
            .sources
            .lock()
            .values()
            .map(|t| t.source.lock().clone())
            .collect();
        v.sort_by(|a, b| a.created.cmp(&b.created));
        v
    }

    /// A source's current (or last) run progress.
    pub fn progress(&self, key: &str) -> Option<RunProgress> {
        let task = self.task(key).ok()?;
        let p = task.progress.lock().clone();
        Some(p)
    }
}
