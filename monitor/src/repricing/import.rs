//! Links in bulk (issue 21): a CSV of SKU pairs, previewed line by line,
//! then imported. Each line is checked like a link made on the page (the
//! tracked product or size found, the store's variant found, not fed by
//! another link, a markup the engine can use) and linked alone: a bad line
//! is refused with its reason and never stops the others.
//!
//! ```text
//! source_sku,store_sku,markup_percent
//! NK-DUNK-10,MY-DUNK-10,20
//! demo:8000123,https://admin.shopify.com/store/s/products/1/variants/2
//! demo:8000124#10,sku:MY-SHOE-10,
//! ```
//!
//! The source column is a tracked size's SKU (`sku:` in front to force it),
//! a tracked product's key (its lowest price) or `KEY#SIZE` (one size, by
//! its name or id). The store column is what the link form takes: a SKU of
//! the store, a variant's admin URL or its gid ([`target_spec`]). The markup
//! column is a percentage; left out, the link follows the store's tag and
//! default markups.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde_json::json;

use model::{ImportLine, ImportReport, ImportState, Markup, Product, Role};

use super::admin::{AdminError, AdminShop, AdminVariant};
use super::markup::check_markup;
use super::service::{target_spec, RepriceError, Repricer, PUSH_ATTEMPTS};
use crate::auth::Identity;

/// The most data lines one import takes (each may cost a few Admin API
/// points: 1000 lines take about two minutes of the Standard plan's bucket).
pub const MAX_IMPORT_LINES: usize = 1000;

/// One data line of the CSV, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvLine {
    /// The line's number in the file (from 1).
    pub line: usize,
    pub source: String,
    pub target: String,
    /// The markup column; empty or left out: none.
    pub percent: Option<String>,
}

/// A line's cells: comma-separated, a cell in double quotes may hold commas
/// (and `""` for a quote). None: a quote is not closed.
fn cells(line: &str) -> Option<Vec<String>> {
    let mut out = vec![];
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            ('"', true) => quoted = false,
            ('"', false) if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            (',', false) => out.push(std::mem::take(&mut cell).trim().to_string()),
            (c, _) => cell.push(c),
        }
    }
    if quoted {
        return None;
    }
    out.push(cell.trim().to_string());
    Some(out)
}

fn is_header(cells: &[String]) -> bool {
    let first = cells[0].to_lowercase();
    let second = cells.get(1).map(|c| c.to_lowercase()).unwrap_or_default();
    first.starts_with("source") && (second.starts_with("store") || second.starts_with("target"))
}

/// Reads the CSV into its data lines; a line that cannot be read is
/// already refused, with why. Blank lines, `#` comments and a header line
/// (`source_sku,store_sku,...`) are skipped.
pub fn read_csv(text: &str) -> Result<Vec<Result<CsvLine, ImportLine>>, RepriceError> {
    let mut out = vec![];
    let mut first = true;
    for (i, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        let n = i + 1;
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let was_first = std::mem::replace(&mut first, false);
        let Some(cs) = cells(raw) else {
            out.push(Err(ImportLine::new(n, raw.trim(), "")
                .refuse("a quote (\") is not closed on this line")));
            continue;
        };
        if was_first && is_header(&cs) {
            continue;
        }
        let (source, target) = (cs[0].clone(), cs.get(1).cloned().unwrap_or_default());
        let wrong = if !(2..=3).contains(&cs.len()) {
            Some(format!(
                "a line has 2 or 3 columns (source_sku,store_sku[,markup_percent]); this one has {}",
                cs.len()
            ))
        } else if source.is_empty() {
            Some("the source column is empty: give a tracked size's SKU or a product's key".into())
        } else if target.is_empty() {
            Some(
                "the store column is empty: give your store's SKU or the variant's admin URL"
                    .into(),
            )
        } else {
            None
        };
        out.push(match wrong {
            Some(why) => Err(ImportLine::new(n, &source, &target).refuse(why)),
            None => Ok(CsvLine {
                line: n,
                percent: cs.get(2).filter(|p| !p.is_empty()).cloned(),
                source,
                target,
            }),
        });
        if out.len() > MAX_IMPORT_LINES {
            return Err(RepriceError::Invalid(format!(
                "an import takes at most {MAX_IMPORT_LINES} lines; split the file"
            )));
        }
    }
    if out.is_empty() {
        return Err(RepriceError::Invalid(
            "the CSV has no lines to import: write one link a line, source_sku,store_sku[,markup_percent]".into(),
        ));
    }
    Ok(out)
}

/// The markup column: a percentage ("20", "20 %", "-5"); none: follow the
/// store's markups.
fn markup_of(percent: Option<&str>) -> Result<(Markup, bool), String> {
    let Some(raw) = percent else {
        return Ok((Markup::default(), true));
    };
    let t = raw.trim().trim_end_matches('%').trim();
    let percent: Decimal = t
        .parse()
        .map_err(|_| format!("bad markup: {raw:?} is not a percentage (e.g. 20)"))?;
    let m = Markup {
        percent,
        ..Markup::default()
    };
    check_markup(&m).map_err(|e| format!("bad markup: {e}"))?;
    Ok((m, false))
}

/// A tracked size whose SKU was asked for.
#[derive(Clone, Debug)]
struct SkuHit {
    key: String,
    variant: String,
    sku: String,
}

/// The source column's SKU, without a `sku:` in front.
fn sku_of(raw: &str) -> &str {
    let raw = raw.trim();
    raw.strip_prefix("sku:").unwrap_or(raw).trim()
}

impl Repricer {
    /// Previews (`preview`: nothing is linked) or imports a CSV of links
    /// (editors). Every line is in the report, in the file's order; the
    /// linked ones are audited like single links, the import as a whole too.
    pub async fn import_links(
        &self,
        who: &Identity,
        csv: &str,
        preview: bool,
    ) -> Result<ImportReport, RepriceError> {
        who.require(Role::Editor)?;
        let rows = read_csv(csv)?;
        let shop = self.shop()?;
        let index = self.sku_index(rows.iter().flatten().map(|l| sku_of(&l.source)));
        let mut found: HashMap<String, Result<AdminVariant, String>> = HashMap::new();
        // The store's variants the lines above took (a target takes one link).
        let mut taken: HashMap<String, usize> = HashMap::new();
        let mut lines = vec![];
        for row in rows {
            let line = match row {
                Err(refused) => refused,
                Ok(l) => {
                    self.import_line(who, &shop, &index, &mut found, &mut taken, l, preview)
                        .await
                }
            };
            lines.push(line);
        }
        let report = ImportReport::new(preview, lines);
        if !preview {
            self.accounts()
                .audit(
                    who,
                    "reprice.import",
                    "links",
                    None,
                    Some(json!({ "lines": report.lines.len(), "linked": report.linked, "refused": report.refused })),
                )
                .await?;
        }
        Ok(report)
    }

    /// One line: checked (the cheap checks before the ones that spend Admin
    /// API points), then linked unless previewing.
    #[allow(clippy::too_many_arguments)]
    async fn import_line(
        &self,
        who: &Identity,
        shop: &AdminShop,
        index: &HashMap<String, Vec<SkuHit>>,
        found: &mut HashMap<String, Result<AdminVariant, String>>,
        taken: &mut HashMap<String, usize>,
        l: CsvLine,
        preview: bool,
    ) -> ImportLine {
        let mut out = ImportLine::new(l.line, &l.source, &l.target);
        let (product, variant) = match self.import_source(&l.source, index) {
            Ok(x) => x,
            Err(why) => return out.refuse(why),
        };
        out.source_product = Some(product.key.clone());
        out.source_title = Some(product.title.clone());
        out.size = variant
            .as_ref()
            .and_then(|v| product.variants.iter().find(|x| &x.id == v))
            .map(|v| v.size.clone());
        let (markup, inherit) = match markup_of(l.percent.as_deref()) {
            Ok(m) => m,
            Err(why) => return out.refuse(why),
        };
        let (in_force, words) = self.markup_for(&product.key, &markup, inherit);
        out.markup = Some(words);
        let target = match found.get(l.target.trim()) {
            Some(r) => r.clone(),
            None => {
                let r = self.import_target(shop, &l.target).await;
                found.insert(l.target.trim().to_string(), r.clone());
                r
            }
        };
        let target = match target {
            Ok(t) => t,
            Err(why) => return out.refuse(why),
        };
        out.target_variant = Some(target.id.clone());
        out.target_title = Some(target.title.clone());
        if let Some(why) = self.already_linked(&target) {
            return out.refuse(why);
        }
        if let Some(line) = taken.get(&target.id) {
            return out.refuse(format!(
                "line {line} links {} already; one variant of your store follows one source",
                target.title
            ));
        }
        taken.insert(target.id.clone(), l.line);
        let store_currency = self
            .status()
            .currency
            .unwrap_or_else(|| product.currency.clone());
        if !store_currency.eq_ignore_ascii_case(&product.currency) && in_force.rate.is_none() {
            out.reason = Some(format!(
                "the source is priced in {} and your store sells in {store_currency}: give the link's markup a conversion rate, or it cannot be priced",
                product.currency
            ));
        }
        if preview {
            out.state = ImportState::WillLink;
            return out;
        }
        match self
            .add_link(who, &product, variant, target, markup, inherit)
            .await
        {
            Ok(link) => {
                out.state = ImportState::Linked;
                out.link = Some(link.id);
                out
            }
            Err(e) => out.refuse(e.to_string()),
        }
    }

    /// The source column: a size by SKU, a product by key, or `KEY#SIZE`.
    fn import_source(
        &self,
        raw: &str,
        index: &HashMap<String, Vec<SkuHit>>,
    ) -> Result<(Product, Option<String>), String> {
        let raw = raw.trim();
        if !raw.starts_with("sku:") {
            if let Some(p) = self.engine().product(raw) {
                return Ok((p, None));
            }
            if let Some((key, size)) = raw.rsplit_once('#') {
                if let Some(p) = self.engine().product(key.trim()) {
                    let size = size.trim();
                    let v = p
                        .variants
                        .iter()
                        .find(|v| v.size.eq_ignore_ascii_case(size) || v.id == size)
                        .map(|v| v.id.clone());
                    return match v {
                        Some(v) => Ok((p, Some(v))),
                        None => {
                            let sizes: Vec<&str> =
                                p.variants.iter().map(|v| v.size.as_str()).collect();
                            Err(format!(
                                "{} has no size {size:?}; it has {}",
                                p.title,
                                sizes.join(", ")
                            ))
                        }
                    };
                }
            }
        }
        let sku = sku_of(raw);
        let hits = index.get(&sku.to_lowercase()).cloned().unwrap_or_default();
        // The SKU as written wins over one that differs only in case.
        let exact: Vec<SkuHit> = hits.iter().filter(|h| h.sku == sku).cloned().collect();
        let hits = if exact.is_empty() { hits } else { exact };
        match hits.as_slice() {
            [] => Err(format!(
                "no tracked product has the SKU or key {sku:?} (is its source watched and read?)"
            )),
            [one] => self
                .engine()
                .product(&one.key)
                .map(|p| (p, Some(one.variant.clone())))
                .ok_or_else(|| format!("the product of the SKU {sku:?} is no longer tracked")),
            many => {
                let keys: HashSet<&str> = many.iter().map(|h| h.key.as_str()).collect();
                let mut keys: Vec<&str> = keys.into_iter().collect();
                keys.sort_unstable();
                let more = if keys.len() > 3 { ", …" } else { "" };
                keys.truncate(3);
                Err(format!(
                    "{} tracked sizes have the SKU {sku:?} (in {}{more}): it is ambiguous; name one as KEY#SIZE instead",
                    many.len(),
                    keys.join(", ")
                ))
            }
        }
    }

    /// The store column, found in the shop (throttling waited out).
    async fn import_target(&self, shop: &AdminShop, raw: &str) -> Result<AdminVariant, String> {
        let spec = target_spec(raw)?;
        let mut tries = 0;
        loop {
            tries += 1;
            match self.find_target(shop, &spec).await {
                Err(RepriceError::Shopify(AdminError::Throttled(wait)))
                    if tries < PUSH_ATTEMPTS =>
                {
                    tokio::time::sleep(wait).await
                }
                r => return r.map_err(|e| e.to_string()),
            }
        }
    }

    /// The tracked sizes (of products still listed) whose SKU is one of
    /// `skus`, by SKU in lower case: one pass over the catalogue.
    fn sku_index<'a>(&self, skus: impl Iterator<Item = &'a str>) -> HashMap<String, Vec<SkuHit>> {
        let wanted: HashSet<String> = skus.map(str::to_lowercase).collect();
        let mut out: HashMap<String, Vec<SkuHit>> = HashMap::new();
        let state = self.engine().state.lock();
        for p in state.values().filter(|p| !p.removed) {
            for v in &p.variants {
                let Some(sku) = v.sku.as_deref() else {
                    continue;
                };
                let k = sku.to_lowercase();
                if wanted.contains(&k) {
                    out.entry(k).or_default().push(SkuHit {
                        key: p.key.clone(),
                        variant: v.id.clone(),
                        sku: sku.to_string(),
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_comma_separated_and_may_be_quoted() {
        assert_eq!(cells("a, b ,c").unwrap(), vec!["a", "b", "c"]);
        assert_eq!(
            cells(r#""a,1","say ""hi""",20"#).unwrap(),
            vec!["a,1", "say \"hi\"", "20"]
        );
        assert_eq!(cells("a,").unwrap(), vec!["a", ""]);
        assert!(cells(r#""open,b"#).is_none());
    }

    #[test]
    fn the_csv_is_read_line_by_line_and_a_bad_line_is_refused_alone() {
        let csv = "\u{feff}source_sku,store_sku,markup_percent\r\n\
                   A-1,DW-1,20\r\n\
                   \r\n\
                   # a comment\n\
                   demo:1#10,https://admin.shopify.com/store/s/products/1/variants/2\n\
                   only-one-column\n\
                   a,b,c,d\n\
                   ,DW-9\n\
                   \"unclosed,DW-3\n";
        let rows = read_csv(csv).unwrap();
        assert_eq!(rows.len(), 6);
        assert_eq!(
            rows[0],
            Ok(CsvLine {
                line: 2,
                source: "A-1".into(),
                target: "DW-1".into(),
                percent: Some("20".into()),
            })
        );
        assert_eq!(rows[1].as_ref().unwrap().line, 5);
        assert_eq!(rows[1].as_ref().unwrap().percent, None);
        let why = |i: usize| rows[i].as_ref().unwrap_err().reason.clone().unwrap();
        assert!(why(2).contains("2 or 3 columns"), "{}", why(2));
        assert!(why(3).contains("has 4"), "{}", why(3));
        assert!(why(4).contains("source column is empty"), "{}", why(4));
        assert!(why(5).contains("quote"), "{}", why(5));
        assert_eq!(rows[5].as_ref().unwrap_err().line, 9);
    }

    #[test]
    fn an_empty_or_huge_csv_is_refused_whole() {
        assert!(matches!(
            read_csv("source,store\n\n"),
            Err(RepriceError::Invalid(_))
        ));
        let huge: String = (0..=MAX_IMPORT_LINES)
            .map(|i| format!("S-{i},T-{i}\n"))
            .collect();
        match read_csv(&huge) {
            Err(RepriceError::Invalid(why)) => assert!(why.contains("at most"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_markup_column_is_a_checked_percentage() {
        assert!(markup_of(None).unwrap().1, "none: the store's markups");
        let (m, inherit) = markup_of(Some(" 20 % ")).unwrap();
        assert_eq!((m.percent, inherit), (Decimal::from(20), false));
        assert!(markup_of(Some("lots")).unwrap_err().contains("bad markup"));
        assert!(markup_of(Some("-150")).unwrap_err().contains("-100 %"));
        assert!(markup_of(Some("1e30")).is_err());
    }
}
