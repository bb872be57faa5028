//! Importing links from a CSV on the Repricing page (issue 21): paste the
//! CSV (or pick a file, read into the box in the browser), "Preview" lists
//! what each line will do, "Import" links the good lines. The engine's
//! `Repricer::import_links` reads and checks the lines; a bad line is
//! refused with its reason and never stops the others.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use model::{ImportLine, ImportReport, ImportState};

/// What a preview or an import said, for the page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportResult {
    /// The file could be read (a refused line is not a failure).
    pub ok: bool,
    pub message: String,
    pub report: Option<ImportReport>,
}

/// The name the import form goes by (for a plain post's outcome).
pub const FORM: &str = "import";

/// Fills the CSV box from a picked file, in the browser (the server
/// functions take a form, not a file upload).
const READ_FILE_JS: &str = "var f=this.files&&this.files[0];if(f){var t=this.form.elements.namedItem('csv');f.text().then(function(s){t.value=s;});}";

/// The outcome in words for a plain (JavaScript-less) post, which goes back
/// to the page: the summary and the refused lines, shortened to fit a URL.
#[cfg(any(feature = "ssr", test))]
fn in_words(report: &ImportReport) -> String {
    let mut said = report.summary();
    for l in report
        .lines
        .iter()
        .filter(|l| l.state == ImportState::Refused)
    {
        said.push_str(&format!(
            " Line {}: {}.",
            l.line,
            l.reason.as_deref().unwrap_or("refused")
        ));
    }
    if said.chars().count() > 1500 {
        said = said.chars().take(1500).collect::<String>() + "…";
    }
    said
}

/// Previews (`mode` other than "import") or imports a CSV of links
/// (editors).
#[server]
pub async fn import_links(
    csv: Option<String>,
    mode: Option<String>,
) -> Result<ImportResult, ServerFnError> {
    use crate::api::{back_with_error, caller, control, FormResult};
    use monitor::repricing::service::RepriceError;
    let who = caller(model::Role::Editor)?;
    let preview = mode.as_deref().map(str::trim) != Some("import");
    let r = control()?
        .repricing
        .import_links(&who, csv.as_deref().unwrap_or(""), preview)
        .await;
    let result = match r {
        Ok(report) => ImportResult {
            ok: true,
            message: report.summary(),
            report: Some(report),
        },
        Err(RepriceError::Auth(e)) => {
            if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                r.set_status(http::StatusCode::FORBIDDEN);
            }
            return Err(ServerFnError::new(e.to_string()));
        }
        Err(e) => ImportResult {
            ok: false,
            message: e.to_string(),
            report: None,
        },
    };
    // Without JavaScript the browser comes back to the page, told what
    // happened in the query.
    let said = result
        .report
        .as_ref()
        .map(in_words)
        .unwrap_or_else(|| result.message.clone());
    back_with_error(
        "/repricing",
        FORM,
        &FormResult {
            ok: result.ok,
            message: said,
            errors: vec![],
        },
    );
    Ok(result)
}

fn state_attr(s: ImportState) -> &'static str {
    match s {
        ImportState::WillLink => "will_link",
        ImportState::Linked => "linked",
        ImportState::Refused => "refused",
    }
}

fn state_label(s: ImportState) -> &'static str {
    match s {
        ImportState::WillLink => "will link",
        ImportState::Linked => "linked",
        ImportState::Refused => "refused",
    }
}

#[component]
fn ImportRow(l: ImportLine) -> impl IntoView {
    let refused = l.state == ImportState::Refused;
    view! {
        <tr data-testid="import-line" data-state=state_attr(l.state) data-line=l.line.to_string()>
            <td>{l.line}</td>
            <td>
                {l.source_title.clone().unwrap_or_default()}
                {l.size.clone().map(|s| view! { " · size " {s} })}
                <br/><code>{l.source.clone()}</code>
            </td>
            <td>{l.target_title.clone().unwrap_or_default()} <br/><code>{l.target.clone()}</code></td>
            <td class="hint">{l.markup.clone().unwrap_or_default()}</td>
            <td>
                <span class="state" data-testid="import-state">{state_label(l.state)}</span>
                {l.reason.clone().map(|r| view! {
                    <br/><span class=if refused { "error-text" } else { "hint" } data-testid="import-reason">{r}</span>
                })}
            </td>
        </tr>
    }
}

/// The import form and what the last preview or import said (editors, with
/// a store connected). `came_back`: a plain post's outcome, in words.
#[component]
pub fn ImportPanel(action: ServerAction<ImportLinks>, came_back: Option<String>) -> impl IntoView {
    let result = action.value();
    view! {
        <section class="panel" aria-labelledby="import-heading">
            <h2 id="import-heading">"Import links from a CSV"</h2>
            <p class="hint">
                "One link a line: " <code>"source_sku,store_sku[,markup_percent]"</code>
                ". The source is a tracked size's SKU, a tracked product's key (its lowest price) or KEY#SIZE; your variant is its SKU, its admin URL or its id. Without a markup, the link follows the store's markups. Preview first: nothing is linked until you press Import, and a bad line never stops the others."
            </p>
            <ActionForm action=action attr:class="form" attr:data-testid="import-form">
                <label>"CSV "
                    <textarea name="csv" rows="6" spellcheck="false" autocomplete="off"
                        placeholder="source_sku,store_sku,markup_percent\nNK-DUNK-10,MY-DUNK-10,20"></textarea>
                </label>
                <label>"Or read a file " <input type="file" accept=".csv,text/csv,text/plain" onchange=READ_FILE_JS/></label>
                <div class="row-actions">
                    <button type="submit" name="mode" value="preview" class="secondary">"Preview"</button>
                    <button type="submit" name="mode" value="import">"Import"</button>
                </div>
            </ActionForm>
            {came_back.map(|m| view! { <p class="hint" role="status" data-testid="import-said">{m}</p> })}
            {move || result.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(r) => view! {
                    <p class=if r.ok { "ok" } else { "error" } role="status" data-testid="import-summary">{r.message}</p>
                    {r.report.map(|rep| view! {
                        <div class="table-scroll">
                            <table class="log" data-testid="import-lines">
                                <thead><tr><th>"Line"</th><th>"Tracked product"</th><th>"Your variant"</th><th>"Markup"</th><th>"What happens"</th></tr></thead>
                                <tbody>
                                    {rep.lines.into_iter().map(|l| view! { <ImportRow l/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    })}
                }.into_any(),
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_posts_outcome_names_the_refused_lines() {
        let good = ImportLine {
            state: ImportState::Linked,
            ..ImportLine::new(2, "A-1", "DW-1")
        };
        let bad = ImportLine::new(3, "nope", "DW-2").refuse("no tracked product has the SKU");
        let said = in_words(&ImportReport::new(false, vec![good, bad]));
        assert_eq!(
            said,
            "Linked 1 line; 1 refused. Line 3: no tracked product has the SKU."
        );
    }
}
