//! Microdata items from the tag pass ([`super::scan`]), without a DOM:
//! each `itemscope` with its type, the item it is nested in, and its own
//! `itemprop` values (a nested item's properties are its own). Open
//! elements are tracked on a stack, closed by their end tag the way
//! browsers recover from a missing one (everything opened after it closes
//! too); void elements (`<meta>`, `<link>`...) never open.

use super::scan::{self, Tag};
use crate::normalise::collapse_spaces;

/// One microdata item.
pub struct Item {
    /// Its `itemtype` (space-separated URLs).
    pub types: String,
    pub parent: Option<usize>,
    /// Its own properties, in page order: (name, value).
    pub props: Vec<(String, String)>,
}

impl Item {
    /// Whether one of its types is schema.org's `name` (any prefix).
    pub fn is(&self, name: &str) -> bool {
        self.types
            .split_whitespace()
            .any(|t| t.rsplit('/').next() == Some(name))
    }

    /// Its first property `name` that is not empty.
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// What an `itemprop` element says: its `content`, `href`, `value` or
/// `src`, else its text.
fn value_of(html: &str, t: &Tag<'_>) -> String {
    t.attr("content")
        .or_else(|| t.attr("href"))
        .or_else(|| t.attr("value"))
        .map(|v| collapse_spaces(&v))
        .unwrap_or_else(|| scan::text_until(html, t.end, t.name))
}

/// Every microdata item of the page (its `tags`, from [`scan::tags`]), in
/// page order (at most 5,000, each with at most 200 properties: a page
/// cannot make this grow without bound).
pub fn items(html: &str, tags: &[Tag<'_>]) -> Vec<Item> {
    let mut items: Vec<Item> = vec![];
    // Open elements: (name, the item it starts, if any).
    let mut open: Vec<(&str, Option<usize>)> = vec![];
    for t in tags {
        if t.closing {
            if let Some(i) = open.iter().rposition(|(n, _)| t.is(n)) {
                open.truncate(i);
            }
            continue;
        }
        // Most tags say nothing of microdata: no attribute to look up.
        let (scope, props) = if t.microdata {
            (t.attr("itemscope").is_some(), t.attr("itemprop"))
        } else {
            (false, None)
        };
        let current = open.iter().rev().find_map(|(_, item)| *item);
        if let (Some(props), Some(c)) = (props, current) {
            let value = if scope {
                String::new()
            } else {
                value_of(html, t)
            };
            if let Some(item) = items.get_mut(c) {
                for p in props.split_whitespace() {
                    if item.props.len() < 200 {
                        item.props.push((p.to_string(), value.clone()));
                    }
                }
            }
        }
        // An item without a type still owns its properties.
        let started = (scope && items.len() < 5_000).then(|| {
            items.push(Item {
                types: t
                    .attr("itemtype")
                    .map(|t| t.into_owned())
                    .unwrap_or_default(),
                parent: current,
                props: vec![],
            });
            items.len() - 1
        });
        if !VOID.iter().any(|v| t.is(v)) && open.len() < 10_000 {
            open.push((t.name, started));
        }
    }
    items
}

/// Whether item `i` is `ancestor` or inside it.
pub fn within(items: &[Item], mut i: usize, ancestor: usize) -> bool {
    for _ in 0..items.len() {
        if i == ancestor {
            return true;
        }
        match items.get(i).and_then(|x| x.parent) {
            Some(p) => i = p,
            None => return false,
        }
    }
    false
}
