//! Importing sources on the Sources page (issue 19): pick a
//! changedetection.io backup (its zip or url-watches.json) or a list of URLs,
//! or paste the list; "Preview" shows what each watch or line will become
//! (added, already here, not imported, refused, and why, with the channels
//! and rules it brings), "Import" does it. The engine's
//! `Control::import_sources` reads and checks everything; a bad entry never
//! stops the others.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use model::{EntryState, ExtraEntry, ExtraKind, SourceEntry, SourceImport};

/// What a preview or an import said, for the page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceImportResult {
    /// The file could be read (a refused entry is not a failure).
    pub ok: bool,
    pub message: String,
    pub report: Option<SourceImport>,
}

/// The name the import form goes by (for a plain post's outcome).
pub const FORM: &str = "import-sources";

/// Reads a picked file into the hidden `file` field as a data URL (a zip is
/// binary; the server functions take a form, not an upload).
const READ_FILE_JS: &str = "var f=this.files&&this.files[0];var h=this.form.elements.namedItem('file');if(f){var r=new FileReader();r.onload=function(){h.value=r.result;};r.readAsDataURL(f);}else{h.value='';}";

/// The bytes of a `data:...;base64,` URL, or of text as it is.
#[cfg(any(feature = "ssr", test))]
fn file_bytes(file: &str, list: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    let file = file.trim();
    if file.is_empty() {
        return Ok(list.as_bytes().to_vec());
    }
    let data = file
        .strip_prefix("data:")
        .and_then(|rest| rest.split_once(";base64,"))
        .map(|(_, b64)| b64)
        .ok_or("the picked file did not arrive whole; pick it again")?;
    base64::engine::general_purpose::STANDARD
        .decode(data.trim())
        .map_err(|_| "the picked file did not arrive whole; pick it again".to_string())
}

/// Previews (`mode` other than "import") or imports sources (editors).
#[server]
pub async fn import_sources(
    file: Option<String>,
    list: Option<String>,
    mode: Option<String>,
) -> Result<SourceImportResult, ServerFnError> {
    use crate::api::{back_with_error, caller, control, FormResult};
    use monitor::import::ImportError;
    let who = caller(model::Role::Editor)?;
    let preview = mode.as_deref().map(str::trim) != Some("import");
    let result = match file_bytes(file.as_deref().unwrap_or(""), list.as_deref().unwrap_or("")) {
        Err(e) => SourceImportResult {
            ok: false,
            message: e,
            report: None,
        },
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => SourceImportResult {
            ok: false,
            message: "Pick a file or paste a list of URLs first.".into(),
            report: None,
        },
        Ok(bytes) => match control()?.import_sources(&who, &bytes, preview).await {
            Ok(report) => SourceImportResult {
                ok: true,
                message: report.summary(),
                report: Some(report),
            },
            Err(ImportError::Unreadable(e)) => SourceImportResult {
                ok: false,
                message: e,
                report: None,
            },
            Err(e) => return Err(ServerFnError::new(e.to_string())),
        },
    };
    back_with_error(
        "/sources",
        FORM,
        &FormResult {
            ok: result.ok,
            message: result.message.clone(),
            errors: vec![],
        },
    );
    Ok(result)
}

fn state_attr(s: EntryState) -> &'static str {
    match s {
        EntryState::WillAdd => "will_add",
        EntryState::Added => "added",
        EntryState::Duplicate => "duplicate",
        EntryState::NotImported => "not_imported",
        EntryState::Refused => "refused",
    }
}

#[component]
fn EntryRow(e: SourceEntry) -> impl IntoView {
    let bad = e.state == EntryState::Refused;
    let mut notes = vec![];
    if e.paused {
        notes.push("paused".to_string());
    }
    if let Some(s) = e.interval_secs {
        notes.push(format!("every {}", crate::api::format_interval(s)));
    }
    if !e.tags.is_empty() {
        notes.push(format!("tags: {}", e.tags.join(", ")));
    }
    if e.history_points > 0 {
        notes.push(format!("{} history points", e.history_points));
    }
    view! {
        <tr data-testid="import-source" data-state=state_attr(e.state)>
            <td class="hint">{e.at}</td>
            <td>{e.name.clone().unwrap_or_default()} <br/><code>{e.url}</code></td>
            <td>{e.kind.unwrap_or_default()}</td>
            <td class="hint">{notes.join(" · ")}</td>
            <td>
                <span class="state">{e.state.label()}</span>
                {e.reason.map(|r| view! {
                    <br/><span class=if bad { "error-text" } else { "hint" } data-testid="import-reason">{r}</span>
                })}
            </td>
        </tr>
    }
}

#[component]
fn ExtraRow(x: ExtraEntry) -> impl IntoView {
    let kind = match x.kind {
        ExtraKind::Channel => "channel",
        ExtraKind::Rule => "rule",
    };
    view! {
        <li data-testid="import-extra" data-kind=kind data-state=state_attr(x.state)>
            <strong>{x.state.label()}</strong> " " {kind} ": " <code>{x.what}</code>
            {x.reason.map(|r| view! { <span class="hint">" (" {r} ")"</span> })}
        </li>
    }
}

/// The import form and what the last preview or import said (editors).
/// `came_back`: a plain post's outcome, in words.
#[component]
pub fn SourceImportPanel(
    action: ServerAction<ImportSources>,
    came_back: Option<String>,
) -> impl IntoView {
    let result = action.value();
    view! {
        <section class="panel" aria-labelledby="import-sources-heading">
            <h2 id="import-sources-heading">"Import sources"</h2>
            <p class="hint">
                "A changedetection.io backup (its .zip or url-watches.json: restock and price watches become page sources, Shopify products.json watches Shopify sources, with their intervals, pause, tags, notification URLs, conditions and price history), or a list of URLs: one a line, or CSV with a "
                <code>"url"</code> " column and optional " <code>"kind, interval, name, tags"</code>
                ". Preview first: nothing changes until you press Import, and a bad entry never stops the others."
            </p>
            <ActionForm action=action attr:class="form" attr:data-testid="import-sources-form">
                <label>"File " <input type="file" data-testid="import-file" accept=".zip,.json,.csv,.txt,application/zip,application/json,text/csv,text/plain" onchange=READ_FILE_JS/></label>
                <input type="hidden" name="file" value=""/>
                <label>"Or paste URLs "
                    <textarea name="list" rows="4" spellcheck="false" autocomplete="off"
                        placeholder="https://shop.example.com\nurl,kind,interval,name,tags\nhttps://shop.example.com/products/dunk,page,5m,Dunk,nike;sb"></textarea>
                </label>
                <div class="row-actions">
                    <button type="submit" name="mode" value="preview" class="secondary">"Preview"</button>
                    <button type="submit" name="mode" value="import">"Import"</button>
                </div>
            </ActionForm>
            {came_back.map(|m| view! { <p class="hint" role="status" data-testid="import-sources-said">{m}</p> })}
            {move || result.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(r) => view! {
                    <p class=if r.ok { "ok" } else { "error" } role="status" data-testid="import-sources-summary">{r.message}</p>
                    {r.report.map(|rep| view! {
                        <div class="table-scroll">
                            <table class="log" data-testid="import-sources-lines">
                                <thead><tr><th>"Where"</th><th>"Address"</th><th>"Kind"</th><th>"Settings"</th><th>"What happens"</th></tr></thead>
                                <tbody>
                                    {rep.sources.into_iter().map(|e| view! { <EntryRow e/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <ul class="plain">
                            {rep.extras.into_iter().map(|x| view! { <ExtraRow x/> }).collect_view()}
                        </ul>
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
    fn a_picked_file_arrives_as_a_data_url_and_pasted_text_as_it_is() {
        assert_eq!(
            file_bytes("", "https://a.example\n").unwrap(),
            b"https://a.example\n"
        );
        assert_eq!(
            file_bytes("data:application/zip;base64,UEsDBA==", "ignored").unwrap(),
            b"PK\x03\x04"
        );
        assert!(file_bytes("data:application/zip;base64,@@@", "").is_err());
        assert!(file_bytes("not a data url", "").is_err());
    }
}
