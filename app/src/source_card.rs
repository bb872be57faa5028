//! One source on the Sources page: its state in words (watching, paused,
//! blocked, failing), what it watches, a progress bar that moves while a
//! check runs, check now / pause / edit / remove (editors), and its last
//! runs with their duration, counts and errors in plain words.

use leptos::prelude::*;

use model::PollRun;

use crate::api::{
    format_interval, CheckSource, EditSource, RemoveSource, SetSourceEnabled, SourceRow,
};
use crate::form_feedback::field_error;
use crate::sources::NoJsForm;
use crate::time::LocalTime;

/// What an Amazon or Pop Mart source watches, in words.
fn watches(s: &model::Source) -> Option<String> {
    if let Some(a) = s.settings.amazon() {
        let shown: Vec<&str> = a.asins.iter().take(6).map(String::as_str).collect();
        let more = a.asins.len().saturating_sub(shown.len());
        return Some(format!(
            "{} ASIN{} on amazon.{}: {}{}",
            a.asins.len(),
            if a.asins.len() == 1 { "" } else { "s" },
            a.domain,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ));
    }
    let p = s.settings.popmart()?;
    let what = match p.watch.as_str() {
        "products" => format!("products {}", p.target),
        "category" => format!("category {}", p.target),
        "series" => format!("series {}", p.target),
        "search" => format!("search \"{}\"", p.target),
        _ => "new arrivals".to_string(),
    };
    Some(format!("Pop Mart {}: {what}", p.region))
}

/// "3.2 s", "2 min 5 s".
fn duration_words(run: &PollRun) -> String {
    let Some(end) = run.finished else {
        return "running".into();
    };
    let ms = (end - run.started).num_milliseconds().max(0);
    if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000)
    }
}

/// A run's error class in words a user understands.
pub fn class_words(class: &str) -> &'static str {
    match class {
        "password_protected" => "The store is password-protected",
        "rate_limited" => "Rate-limited by the store; backing off",
        "server_error" => "The store's server failed; will retry",
        "timeout" => "The store did not answer in time; will retry",
        "unreachable" => "Could not reach the store",
        "blocked" => "Blocked: the store answered with something that is not its catalogue",
        "too_large" => "The store's answer was too large",
        "backing_off" => "Waiting before asking this store again",
        "circuit_open" => "Paused after repeated failures; will try again later",
        "internal" => "Dropwatch could not save what it read",
        "unreadable" => "The answer came, but its price or stock could not be read",
        "refused" => "The API refused the credentials; check them under Connector accounts",
        "http_error" => "The store answered with an unexpected status",
        _ => "The check failed",
    }
}

#[component]
pub(crate) fn SourceCard(
    initial: SourceRow,
    row: Memo<Option<SourceRow>>,
    edit: ServerAction<EditSource>,
    toggle: ServerAction<SetSourceEnabled>,
    remove: ServerAction<RemoveSource>,
    check: ServerAction<CheckSource>,
    nojs: NoJsForm,
    can_edit: bool,
) -> impl IntoView {
    let s0 = initial.source.clone();
    let form = format!("edit-{}", s0.key);
    let edit_open = nojs.form == form;
    let (edit_url_err, edit_interval_err) =
        (nojs.error(&form, "url"), nojs.error(&form, "interval"));
    let runs_open = initial
        .runs
        .iter()
        .any(|r| r.error.is_some() || !r.skipped.is_empty() || !r.notes.is_empty());
    let key = s0.key.clone();
    let get = move || row.get().unwrap_or_else(|| initial.clone());
    let get2 = get.clone();
    let get3 = get.clone();
    let get4 = get.clone();
    let get5 = get.clone();
    let get6 = get.clone();
    let get7 = get.clone();
    let state = move || {
        let r = get2();
        if !r.source.enabled {
            ("paused", "Paused".to_string())
        } else if r.source.blocked {
            let why = r
                .runs
                .first()
                .and_then(|x| x.error.clone())
                .unwrap_or_default();
            ("blocked", format!("Blocked — {why}"))
        } else if let Some(err) = r.runs.first().and_then(|x| x.error_class.clone()) {
            ("failing", class_words(&err).to_string())
        } else {
            ("ok", "Watching".to_string())
        }
    };
    let state2 = state.clone();
    let edit_result = edit.value();
    let id = |f: &str| format!("{f}-{}", s0.key);
    let (url_err_id, interval_err_id) = (id("edit-url-error"), id("edit-interval-error"));
    let (k1, k2, k3, k4) = (
        s0.key.clone(),
        s0.key.clone(),
        s0.key.clone(),
        s0.key.clone(),
    );
    let name1 = nojs.typed(&form, "name").unwrap_or_else(|| s0.name.clone());
    let name2 = s0.name.clone();
    let (url1, url2) = (s0.url.clone(), s0.url.clone());
    let url3 = nojs.typed(&form, "url").unwrap_or_else(|| s0.url.clone());
    let kind = s0.kind();
    // Amazon's ASINs and a Pop Mart source's target are edited here too
    // (the region and what kind of list stay: add another source for those).
    let asins_text = s0.settings.amazon().map(|a| a.asins.join("\n"));
    let popmart_target = s0
        .settings
        .popmart()
        .filter(|p| p.watch != "new")
        .map(|p| p.target.clone());
    let k5 = key.clone();
    // A catalogue's keywords are edited here too (a product page is one product).
    let keyword_texts = (kind != model::SOURCE_KIND_PAGE).then(|| {
        (
            s0.keywords.include.join(", "),
            s0.keywords.exclude.join(", "),
        )
    });
    let interval_text = nojs
        .typed(&form, "interval")
        .unwrap_or_else(|| format_interval(s0.interval_secs));
    view! {
        <li class="source panel" data-testid="source" data-key=key.clone()>
            <div class="source-head">
                <h2>{move || get3().source.name}</h2>
                <span class="state" data-state=move || state().0 data-testid="source-state">{move || state2().1}</span>
            </div>
            <p class="muted">
                {kind} " · " <a href=url1 target="_blank" rel="noopener">{url2}</a>
                " · every " {move || format_interval(get4().source.interval_secs)}
            </p>
            {move || watches(&get6().source).map(|w| view! { <p class="muted" data-testid="watches">{w}</p> })}
            {move || {
                let k = get7().source.keywords.describe();
                (!k.is_empty()).then(|| view! { <p class="muted" data-testid="keywords">"Only: " {k}</p> })
            }}
            {move || {
                let r = get5();
                let p = r.progress.clone().unwrap_or_default();
                let pct = if r.running() { p.percent() } else if r.runs.is_empty() { 0 } else { 100 };
                let text = if r.running() {
                    match p.pages_expected {
                        Some(n) => format!("Checking: page {} of about {n} ({} products)", p.pages_done, p.products_seen),
                        None => format!("Checking: page {} ({} products)", p.pages_done, p.products_seen),
                    }
                } else {
                    match r.runs.first() {
                        Some(run) if run.error.is_none() && !run.skipped.is_empty() => format!(
                            "Last check done: {}, {} not readable (see below)",
                            run_counts(run), run.skipped.len()
                        ),
                        Some(run) if run.error.is_none() && !run.notes.is_empty() => format!(
                            "Last check done: {}, with a note (see below)",
                            run_counts(run)
                        ),
                        Some(run) if run.error.is_none() => format!("Last check done: {}", run_counts(run)),
                        Some(_) => "Last check failed (see below)".into(),
                        None => "Not checked yet".into(),
                    }
                };
                view! {
                    <div class="progress">
                        <progress max="100" value=pct aria-label=format!("Check progress of {}", r.source.name) data-testid="progress"></progress>
                        <span data-testid="progress-text">{format!("{pct}% · {text}")}</span>
                    </div>
                }
            }}
            {can_edit.then(|| view! {
            <div class="row-actions">
                <ActionForm action=check>
                    <input type="hidden" name="key" value=k1/>
                    <button type="submit" disabled=move || get().running()>"Check now"</button>
                </ActionForm>
                <ActionForm action=toggle>
                    <input type="hidden" name="key" value=k2/>
                    {move || {
                        let enabled = row.get().map(|r| r.source.enabled).unwrap_or(true);
                        view! {
                            <input type="hidden" name="enabled" value=if enabled { "false" } else { "true" }/>
                            <button type="submit">{if enabled { "Pause" } else { "Resume" }}</button>
                        }
                    }}
                </ActionForm>
                <details class="inline" open=edit_open>
                    <summary>"Edit"</summary>
                    <ActionForm action=edit attr:class="form">
                        <input type="hidden" name="key" value=k3/>
                        <label>"Name" <input type="text" name="name" value=name1/></label>
                        <label>"Store address" <input type="url" name="url" value=url3 required aria-describedby=url_err_id.clone()/></label>
                        {field_error(edit_result.clone(), "url", url_err_id, edit_url_err)}
                        <label>"Check every" <input type="text" name="interval" value=interval_text required aria-describedby=interval_err_id.clone()/></label>
                        {field_error(edit_result.clone(), "interval", interval_err_id, edit_interval_err)}
                        {asins_text.clone().map(|text| view! {
                            <label>"ASINs or Amazon product URLs " <span class="hint">"(one per line)"</span>
                                <textarea name="asins" rows="3" spellcheck="false">{text}</textarea>
                            </label>
                            {field_error(edit_result.clone(), "asins", format!("asins-error-{}", k5), None)}
                        })}
                        {keyword_texts.clone().map(|(only, not)| view! {
                            <label>"Only products with " <span class="hint">"(comma-separated; empty: every product)"</span>
                                <input type="text" name="keywords" value=only spellcheck="false"/>
                            </label>
                            {field_error(edit_result.clone(), "keywords", format!("keywords-error-{}", k5), None)}
                            <label>"Leave out products with" <input type="text" name="leave_out" value=not spellcheck="false"/></label>
                        })}
                        {popmart_target.clone().map(|text| view! {
                            <label>"Which " <span class="hint">"(product ids, a category or series id, or search words)"</span>
                                <input type="text" name="popmart_target" value=text spellcheck="false"/>
                            </label>
                            {field_error(edit_result.clone(), "popmart_target", format!("popmart-target-error-{}", k5), None)}
                        })}
                        <button type="submit">"Save"</button>
                    </ActionForm>
                </details>
                <details class="inline">
                    <summary>"Remove…"</summary>
                    <ActionForm action=remove>
                        <input type="hidden" name="key" value=k4/>
                        <p>"Stop watching " {name2} "? Its products and history are kept."</p>
                        <button type="submit" class="danger">"Remove source"</button>
                    </ActionForm>
                </details>
            </div>
            })}
            <details class="runs" open=runs_open>
                <summary>"Last runs"</summary>
                <div class="table-scroll"><table>
                    <thead><tr><th scope="col">"Started"</th><th scope="col">"Took"</th><th scope="col">"Pages"</th><th scope="col">"Products"</th><th scope="col">"Changes"</th><th scope="col">"Result"</th></tr></thead>
                    <tbody>
                        {move || row.get().map(|r| r.runs).unwrap_or_default().into_iter().map(|run| {
                            let result = match (&run.error, &run.error_class) {
                                (Some(e), Some(c)) => format!("{}: {e}", class_words(c)),
                                (Some(e), None) => e.clone(),
                                _ if run.finished.is_none() => "Running".into(),
                                _ if !run.skipped.is_empty() => format!(
                                    "OK, {} product(s) left as they were: {}",
                                    run.skipped.len(),
                                    run.skipped.join("; ")
                                ),
                                _ if !run.notes.is_empty() => format!("OK. Note: {}", run.notes.join("; ")),
                                _ => "OK".into(),
                            };
                            view! {
                                <tr class:failed=run.error.is_some()>
                                    <td><LocalTime at=run.started/></td>
                                    <td>{duration_words(&run)}</td>
                                    <td>{run.pages}</td>
                                    <td>{run.products}</td>
                                    <td>{run.changes}</td>
                                    <td>{result}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table></div>
            </details>
        </li>
    }
}

/// "1 product, 3 changes": a run's counts in words.
fn run_counts(run: &PollRun) -> String {
    let n = |count: u32, one: &str, many: &str| {
        format!("{count} {}", if count == 1 { one } else { many })
    };
    format!(
        "{}, {}",
        n(run.products, "product", "products"),
        n(run.changes, "change", "changes")
    )
}
