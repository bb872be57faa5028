//! The Sources page's two forms as typed values: what "Add a source" and a
//! source's "Edit…" send (their field names are the form's input names,
//! flattened into the server function), and how the add form's text becomes
//! a kind's settings. A mistake is a [`model::FieldError`] naming the input
//! it is about, shown next to it.

use serde::{Deserialize, Serialize};

/// What "Add a source" sends. Only the kind's own section is filled in;
/// "Preview" (JSON API sources) reads the mapping without adding anything.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AddSourceForm {
    pub kind: String,
    pub url: String,
    pub name: String,
    pub interval: String,
    #[serde(flatten)]
    pub page: PageForm,
    pub json_mapping: Option<String>,
    pub json_headers: Option<String>,
    pub asins: Option<String>,
    pub amazon_domain: Option<String>,
    pub popmart_region: Option<String>,
    pub popmart_watch: Option<String>,
    pub popmart_target: Option<String>,
    pub keywords: Option<String>,
    pub leave_out: Option<String>,
    /// Set (to anything) when "Preview" was pressed.
    pub preview: Option<String>,
}

/// A product page's selectors and stock phrases, as the add form and
/// "Test this URL" send them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PageForm {
    pub price_selector: Option<String>,
    pub stock_selector: Option<String>,
    /// Phrases that mean "in stock", separated by commas or lines.
    pub in_phrases: Option<String>,
    pub out_phrases: Option<String>,
}

impl PageForm {
    /// The settings, blank inputs left out.
    pub fn settings(&self) -> model::PageSettings {
        model::PageSettings {
            price_selector: filled(&self.price_selector),
            stock_selector: filled(&self.stock_selector),
            in_stock_phrases: phrases(&self.in_phrases),
            out_of_stock_phrases: phrases(&self.out_phrases),
        }
    }
}

/// What a source's "Edit…" sends: the address, name and interval always,
/// and the parts of its kind the form shows (ASINs, the Pop Mart target,
/// a catalogue's keywords).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EditSourceForm {
    pub key: String,
    pub url: String,
    pub name: String,
    pub interval: String,
    pub asins: Option<String>,
    pub popmart_target: Option<String>,
    pub keywords: Option<String>,
    pub leave_out: Option<String>,
}

/// The kind-specific parts of an added source, read from the form.
#[cfg(any(feature = "ssr", test))]
#[derive(Debug)]
pub struct AddedSettings {
    pub page: model::PageSettings,
    pub json: Option<model::JsonMapping>,
    pub amazon: Option<model::AmazonSettings>,
    pub popmart: Option<model::PopmartSettings>,
    pub keywords: model::KeywordFilter,
}

#[cfg(any(feature = "ssr", test))]
impl AddSourceForm {
    /// The kind's settings from its section of the form, or the first
    /// mistake with the input it is about.
    pub fn settings(&self) -> Result<AddedSettings, model::FieldError> {
        use model::{FieldError, SourceField as F};
        let kind = self.kind.as_str();
        if !model::SOURCE_KINDS.contains(&kind) {
            return Err(FieldError::new(F::Kind, format!("Unknown kind {kind:?}.")));
        }
        let page = self.page.settings();
        if kind != model::SOURCE_KIND_PAGE && !page.is_empty() {
            return Err(FieldError::new(
                F::PriceSelector,
                "selectors and phrases are for product-page sources",
            ));
        }
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let json = (kind == model::SOURCE_KIND_JSON)
            .then(|| {
                model::JsonMapping::from_lines(&text(&self.json_mapping), &text(&self.json_headers))
                    .map_err(|e| FieldError::new(F::JsonMapping, e))
            })
            .transpose()?;
        let amazon = (kind == model::SOURCE_KIND_AMAZON)
            .then(|| {
                let domain = filled(&self.amazon_domain).unwrap_or_else(|| "com".into());
                model::AmazonSettings::from_text(&text(&self.asins), &domain)
                    .map_err(|e| FieldError::new(F::Asins, e))
            })
            .transpose()?;
        let popmart = (kind == model::SOURCE_KIND_POPMART).then(|| model::PopmartSettings {
            region: text(&self.popmart_region),
            watch: text(&self.popmart_watch),
            target: text(&self.popmart_target),
        });
        Ok(AddedSettings {
            page,
            json,
            amazon,
            popmart,
            keywords: model::KeywordFilter::from_text(
                &text(&self.keywords),
                &text(&self.leave_out),
            ),
        })
    }
}

/// A text input's value, or `None` when left blank.
pub fn filled(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Phrases separated by commas or lines, blanks left out.
fn phrases(raw: &Option<String>) -> Vec<String> {
    raw.as_deref()
        .unwrap_or("")
        .split([',', '\n'])
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::SourceField as F;

    fn form(kind: &str) -> AddSourceForm {
        AddSourceForm {
            kind: kind.into(),
            url: "https://shop.example".into(),
            interval: "5m".into(),
            ..Default::default()
        }
    }

    #[test]
    fn each_kind_reads_its_own_section_only() {
        let mut page = form("page");
        page.page.price_selector = Some("  .price ".into());
        page.page.in_phrases = Some("in stock,\n available ,".into());
        let s = page.settings().unwrap();
        assert_eq!(s.page.price_selector.as_deref(), Some(".price"));
        assert_eq!(s.page.in_stock_phrases, ["in stock", "available"]);
        assert!(s.json.is_none() && s.amazon.is_none() && s.popmart.is_none());

        // A selector on a catalogue is refused at the selector.
        let mut shop = form("shopify");
        shop.page.price_selector = Some(".price".into());
        assert_eq!(shop.settings().unwrap_err().field, F::PriceSelector);
        // Blank selector inputs (the hidden section posts them) are not a mistake.
        shop.page.price_selector = Some("   ".into());
        assert!(shop.settings().unwrap().page.is_empty());
    }

    #[test]
    fn mistakes_name_their_input() {
        assert_eq!(form("gopher").settings().unwrap_err().field, F::Kind);
        let mut amazon = form("amazon");
        amazon.asins = Some("hello".into());
        assert_eq!(amazon.settings().unwrap_err().field, F::Asins);
        let mut json = form("json");
        json.json_mapping = Some("price /offers/price".into());
        assert_eq!(json.settings().unwrap_err().field, F::JsonMapping);
        json.json_mapping = Some("price = /offers/price".into());
        assert_eq!(
            json.settings().unwrap().json.unwrap().price,
            "/offers/price"
        );
    }

    #[test]
    fn amazon_defaults_to_the_us_site_and_keywords_are_kept() {
        let mut amazon = form("amazon");
        amazon.asins = Some("B0DW000001".into());
        amazon.amazon_domain = Some(" ".into());
        let s = amazon.settings().unwrap();
        assert_eq!(s.amazon.unwrap().domain, "com");
        let mut shop = form("shopify");
        shop.keywords = Some("dunk, jordan".into());
        shop.leave_out = Some("kids".into());
        let k = shop.settings().unwrap().keywords;
        assert!(k.admits(["Nike Dunk Low"]) && !k.admits(["Dunk Low Kids"]));
    }
}
