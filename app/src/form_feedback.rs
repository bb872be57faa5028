//! What a form's action said, shown next to the form: a refused field's
//! message under that field, and the outcome line under the form. Every
//! page's `ActionForm`s use these, so a plain (JavaScript-less) post and a
//! hydrated one read the same.

use leptos::prelude::*;

use crate::api::FormResult;

/// Shows a field's error under it, when the last submission had one.
/// The last result of a form's action.
pub(crate) trait ActionResult:
    Get<Value = Option<Result<FormResult, ServerFnError>>> + Clone + Send + Sync + 'static
{
}
impl<T: Get<Value = Option<Result<FormResult, ServerFnError>>> + Clone + Send + Sync + 'static>
    ActionResult for T
{
}

/// (`came_back`: the error a JavaScript-less post came back with, shown until
/// the form is submitted again.)
pub(crate) fn field_error(
    result: impl ActionResult,
    field: &'static str,
    id: String,
    came_back: Option<String>,
) -> impl IntoView {
    move || {
        match result.get() {
            Some(r) => r.ok().and_then(|r| r.error_for(field)),
            None => came_back.clone(),
        }
        .map(|m| view! { <p class="field-error" id=id.clone() role="alert">{m}</p> })
    }
}

/// The outcome line under a form.
pub(crate) fn outcome(result: impl ActionResult) -> impl IntoView {
    move || {
        result.get().map(|r| match r {
            Ok(r) if r.ok => view! { <p class="ok" role="status">{r.message}</p> }.into_any(),
            Ok(r) => view! { <p class="error" role="alert">{r.message}</p> }.into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
        })
    }
}
