//! `dropwatch probe URL`: reads one address as Dropwatch would -- the same
//! fetcher, politeness and connectors as polling (`monitor::probe`) -- and
//! prints what it would track, where each value came from and why anything
//! is missing; `--json` prints the same as JSON. It is the operator's own
//! command, so its requests may reach this machine and the LAN.
//!
//! Exit status: 0 when Dropwatch can track it; 1 when the address cannot be
//! read (no answer, an HTTP error, a challenge or block page); 3 when it was
//! read but holds nothing Dropwatch can track (no price, a contradiction, a
//! JSON API without a field mapping).

use std::fmt::Write as _;
use std::io::Write as _;

use model::probe::{ProbeProduct, ProbeVerdict};
use model::{PageSettings, Probe};
use monitor::fetch::FetchLimits;
use monitor::probe::ProbeRequest;

use super::ProbeArgs;

/// Read, but nothing to track (1 is "cannot be read"; clap uses 2).
const EXIT_NOTHING_TO_TRACK: i32 = 3;

pub async fn probe(args: ProbeArgs) -> anyhow::Result<()> {
    let phrases = |raw: &[String]| -> Vec<String> {
        raw.iter()
            .flat_map(|p| p.split(','))
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    };
    let request = ProbeRequest {
        url: args.url.clone(),
        currency: Some(args.currency.clone()),
        page: PageSettings {
            price_selector: args.price_selector.clone(),
            stock_selector: args.stock_selector.clone(),
            in_stock_phrases: phrases(&args.in_stock),
            out_of_stock_phrases: phrases(&args.sold_out),
        },
    };
    let limits = FetchLimits {
        timeout: args.timeout,
        ..FetchLimits::default()
    };
    let found = monitor::probe::probe(&request, limits).await?;
    let text = if args.json {
        serde_json::to_string_pretty(&found)? + "\n"
    } else {
        words(&found)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    match found.verdict {
        ProbeVerdict::Tracks => Ok(()),
        ProbeVerdict::Blocked | ProbeVerdict::Failed => std::process::exit(1),
        ProbeVerdict::Unreadable => std::process::exit(EXIT_NOTHING_TO_TRACK),
    }
}

/// The probe as a report to read: what came of it, each product with where
/// its values came from, its sizes, what the page's data says, and what
/// is missing and why.
pub fn words(p: &Probe) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}\n{}\n{}", p.url, p.headline(), p.http_line());
    if let Some(e) = &p.error {
        let _ = writeln!(out, "Why: {e}");
    }
    for product in &p.products {
        out.push('\n');
        if product.url != p.url {
            let _ = writeln!(out, "  {}", product.url);
        }
        out.push_str(&product_words(product));
    }
    if !p.evidence.is_empty() {
        let mut rows = vec![row(["What the page says", "price", "stock", "title"])];
        for e in &p.evidence {
            let price = match (&e.price, &e.currency) {
                (Some(p), Some(c)) => format!("{p} {c}"),
                (Some(p), None) => p.to_string(),
                (None, _) if e.present => "no price".into(),
                (None, _) => "none on the page".into(),
            };
            rows.push(row([
                e.from.label(),
                &price,
                e.availability.as_deref().unwrap_or("-"),
                e.title.as_deref().unwrap_or("-"),
            ]));
        }
        let _ = write!(out, "\n{}", table(&rows));
    }
    if let Some(j) = &p.json {
        let at = match j.items_at.as_deref() {
            Some("") => "/".to_string(),
            Some(at) => at.to_string(),
            None => "nowhere (no list of objects)".to_string(),
        };
        let _ = writeln!(
            out,
            "\nItems at {at}: {} of them; fields: {}",
            j.items,
            j.fields.join(", ")
        );
    }
    if !p.missing.is_empty() {
        out.push_str("\nMissing:\n");
        for m in &p.missing {
            let _ = writeln!(out, "  {}: {}", m.field.label(), m.why);
        }
    }
    for n in &p.notes {
        let _ = writeln!(out, "\nNote: {n}");
    }
    out
}

/// One product: each value and where it came from, then its sizes.
fn product_words(p: &ProbeProduct) -> String {
    let brand = p.brand.as_ref();
    let facts = vec![
        row(["Title", &p.title.value, p.title.from.label()]),
        row([
            "Brand",
            brand.map_or("-", |b| b.value.as_str()),
            brand.map_or("none", |b| b.from.label()),
        ]),
        row(["Currency", &p.currency.value, p.currency.from.label()]),
        row(["Price", &p.price_words(), p.price_from.label()]),
        row(["Stock", &p.stock_words(), p.stock_from.label()]),
    ];
    let mut sizes = vec![row(["Size", "Price", "Stock"])];
    for s in &p.sizes {
        let price = s.price_words(&p.currency.value);
        let stock = if s.available { "in stock" } else { "sold out" };
        sizes.push(row([&s.label, &price, stock]));
    }
    format!("{}\n{}", table(&facts), table(&sizes))
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Rows as columns padded to their widest cell, indented by two spaces.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::from("  ");
        for (cell, width) in r.iter().zip(&widths) {
            let _ = write!(line, "{cell:<width$}  ");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::probe::{Fact, Field, Origin, ProbeKind, ProbeSize};

    #[test]
    fn the_report_names_where_each_value_came_from() {
        let mut p = Probe::new("https://shop.example/products/lamp");
        p.kind = Some(ProbeKind::Page);
        p.verdict = ProbeVerdict::Tracks;
        p.status = Some(200);
        p.products.push(ProbeProduct {
            title: Fact::new("Lamp", Origin::JsonLd),
            brand: None,
            currency: Fact::new("EUR", Origin::OpenGraph),
            price_from: Origin::OpenGraphSale,
            stock_from: Origin::Assumed,
            sizes: vec![ProbeSize {
                label: "One size".into(),
                price: "120.00".parse().ok(),
                compare_at: Some("150.00".parse().unwrap()),
                available: true,
            }],
            url: p.url.clone(),
        });
        p.miss(Field::Brand, "no brand");
        let text = words(&p);
        assert!(
            text.contains("Product page: Dropwatch would track it."),
            "{text}"
        );
        assert!(text.contains("Title     Lamp"), "{text}");
        assert!(text.contains("Price     120.00 EUR"), "{text}");
        assert!(text.contains("OpenGraph (on sale)"), "{text}");
        assert!(
            text.contains("One size  120.00 EUR (was 150.00)  in stock"),
            "{text}"
        );
        assert!(text.contains("Missing:\n  brand: no brand"), "{text}");
    }
}
