//! The Sources page's server functions: the sources with their runs, adding,
//! editing, pausing, checking and removing one, and the connector accounts.
//! A refused field comes back next to the field it is about
//! ([`model::FieldError`]).

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

use model::{PollRun, RunProgress, Source};

use crate::api::FormResult;
#[cfg(feature = "ssr")]
use crate::api::{back_to_form, back_to_sources, caller, control, engine, parse_interval, words};
pub use crate::source_form::{AddSourceForm, EditSourceForm};

/// A source with its run in progress and its latest runs (newest first).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRow {
    pub source: Source,
    pub progress: Option<RunProgress>,
    pub runs: Vec<PollRun>,
}

impl SourceRow {
    pub fn running(&self) -> bool {
        self.progress.as_ref().is_some_and(|p| p.running)
    }
}

/// How many past runs a source shows.
pub const RUNS_SHOWN: usize = 5;

#[cfg(feature = "ssr")]
pub(crate) async fn source_rows(
    engine: &monitor::Engine,
    runs: usize,
) -> Result<Vec<SourceRow>, ServerFnError> {
    let sources = engine.sources();
    let keys: Vec<String> = sources.iter().map(|s| s.key.clone()).collect();
    let mut latest = engine
        .store()
        .latest_runs(&keys, runs)
        .await
        .map_err(|e| words("could not read the poll runs", e))?;
    Ok(sources
        .into_iter()
        .map(|source| SourceRow {
            progress: engine.progress(&source.key),
            runs: latest.remove(&source.key).unwrap_or_default(),
            source,
        })
        .collect())
}

/// The sources page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourcesView {
    pub last_seq: u64,
    pub rows: Vec<SourceRow>,
    /// Whether the caller may add, change and check sources (editors and admins).
    pub can_edit: bool,
    /// The connector accounts, for admins (who set them); `None` for others.
    #[serde(default)]
    pub connectors: Option<ConnectorsView>,
}

/// Which connector accounts are set; never their passwords, keys or salts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectorsView {
    pub oxylabs_user: Option<String>,
    /// Whose the Oxylabs account is when it is the offered one.
    #[serde(default)]
    pub oxylabs_offered: Option<String>,
    /// Pop Mart regions with a client key and signing salt.
    pub popmart_regions: Vec<String>,
    /// Whose ready-made accounts this server offers ("the built-in demo").
    #[serde(default)]
    pub offered: Option<String>,
}

#[server(input = Json)]
pub async fn load_sources() -> Result<SourcesView, ServerFnError> {
    let who = caller(model::Role::Viewer)?;
    let engine = engine()?;
    let last_seq = engine.store().last_seq();
    Ok(SourcesView {
        last_seq,
        rows: source_rows(&engine, RUNS_SHOWN).await?,
        can_edit: who.viewer.can(model::Role::Editor),
        connectors: who.viewer.can(model::Role::Admin).then(|| {
            let c = engine.connector_status();
            ConnectorsView {
                oxylabs_user: c.oxylabs_user,
                oxylabs_offered: c.oxylabs_offered,
                popmart_regions: c.popmart_regions,
                offered: engine.offered_accounts().map(|o| o.label),
            }
        }),
    })
}

/// Sets the Oxylabs account Amazon sources use (admins). The password is
/// sealed in the vault and never shown again.
#[server]
pub async fn save_oxylabs(user: String, password: String) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Admin)?;
    match control()?.set_oxylabs(&who, &user, &password, "").await {
        Ok(()) => {
            back_to_sources();
            Ok(FormResult {
                ok: true,
                message: format!("Saved the Oxylabs account {:?}.", user.trim()),
                errors: vec![],
            })
        }
        Err(monitor::ControlError::Engine(monitor::EngineError::InvalidSource(m))) => {
            Ok(FormResult::field("password", m))
        }
        Err(e) => Err(words("could not save the Oxylabs account", e)),
    }
}

/// Sets a Pop Mart region's client key and signing salt (admins).
#[server]
pub async fn save_popmart_keys(
    region: String,
    client_key: String,
    salt: String,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Admin)?;
    match control()?
        .set_popmart_keys(&who, &region, &client_key, &salt)
        .await
    {
        Ok(()) => {
            back_to_sources();
            Ok(FormResult {
                ok: true,
                message: format!(
                    "Saved the Pop Mart keys for {}.",
                    region.trim().to_uppercase()
                ),
                errors: vec![],
            })
        }
        Err(monitor::ControlError::Engine(monitor::EngineError::InvalidSource(m))) => {
            Ok(FormResult::field("salt", m))
        }
        Err(e) => Err(words("could not save the Pop Mart keys", e)),
    }
}

/// Sets the connector accounts this server offers (admins), and says what
/// to add to try them.
#[server]
pub async fn use_offered_accounts() -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Admin)?;
    let note = control()?
        .use_offered_accounts(&who)
        .await
        .map_err(|e| words("could not use the offered accounts", e))?;
    back_to_sources();
    Ok(FormResult {
        ok: true,
        message: note,
        errors: vec![],
    })
}

/// Adds a source from the "Add a source" form (editors), or with "Preview"
/// shows what a JSON API source's mapping reads now.
#[server]
pub async fn add_source(
    #[server(flatten)] form: AddSourceForm,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let control = control()?;
    let typed = [
        ("url", form.url.as_str()),
        ("name", form.name.as_str()),
        ("interval", form.interval.as_str()),
    ];
    let fail =
        |field: &str, msg: String| Ok(back_to_form("add", FormResult::field(field, msg), &typed));
    let settings = match form.settings() {
        Ok(s) => s,
        Err(e) => return fail(e.field.as_str(), e.message),
    };
    let (url, interval) = (&form.url, &form.interval);
    // "Preview": what the mapping reads now, nothing added.
    if form.preview.is_some() {
        let Some(mapping) = settings.json else {
            return fail("kind", "Preview is for JSON API sources.".into());
        };
        return match control.engine.preview_json(url, None, mapping).await {
            Ok(found) => {
                let shown: Vec<String> = found
                    .iter()
                    .take(5)
                    .map(|p| {
                        let stock = if p.variants.iter().any(|v| v.available) {
                            "in stock"
                        } else {
                            "sold out"
                        };
                        let lo = p.price_range().map(|r| r.0).unwrap_or_default();
                        format!(
                            "{} — {lo} {} ({stock}, {} size{})",
                            p.title,
                            p.currency,
                            p.variants.len(),
                            if p.variants.len() == 1 { "" } else { "s" }
                        )
                    })
                    .collect();
                Ok(FormResult {
                    ok: true,
                    message: format!(
                        "Preview: {} item{} read. {}",
                        found.len(),
                        if found.len() == 1 { "" } else { "s" },
                        shown.join(" · ")
                    ),
                    errors: vec![],
                })
            }
            Err(monitor::EngineError::InvalidSource(msg)) => {
                Ok(FormResult::field("json_mapping", msg))
            }
            Err(monitor::EngineError::Field(f)) => fail(f.field.as_str(), f.message),
            Err(e) => Err(words("could not preview the source", e)),
        };
    }
    // Amazon and Pop Mart sources may leave the URL empty: the site or the
    // region's API host is used.
    let api_kind = settings.amazon.is_some() || settings.popmart.is_some();
    if !(api_kind && url.trim().is_empty()) {
        if let Err(e) = monitor::engine::source_url(url) {
            return fail("url", e.to_string());
        }
    }
    let secs = match parse_interval(interval) {
        Ok(s) => s,
        Err(e) => return fail("interval", e),
    };
    let source = control
        .add_source(
            &who,
            monitor::NewSource {
                key: None,
                kind: form.kind.clone(),
                url: url.clone(),
                name: Some(form.name.clone()),
                currency: None,
                interval: std::time::Duration::from_secs(secs),
                page: settings.page,
                json: settings.json,
                amazon: settings.amazon,
                popmart: settings.popmart,
                tags: vec![],
                keywords: settings.keywords,
            },
        )
        .await;
    // A refusal is shown next to the field it is about.
    let (source, added) = match source {
        Ok(v) => v,
        Err(monitor::ControlError::Engine(monitor::EngineError::Field(f))) => {
            return fail(f.field.as_str(), f.message)
        }
        Err(e) => return Err(words("could not add the source", e)),
    };
    let message = if !added {
        format!("{} is already watched as {:?}.", source.url, source.name)
    } else {
        format!("Added {:?}; its first check has started.", source.name)
    };
    back_to_sources();
    Ok(FormResult {
        ok: true,
        message,
        errors: vec![],
    })
}

/// Saves a source's "Edit…" form (editors); a refusal changes nothing.
#[server]
pub async fn edit_source(
    #[server(flatten)] form: EditSourceForm,
) -> Result<FormResult, ServerFnError> {
    let who = caller(model::Role::Editor)?;
    let control = control()?;
    let EditSourceForm {
        key,
        url,
        name,
        interval,
        asins,
        popmart_target,
        keywords,
        leave_out,
    } = form;
    let form_name = format!("edit-{key}");
    let typed = [
        ("url", url.as_str()),
        ("name", name.as_str()),
        ("interval", interval.as_str()),
    ];
    let fail = |field: &str, msg: String| {
        Ok(back_to_form(
            &form_name,
            FormResult::field(field, msg),
            &typed,
        ))
    };
    if let Err(e) = monitor::engine::source_url(&url) {
        return fail("url", e.to_string());
    }
    let secs = match parse_interval(&interval) {
        Ok(s) => s,
        Err(e) => return fail("interval", e),
    };
    let current = control.engine.sources().into_iter().find(|s| s.key == key);
    let amazon = match (asins, current.as_ref().and_then(|s| s.settings.amazon())) {
        (Some(text), Some(was)) => match model::AmazonSettings::from_text(&text, &was.domain) {
            Ok(mut a) => {
                a.geo_location = was.geo_location.clone();
                Some(a)
            }
            Err(e) => return fail("asins", e),
        },
        _ => None,
    };
    let popmart = match (
        popmart_target,
        current.as_ref().and_then(|s| s.settings.popmart()),
    ) {
        (Some(target), Some(was)) => Some(model::PopmartSettings {
            target,
            ..was.clone()
        }),
        _ => None,
    };
    let s = match control
        .edit_source(
            &who,
            &key,
            monitor::SourceEdit {
                name: Some(name.clone()),
                url: Some(url.clone()),
                interval: Some(std::time::Duration::from_secs(secs)),
                amazon,
                popmart,
                // The form shows the keywords for catalogues only.
                keywords: keywords.map(|k| {
                    model::KeywordFilter::from_text(&k, leave_out.as_deref().unwrap_or(""))
                }),
                ..Default::default()
            },
        )
        .await
    {
        Ok(s) => s,
        // A refusal (nothing was changed) is shown next to its field; the
        // edit form has the address, the interval, the ASINs, the Pop Mart
        // target and the keywords (the others are said under the address).
        Err(monitor::ControlError::Engine(monitor::EngineError::Field(f))) => {
            use model::SourceField as F;
            let field = match f.field {
                F::Interval | F::Asins | F::PopmartTarget | F::Keywords => f.field,
                _ => F::Url,
            };
            return fail(field.as_str(), f.message);
        }
        Err(e) => return Err(words("could not save the source", e)),
    };
    back_to_sources();
    Ok(FormResult {
        ok: true,
        message: format!("Saved {:?}.", s.name),
        errors: vec![],
    })
}

/// Pauses (`enabled` = false) or resumes a source.
#[server]
pub async fn set_source_enabled(key: String, enabled: bool) -> Result<(), ServerFnError> {
    let who = caller(model::Role::Editor)?;
    control()?
        .set_source_enabled(&who, &key, enabled)
        .await
        .map_err(|e| words("could not change the source", e))?;
    back_to_sources();
    Ok(())
}

#[server]
pub async fn remove_source(key: String) -> Result<(), ServerFnError> {
    let who = caller(model::Role::Editor)?;
    control()?
        .remove_source(&who, &key)
        .await
        .map_err(|e| words("could not remove the source", e))?;
    back_to_sources();
    Ok(())
}

/// Starts a run of the source now (its progress shows on the sources page).
#[server]
pub async fn check_source(key: String) -> Result<(), ServerFnError> {
    let who = caller(model::Role::Editor)?;
    control()?
        .check_source(&who, &key)
        .await
        .map_err(|e| words("could not start the check", e))?;
    back_to_sources();
    Ok(())
}
