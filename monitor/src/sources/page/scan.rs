//! One linear pass over a page's tags, without building a DOM: what a
//! product page's `<meta>` tags, `<title>`, first `<h1>` and microdata items
//! say, for every page (a DOM is built only to match a user's CSS
//! selectors). Comments and the contents of
//! `<script>`, `<style>` and `<template>` are skipped; quoted `>` in
//! attributes is not an end; work and what is kept are bounded by the page
//! (already capped by the fetcher). Building html5ever's DOM of a 450 KB page
//! took most of a changed page's check; this pass reads only the tags.

use std::borrow::Cow;

use super::json_ld::find_ci;

/// A start or end tag: its name and its raw attribute text.
pub struct Tag<'a> {
    pub name: &'a str,
    /// An end tag (`</div>`).
    pub closing: bool,
    attrs: &'a str,
    /// Where the tag's content starts (just after its `>`).
    pub end: usize,
    /// Whether its attributes may be microdata (say `item` somewhere): a
    /// quick "no" for most tags, looked up once.
    pub microdata: bool,
}

impl<'a> Tag<'a> {
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// An attribute's value, its character references decoded.
    pub fn attr(&self, want: &str) -> Option<Cow<'a, str>> {
        // Most tags have not the attribute at all: said without parsing.
        find_ci(self.attrs, want)?;
        attrs(self.attrs)
            .find(|(n, _)| n.eq_ignore_ascii_case(want))
            .map(|(_, v)| decode(v))
    }
}

/// The `(name, raw value)` pairs of a tag's attribute text.
fn attrs(s: &str) -> impl Iterator<Item = (&str, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'/') {
            i += 1;
        }
        let name = s.get(start..i)?;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' {
            return Some((name, ""));
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let from = i + 1;
                let to = s.get(from..)?.find(q as char).map_or(b.len(), |j| from + j);
                i = (to + 1).min(b.len());
                s.get(from..to)?
            }
            _ => {
                let from = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                s.get(from..i)?
            }
        };
        Some((name, value))
    })
}

/// The start tags of `html`, in order.
pub fn tags(html: &str) -> impl Iterator<Item = Tag<'_>> {
    let b = html.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || loop {
        let lt = at + html.get(at..)?.find('<')?;
        let rest = html.get(lt..)?;
        if rest.starts_with("<!--") {
            at = rest.find("-->").map_or(html.len(), |j| lt + j + 3);
            continue;
        }
        let closing = rest.starts_with("</");
        let skip = if closing { 2 } else { 1 };
        let name_len = rest
            .bytes()
            .skip(skip)
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if name_len == 0 {
            // A doctype, a stray '<': to its '>'.
            at = rest.find('>').map_or(html.len(), |j| lt + j + 1);
            continue;
        }
        let name = html.get(lt + skip..lt + skip + name_len)?;
        let lt = lt + skip - 1;
        // The tag ends at the first '>' outside quotes (found with memchr,
        // quote to quote).
        let mut i = lt + 1 + name_len;
        loop {
            let Some(j) = b
                .get(i..)
                .and_then(|r| memchr::memchr3(b'>', b'"', b'\'', r))
            else {
                i = b.len();
                break;
            };
            i += j;
            let Some(&q) = b.get(i).filter(|&&c| c != b'>') else {
                break;
            };
            i = b
                .get(i + 1..)
                .and_then(|r| memchr::memchr(q, r))
                .map_or(b.len(), |k| i + 1 + k + 1);
        }
        let attrs = html.get(lt + 1 + name_len..i).unwrap_or("");
        let end = (i + 1).min(html.len());
        at = end;
        // Raw text: nothing in it is a tag.
        for raw in ["script", "style", "template", "textarea"] {
            if !closing && name.eq_ignore_ascii_case(raw) {
                let close = format!("</{raw}");
                at = html
                    .get(end..)
                    .and_then(|r| find_ci(r, &close))
                    .map_or(html.len(), |j| end + j);
            }
        }
        return Some(Tag {
            name,
            closing,
            attrs,
            end,
            microdata: find_ci(attrs, "item").is_some(),
        });
    })
}

/// The text from `from` to the close of `name` (`</h1`), inner tags
/// dropped, references decoded, spaces collapsed; at most 2,000 bytes read.
pub fn text_until(html: &str, from: usize, name: &str) -> String {
    let rest = html.get(from..).unwrap_or("");
    let stop = find_ci(rest, &format!("</{name}")).unwrap_or(rest.len());
    let mut cut = stop.min(2000);
    while !rest.is_char_boundary(cut) {
        cut -= 1;
    }
    let raw = rest.get(..cut).unwrap_or("");
    let mut out = String::new();
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    crate::normalise::collapse_spaces(&decode(&out))
}

/// Character references as pages write them in attributes and text.
pub fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or(""));
        let after = rest.get(i + 1..).unwrap_or("");
        let semi = after.find(';').filter(|j| *j <= 10);
        let decoded = semi.and_then(|j| {
            let name = after.get(..j)?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => '\u{a0}',
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((c, j))
        });
        match decoded {
            Some((c, j)) => {
                out.push(c);
                rest = after.get(j + 1..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_attributes_and_text_as_pages_write_them() {
        let html = r#"<!doctype html><!-- <meta name="x" content="comment"> -->
<script>var s = "<meta name='x' content='script'>";</script>
<META Property="og:title" CONTENT='Tee &amp; Cap "Blue"' data-x="a>b">
<meta name=price content=12.50><h1 class="t">Tee <b>&amp;</b>
 Cap</h1><span itemprop="price">$9</span><p><"#;
        // </script>, </h1> (and </b> inside it), </span>: 4 end tags.
        assert_eq!(tags(html).filter(|t| t.closing).count(), 4);
        let found: Vec<(String, Option<String>)> = tags(html)
            .filter(|t| !t.closing)
            .map(|t| {
                (
                    t.name.to_ascii_lowercase(),
                    t.attr("content").map(|c| c.into_owned()),
                )
            })
            .collect();
        assert_eq!(
            found,
            vec![
                ("script".into(), None),
                ("meta".into(), Some("Tee & Cap \"Blue\"".into())),
                ("meta".into(), Some("12.50".into())),
                ("h1".into(), None),
                ("b".into(), None),
                ("span".into(), None),
                ("p".into(), None),
            ]
        );
        let h1 = tags(html).find(|t| t.is("h1")).unwrap();
        assert_eq!(text_until(html, h1.end, "h1"), "Tee & Cap");
        assert_eq!(decode("&#8364; 5 &#x41; &bogus; &"), "€ 5 A &bogus; &");
        assert_eq!(find_ci("<SCRIPT><Script>", "<script>"), Some(0));
        assert_eq!(find_ci("xx</sCrIpT", "</script"), Some(2));
        assert_eq!(find_ci("scrip", "script"), None);
        // Found by a byte that is not a letter (the '+').
        assert_eq!(find_ci("a LD+JSON b", "ld+json"), Some(2));
        assert_eq!(find_ci("ld+jsoX Ld+Json", "ld+json"), Some(8));
        assert_eq!(find_ci("d+json ld+jso", "ld+json"), None);
        assert_eq!(find_ci("+json", "ld+json"), None);
        // An unclosed tag or quote ends with the page, not a panic.
        assert_eq!(tags("<meta content=\"open").count(), 1);
        assert_eq!(tags("</").count(), 0);
        assert_eq!(tags("<").count(), 0);
    }
}
