//! What a user gives to add or change a source, and its checks: the kind,
//! the address, the interval, each kind's settings and the keywords. A
//! refusal names the field it is about ([`model::FieldError`]), so the
//! Sources form shows it next to that field and REST answers it with
//! `field`; nothing is changed by a refused source.

use std::time::Duration;

use url::Url;

use model::{FieldError, PageSettings, SourceField, SOURCE_KIND_PAGE};

use crate::engine::EngineError;

/// A refusal of `field`, in words that say what to do.
fn refuse(field: SourceField, message: impl Into<String>) -> EngineError {
    EngineError::Field(FieldError::new(field, message))
}

/// What a user gives to add a source.
#[derive(Clone, Debug)]
pub struct NewSource {
    /// The source's id; made from the URL when not given.
    pub key: Option<String>,
    pub kind: String,
    pub url: String,
    pub name: Option<String>,
    /// Defaults to USD: the Shopify catalogue does not say its currency.
    pub currency: Option<String>,
    pub interval: Duration,
    /// For "page" sources: CSS selectors and stock phrases (optional).
    pub page: PageSettings,
    /// For "json" sources: headers and the field mapping (required).
    pub json: Option<model::JsonMapping>,
    /// For "amazon" sources: the ASINs and the site (required).
    pub amazon: Option<model::AmazonSettings>,
    /// For "popmart" sources: region and what to watch (required).
    pub popmart: Option<model::PopmartSettings>,
    /// Labels (trimmed; at most 20 of 40 characters each are kept).
    pub tags: Vec<String>,
    /// Only the products these keywords admit (not for page sources).
    pub keywords: model::KeywordFilter,
}

impl NewSource {
    /// A source of `kind` at `url` with every optional part left out.
    pub fn new(kind: &str, url: &str, interval: Duration) -> NewSource {
        NewSource {
            key: None,
            kind: kind.into(),
            url: url.into(),
            name: None,
            currency: None,
            interval,
            page: PageSettings::default(),
            json: None,
            amazon: None,
            popmart: None,
            tags: vec![],
            keywords: model::KeywordFilter::default(),
        }
    }
}

impl NewSource {
    /// A source from a command line's `KIND=VALUE`: a URL for most kinds;
    /// for `amazon` ASINs or Amazon URLs joined with `+`; for `popmart`
    /// `REGION/WATCH[/TARGET]` (`HK/products/1159+1160`, `US/new`,
    /// `HK/search/labubu`).
    pub fn from_arg(kind: &str, value: &str, interval: Duration) -> Result<NewSource, EngineError> {
        let mut new = NewSource::new(kind, value, interval);
        if kind == model::SOURCE_KIND_AMAZON {
            let a = model::AmazonSettings::from_text(&value.replace('+', " "), "com")
                .map_err(|e| refuse(SourceField::Asins, e))?;
            new.url = String::new();
            new.amazon = Some(a);
        } else if kind == model::SOURCE_KIND_JSON {
            // A JSON API needs its mapping: the value names a file with the
            // URL, the headers and the mapping (see `json_source_file`).
            let text = std::fs::read_to_string(value).map_err(|e| {
                refuse(
                    SourceField::Url,
                    format!("json=FILE: could not read the mapping file {value:?} ({e})"),
                )
            })?;
            let (url, mapping) =
                json_source_file(&text).map_err(|e| refuse(SourceField::Url, e))?;
            new.url = url;
            new.json = Some(mapping);
        } else if kind == model::SOURCE_KIND_POPMART {
            let mut parts = value.splitn(3, '/');
            new.popmart = Some(model::PopmartSettings {
                region: parts.next().unwrap_or("").into(),
                watch: parts.next().unwrap_or("").into(),
                target: parts.next().unwrap_or("").replace('+', ","),
            });
            new.url = String::new();
        }
        Ok(new)
    }
}

/// A JSON API source written as a file (for `--source json=FILE`):
///
/// ```text
/// url = https://luckdata.io/api/sneaker-API/stockx?url=...
/// header X-Luckdata-Api-Key: ${LUCKDATA_API_KEY}
/// items = /data
/// id = /sku
/// title = /name
/// price = /price
/// ```
///
/// `#` lines are comments; every other line is a mapping line (`url =
/// /path` too: the item's own address).
pub fn json_source_file(text: &str) -> Result<(String, model::JsonMapping), String> {
    let (mut url, mut headers, mut lines) = (None, vec![], vec![]);
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some(h) = line.strip_prefix("header ") {
            headers.push(h.trim());
        } else if let Some(u) = line
            .strip_prefix("url")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('='))
            .map(str::trim)
            // `url = /link` is the mapping's field: the item's own address.
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        {
            url = Some(u.to_string());
        } else {
            lines.push(line);
        }
    }
    let url = url.ok_or("the mapping file needs a line url = https://...")?;
    let mapping = model::JsonMapping::from_lines(&lines.join("\n"), &headers.join("\n"))?;
    Ok((url, mapping))
}

/// An Amazon or Pop Mart source's settings: present for its kind, absent
/// for the others, valid. Fills in the URL when the user gave none.
pub(crate) fn check_api_settings(new: &mut NewSource) -> Result<(), EngineError> {
    let amazon = new.kind == model::SOURCE_KIND_AMAZON;
    let popmart = new.kind == model::SOURCE_KIND_POPMART;
    if !amazon && new.amazon.is_some() {
        return Err(refuse(SourceField::Asins, "ASINs are for Amazon sources"));
    }
    if !popmart && new.popmart.is_some() {
        return Err(refuse(
            SourceField::PopmartTarget,
            "a Pop Mart region and watch are for Pop Mart sources",
        ));
    }
    if amazon {
        let given = new.amazon.as_ref().ok_or_else(|| {
            refuse(
                SourceField::Asins,
                "an Amazon source needs at least one ASIN or Amazon product URL",
            )
        })?;
        // Read again as the form reads them: a REST body's ASINs and site
        // are held to the same rules (ten letters and digits, a site ending).
        let mut a = model::AmazonSettings::from_text(&given.asins.join(" "), &given.domain)
            .map_err(|e| refuse(SourceField::Asins, e))?;
        a.geo_location = given.geo_location.clone();
        let a = new.amazon.insert(a);
        if new.url.trim().is_empty() {
            new.url = format!("https://www.amazon.{}", a.domain);
        }
    }
    if popmart {
        let p = new.popmart.as_mut().ok_or_else(|| {
            refuse(
                SourceField::PopmartTarget,
                "a Pop Mart source needs a region and what to watch",
            )
        })?;
        p.check()
            .map_err(|e| refuse(SourceField::PopmartTarget, e))?;
        if new.url.trim().is_empty() {
            new.url = p.region_info().map(|r| r.0.to_string()).unwrap_or_default();
        }
        if new.currency.is_none() {
            new.currency = p.region_info().map(|r| r.1.to_string());
        }
    }
    Ok(())
}

/// A JSON source's mapping: present, paths that parse, headers whose
/// environment variables are set.
pub(crate) fn check_json_mapping(
    kind: &str,
    json: &Option<model::JsonMapping>,
    allowed_env: &[String],
) -> Result<(), EngineError> {
    use crate::sources::json::{check_mapping, headers};
    match (kind == model::SOURCE_KIND_JSON, json) {
        (false, None) => Ok(()),
        (false, Some(_)) => Err(refuse(
            SourceField::JsonMapping,
            "a field mapping is for JSON API sources",
        )),
        (true, None) => Err(refuse(
            SourceField::JsonMapping,
            "a JSON API source needs a field mapping (at least id, title and price)",
        )),
        (true, Some(m)) => {
            check_mapping(m).map_err(|e| refuse(SourceField::JsonMapping, e.to_string()))?;
            headers(&m.headers, allowed_env)
                .map_err(|e| refuse(SourceField::JsonMapping, e.to_string()))?;
            Ok(())
        }
    }
}

/// A keyword filter within its bounds; a page source has one product and
/// no filter.
pub(crate) fn check_keywords(
    kind: &str,
    keywords: model::KeywordFilter,
) -> Result<model::KeywordFilter, EngineError> {
    if kind == SOURCE_KIND_PAGE && !keywords.is_empty() {
        return Err(refuse(
            SourceField::Keywords,
            "keywords choose among a catalogue's products; a product page is one product",
        ));
    }
    keywords
        .checked()
        .map_err(|e| refuse(SourceField::Keywords, e))
}

/// Selectors that parse, phrases without blanks; only for page sources.
pub(crate) fn check_page_settings(kind: &str, page: &mut PageSettings) -> Result<(), EngineError> {
    if kind != SOURCE_KIND_PAGE {
        if !page.is_empty() {
            return Err(refuse(
                SourceField::PriceSelector,
                "CSS selectors and stock phrases are for product-page sources",
            ));
        }
        return Ok(());
    }
    for (what, field, sel) in [
        (
            "price",
            SourceField::PriceSelector,
            &mut page.price_selector,
        ),
        (
            "stock",
            SourceField::StockSelector,
            &mut page.stock_selector,
        ),
    ] {
        *sel = sel
            .take()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        if let Some(css) = sel {
            scraper::Selector::parse(css).map_err(|e| {
                refuse(
                    field,
                    format!("the {what} selector {css:?} is not valid CSS: {e}"),
                )
            })?;
        }
    }
    for list in [&mut page.in_stock_phrases, &mut page.out_of_stock_phrases] {
        *list = list
            .iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
    }
    Ok(())
}

/// A source key from its URL: "https://kith.com/" -> "kith-com".
pub(crate) fn slug(url: &Url) -> String {
    slug_text(&format!(
        "{}{}",
        url.host_str()
            .unwrap_or("source")
            .trim_start_matches("www."),
        url.path()
    ))
}

/// Lower-case letters and digits, other runs of characters as one '-'.
pub(crate) fn slug_text(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// A source's address, checked: an absolute http(s) URL with a host.
pub fn source_url(raw: &str) -> Result<Url, EngineError> {
    let url = Url::parse(raw.trim()).map_err(|e| {
        refuse(
            SourceField::Url,
            format!(
            "{raw:?} is not a URL ({e}); give the store's address, e.g. https://shop.example.com"
        ),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(refuse(
            SourceField::Url,
            format!("{url} is not a web address; it must start with https:// or http://"),
        ));
    }
    Ok(url)
}

/// A source's labels as kept: trimmed, without empties or repeats, at most
/// 20 of at most 40 characters.
pub(crate) fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for t in tags {
        let t: String = t.trim().chars().take(40).collect();
        if !t.is_empty() && !out.contains(&t) && out.len() < 20 {
            out.push(t);
        }
    }
    out
}

/// The longest interval between checks (a week); the shortest is a second.
pub const MAX_INTERVAL: Duration = Duration::from_secs(7 * 86_400);

pub(crate) fn check_interval(interval: Duration) -> Result<(), EngineError> {
    if interval < Duration::from_secs(1) {
        return Err(refuse(
            SourceField::Interval,
            "the interval must be at least 1 second",
        ));
    }
    if interval > MAX_INTERVAL {
        return Err(refuse(
            SourceField::Interval,
            "the interval can be at most 7 days (604800 seconds)",
        ));
    }
    Ok(())
}

/// What a user may change about a source (`None` keeps it as it is).
#[derive(Clone, Debug, Default)]
pub struct SourceEdit {
    pub name: Option<String>,
    pub url: Option<String>,
    pub interval: Option<Duration>,
    /// A page source's selectors and phrases, replaced as a whole.
    pub page: Option<PageSettings>,
    /// A JSON source's headers and mapping, replaced as a whole.
    pub json: Option<model::JsonMapping>,
    /// An Amazon source's ASINs, replaced as a whole.
    pub amazon: Option<model::AmazonSettings>,
    /// A Pop Mart source's region and watch, replaced as a whole.
    pub popmart: Option<model::PopmartSettings>,
    /// The keyword filter, replaced as a whole.
    pub keywords: Option<model::KeywordFilter>,
}
