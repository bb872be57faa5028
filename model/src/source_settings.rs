//! A source's kind as a type: each kind with the settings only it has. On
//! the wire (the database, REST, exports) a source still reads as before:
//! `kind` and, for the kinds that have them, `page`, `json`, `amazon` or
//! `popmart` beside it, so stored sources and users' scripts need no change.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    AmazonSettings, JsonMapping, PageSettings, PopmartSettings, SOURCE_KIND_AMAZON,
    SOURCE_KIND_JSON, SOURCE_KIND_PAGE, SOURCE_KIND_POPMART, SOURCE_KIND_SHOPIFY,
    SOURCE_KIND_WOOCOMMERCE,
};

/// What a source is, and how it is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSettings {
    /// A Shopify storefront's `products.json` (the shop or a collection).
    Shopify,
    /// A WooCommerce shop's Store API.
    WooCommerce,
    /// One product page of any shop, with selectors for when its data is
    /// missing or wrong.
    Page(PageSettings),
    /// A JSON API through a field mapping.
    Json(JsonMapping),
    /// Amazon products through Oxylabs.
    Amazon(AmazonSettings),
    /// Pop Mart's API in one region.
    Popmart(PopmartSettings),
}

impl SourceSettings {
    /// The kind's name ("shopify", "page"...), as forms, REST and the
    /// command line write it.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceSettings::Shopify => SOURCE_KIND_SHOPIFY,
            SourceSettings::WooCommerce => SOURCE_KIND_WOOCOMMERCE,
            SourceSettings::Page(_) => SOURCE_KIND_PAGE,
            SourceSettings::Json(_) => SOURCE_KIND_JSON,
            SourceSettings::Amazon(_) => SOURCE_KIND_AMAZON,
            SourceSettings::Popmart(_) => SOURCE_KIND_POPMART,
        }
    }

    /// A kind from its name and the settings given with it; settings of
    /// another kind are refused, missing ones are the kind's defaults.
    pub fn from_parts(
        kind: &str,
        page: Option<PageSettings>,
        json: Option<JsonMapping>,
        amazon: Option<AmazonSettings>,
        popmart: Option<PopmartSettings>,
    ) -> Result<SourceSettings, String> {
        let page = page.filter(|p| !p.is_empty());
        let settings = match kind {
            SOURCE_KIND_SHOPIFY => SourceSettings::Shopify,
            SOURCE_KIND_WOOCOMMERCE => SourceSettings::WooCommerce,
            SOURCE_KIND_PAGE => SourceSettings::Page(page.clone().unwrap_or_default()),
            SOURCE_KIND_JSON => SourceSettings::Json(json.clone().unwrap_or_default()),
            SOURCE_KIND_AMAZON => SourceSettings::Amazon(amazon.clone().unwrap_or_default()),
            SOURCE_KIND_POPMART => SourceSettings::Popmart(popmart.clone().unwrap_or_default()),
            other => {
                return Err(format!(
                    "unknown source kind {other:?}; known kinds: {}",
                    crate::SOURCE_KINDS.join(", ")
                ))
            }
        };
        let foreign = [
            ("page", page.is_some() && settings.page().is_none()),
            ("json", json.is_some() && settings.json().is_none()),
            ("amazon", amazon.is_some() && settings.amazon().is_none()),
            ("popmart", popmart.is_some() && settings.popmart().is_none()),
        ];
        match foreign.iter().find(|(_, bad)| *bad) {
            Some((what, _)) => Err(format!(
                "{what} settings are not for a {} source",
                settings.kind()
            )),
            None => Ok(settings),
        }
    }

    pub fn page(&self) -> Option<&PageSettings> {
        match self {
            SourceSettings::Page(p) => Some(p),
            _ => None,
        }
    }

    pub fn json(&self) -> Option<&JsonMapping> {
        match self {
            SourceSettings::Json(m) => Some(m),
            _ => None,
        }
    }

    pub fn amazon(&self) -> Option<&AmazonSettings> {
        match self {
            SourceSettings::Amazon(a) => Some(a),
            _ => None,
        }
    }

    pub fn popmart(&self) -> Option<&PopmartSettings> {
        match self {
            SourceSettings::Popmart(p) => Some(p),
            _ => None,
        }
    }

    /// Whether it is one product (a page), not a list of them.
    pub fn is_one_product(&self) -> bool {
        matches!(self, SourceSettings::Page(_))
    }
}

/// How a source's kind and settings are written: beside its other fields.
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceSettingsWire {
    /// "shopify", "woocommerce", "page", "json", "amazon" or "popmart".
    pub kind: String,
    /// For "page" sources: how to read the page when its structured data
    /// does not say (or contradicts itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<PageSettings>,
    /// For "json" sources: request headers and where each field is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<JsonMapping>,
    /// For "amazon" sources: the ASINs and the Amazon site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amazon: Option<AmazonSettings>,
    /// For "popmart" sources: the region and what to watch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popmart: Option<PopmartSettings>,
}

impl Serialize for SourceSettings {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SourceSettingsWire {
            kind: self.kind().to_string(),
            page: self.page().filter(|p| !p.is_empty()).cloned(),
            json: self.json().cloned(),
            amazon: self.amazon().cloned(),
            popmart: self.popmart().cloned(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for SourceSettings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = SourceSettingsWire::deserialize(d)?;
        SourceSettings::from_parts(&w.kind, w.page, w.json, w.amazon, w.popmart)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SourceSettings {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <SourceSettingsWire as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SourceSettings {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_reads_and_writes_as_it_always_has() {
        // As the previous version stored them: kind, and the settings of
        // that kind beside it (an empty `page` left out).
        for (stored, kind) in [
            (r#"{"kind":"shopify"}"#, "shopify"),
            (r#"{"kind":"woocommerce"}"#, "woocommerce"),
            (r#"{"kind":"page"}"#, "page"),
            (
                r#"{"kind":"page","page":{"price_selector":".p","stock_selector":null,"in_stock_phrases":[],"out_of_stock_phrases":[]}}"#,
                "page",
            ),
            (
                r#"{"kind":"json","json":{"headers":[],"items":"","id":"/id","title":"/t","brand":"","price":"/p","currency":"","stock":"","image":"","url":"","variants":"","variant_id":"","variant_size":"","variant_price":"","variant_stock":"","next":""}}"#,
                "json",
            ),
            (
                r#"{"kind":"amazon","amazon":{"asins":["B00JTX7SH2"],"domain":"com","geo_location":null}}"#,
                "amazon",
            ),
            (
                r#"{"kind":"popmart","popmart":{"region":"HK","watch":"new","target":""}}"#,
                "popmart",
            ),
        ] {
            let s: SourceSettings = serde_json::from_str(stored).unwrap();
            assert_eq!(s.kind(), kind);
            let again = serde_json::to_string(&s).unwrap();
            assert_eq!(again, stored, "written back byte for byte");
        }
        let p: SourceSettings =
            serde_json::from_str(r#"{"kind":"page","page":{"price_selector":".p"}}"#).unwrap();
        assert_eq!(p.page().unwrap().price_selector.as_deref(), Some(".p"));
        // The previous version wrote `page: {}`-less Shopify sources, and
        // `json: null` beside a Shopify kind: still read.
        assert_eq!(
            serde_json::from_str::<SourceSettings>(r#"{"kind":"shopify","json":null}"#).unwrap(),
            SourceSettings::Shopify
        );
    }

    #[test]
    fn settings_of_another_kind_and_unknown_kinds_are_refused() {
        let e = serde_json::from_str::<SourceSettings>(
            r#"{"kind":"shopify","amazon":{"asins":[],"domain":"com"}}"#,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("amazon settings are not for a shopify source"),
            "{e}"
        );
        let e = serde_json::from_str::<SourceSettings>(r#"{"kind":"ebay"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown source kind"), "{e}");
        assert!(SourceSettings::from_parts(
            "shopify",
            Some(PageSettings {
                price_selector: Some(".p".into()),
                ..PageSettings::default()
            }),
            None,
            None,
            None
        )
        .is_err());
    }
}
