//! Editing a link's markup on the Repricing page (issue 21): an "Edit
//! markup…" form on each link, starting from its markup (percent, fixed
//! amount, rounding, floor, ceiling, step guard, conversion rate,
//! auto-approve) or "follow the store's markups". Read and checked like a
//! new link's markup, then checked again and applied by
//! `Repricer::edit_link`, which writes nothing unless all of it is right.
//! Without the wasm it is a plain form post sent back to the page (with the
//! mistake next to its field when refused).

use leptos::prelude::*;

use model::Link;

#[cfg(feature = "ssr")]
use crate::api::{back_with_error, caller, control};
use crate::api::{FormResult, NoJsError};
use crate::markup_fields::MarkupFields;
use crate::markup_form::MarkupForm;
use crate::sources::outcome;

/// The name a link's edit form goes by (for a refused plain post).
pub fn form_name(link_id: &str) -> String {
    format!("edit-link:{link_id}")
}

/// Which field of the markup form an engine refusal is about.
#[cfg(any(feature = "ssr", test))]
fn markup_field(msg: &str) -> &'static str {
    if msg.contains("conversion rate") {
        "rate"
    } else if msg.contains("floor") || msg.contains("ceiling") {
        "floor"
    } else if msg.contains("step guard") {
        "guard"
    } else {
        "percent"
    }
}

/// Saves a link's markup, or makes it follow the store's markups
/// (`inherit`), checked whole before anything is written (editors).
#[server]
pub async fn edit_link(
    id: String,
    inherit: Option<String>,
    #[server(flatten)] markup: MarkupForm,
) -> Result<FormResult, ServerFnError> {
    use crate::repricing_api::result_of;
    use monitor::repricing::service::RepriceError;
    let who = caller(model::Role::Editor)?;
    let form = form_name(&id);
    let refuse = |r: FormResult| {
        back_with_error("/repricing", &form, &r);
        Ok(r)
    };
    let markup = match markup.markup() {
        Ok(m) => m,
        Err((f, m)) => return refuse(FormResult::field(f, m)),
    };
    let inherit = crate::markup_form::checked(&inherit);
    let r = control()?
        .repricing
        .edit_link(&who, &id, markup, inherit)
        .await;
    let field = match &r {
        Err(RepriceError::Invalid(m)) => markup_field(m),
        _ => "",
    };
    let r = result_of(r, field, |l| {
        let words = if l.inherit {
            "it follows the store's markups".to_string()
        } else {
            l.markup.describe()
        };
        format!("Saved: {words}. The next proposal uses it (\"Propose now\" makes one from the source's price now).")
    });
    match r {
        Ok(result) if !result.ok => refuse(result),
        other => other,
    }
}

/// The "Edit markup…" form of one link (editors). `editing` holds the id
/// of the link whose form was submitted last, so that one action's result
/// shows under that link's form only.
#[component]
pub fn LinkEditForm(
    link: Link,
    action: ServerAction<EditLink>,
    editing: RwSignal<String>,
    nojs: NoJsError,
) -> impl IntoView {
    let id = link.id.clone();
    let form = form_name(&id);
    let mine = id.clone();
    let result = Signal::derive(move || {
        editing
            .with(|e| *e == mine)
            .then(|| action.value().get())
            .flatten()
    });
    let open = nojs.is(&form);
    let came_back = open.then(|| (nojs.field.clone(), nojs.error.clone()));
    let whole = nojs.for_form(&form);
    let on_submit = {
        let id = id.clone();
        move |_: leptos::ev::MouseEvent| editing.set(id.clone())
    };
    view! {
        <details class="inline edit" open=open>
            <summary>"Edit markup…"</summary>
            <ActionForm action=action attr:class="form" attr:data-testid="edit-link">
                <input type="hidden" name="id" value=id.clone()/>
                <MarkupFields result prefix=format!("link-{id}") initial=Some(link.markup.clone()) came_back/>
                <label class="check"><input type="checkbox" name="inherit" checked=link.inherit/> " Follow the store's markups instead (by tag, else the store default)"</label>
                <button type="submit" on:click=on_submit>"Save markup"</button>
                {whole.map(|m| view! { <p class="error" role="alert">{m}</p> })}
                {outcome(result)}
            </ActionForm>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_refusal_is_shown_next_to_its_field() {
        assert_eq!(
            markup_field("the conversion rate 0 is not positive; give ..."),
            "rate"
        );
        assert_eq!(
            markup_field("floor and ceiling are positive prices"),
            "floor"
        );
        assert_eq!(
            markup_field("the step guard is a positive percentage"),
            "guard"
        );
        assert_eq!(
            markup_field("1e20 is beyond the largest value a markup may hold"),
            "percent"
        );
    }
}
