//! Links a shop gave (a product's page, its image, a size's cart link), kept
//! only when they are web addresses, written out as a browser would.
//!
//! Every product of every catalogue carries several links, each read again
//! at every poll: a 10,000-product catalogue is some 85,000 links a cycle.
//! Parsing each with the URL parser and writing it out again was a fifth of
//! a whole catalogue cycle's CPU, though shops send nearly every link
//! already in the parser's own form. So a link is first checked, in one pass
//! over its bytes, against a conservative description of that form (lower-case
//! host, no default port, no dot segments, only characters the parser leaves
//! alone); anything the check is not sure of goes through the parser. A test
//! holds the check to the parser's output on generated links.

use std::borrow::Cow;

/// The longest link kept (browsers handle more; shops never need it).
pub const MAX_LINK_CHARS: usize = 2048;

/// A link a shop gave, kept only when it is a web address (`http` or
/// `https`): `javascript:`, `data:` and the like are dropped, so they are
/// never stored or rendered. Written out as the URL parser would.
pub fn web_link(raw: &str) -> Option<String> {
    web_link_cow(raw).map(Cow::into_owned)
}

/// [`web_link`] without a copy when the link is already in its written-out
/// form: `Some(Borrowed)` is the input, trimmed.
pub fn web_link_cow(raw: &str) -> Option<Cow<'_, str>> {
    let t = raw.trim();
    if t.is_empty() || t.len() > MAX_LINK_CHARS {
        return None;
    }
    if is_written_out(t) {
        return Some(Cow::Borrowed(t));
    }
    let url = url::Url::parse(t).ok()?;
    // As parsed: what a browser would make of the text, written out.
    matches!(url.scheme(), "http" | "https").then(|| Cow::Owned(url.to_string()))
}

/// Keeps `link` when it is a web address, rewriting it only when the parser
/// writes it differently (no allocation for links already written out).
pub fn keep_web_link(link: &mut Option<String>) {
    let Some(l) = link.as_deref() else { return };
    match web_link_cow(l) {
        Some(Cow::Borrowed(b)) if b.len() == l.len() => {}
        other => *link = other.map(Cow::into_owned),
    }
}

/// Whether `t` is an `http(s)` address exactly as the URL parser writes
/// it out. False means "not sure", never "not a link".
fn is_written_out(t: &str) -> bool {
    let (rest, default_port) = if let Some(r) = t.strip_prefix("https://") {
        (r, 443)
    } else if let Some(r) = t.strip_prefix("http://") {
        (r, 80)
    } else {
        return false;
    };
    // The authority ends at the path, which must be there ("/"): the parser
    // adds it to "http://a.example" and "http://a.example?x".
    let Some(slash) = rest.find('/') else {
        return false;
    };
    let (authority, tail) = rest.split_at(slash);
    if authority.bytes().any(|b| b == b'?' || b == b'#') {
        return false;
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if let Some(p) = port {
        // Digits without a leading zero, in range, and not the default
        // (which the parser drops).
        let ok = !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && !p.starts_with('0')
            && p.parse::<u32>()
                .is_ok_and(|n| n <= 65535 && n != default_port);
        if !ok {
            return false;
        }
    }
    host_written_out(host) && tail_written_out(tail)
}

/// A lower-case domain of plain labels, or an IPv4 address written in its
/// usual dotted form.
fn host_written_out(host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    let labels = host.split('.');
    let mut last = "";
    for label in labels {
        // Empty labels, punycode (validated and maybe rewritten) and any
        // character but a-z, 0-9 and '-' go to the parser.
        if label.is_empty()
            || label.starts_with("xn--")
            || !label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return false;
        }
        last = label;
    }
    // A host whose last label is a number (or 0x...) is an IPv4 address,
    // which the parser writes out as a dotted quad: only that form is sure.
    if last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x") {
        let parts: Vec<&str> = host.split('.').collect();
        return parts.len() == 4
            && parts.iter().all(|p| {
                p.len() <= 3
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && (p.len() == 1 || !p.starts_with('0'))
                    && p.parse::<u16>().is_ok_and(|n| n <= 255)
            });
    }
    true
}

/// Characters the parser leaves as they are in a path, a query and a
/// fragment of an `http(s)` address (a subset: the rest go to the parser).
fn plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&()*+,;=:@/%".contains(&b)
}

/// The path (with no dot segments), then an optional query and fragment.
fn tail_written_out(tail: &str) -> bool {
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (tail, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (before_fragment, None),
    };
    let path_ok = path.bytes().all(|b| plain(b) || b == b'\'')
        && !path.split('/').any(is_dot_segment)
        && !path.contains("%2e")
        && !path.contains("%2E");
    // The query percent-encodes the apostrophe in http(s) addresses.
    let query_ok = query.is_none_or(|q| q.bytes().all(|b| plain(b) || b == b'?'));
    let fragment_ok =
        fragment.is_none_or(|f| f.bytes().all(|b| plain(b) || b == b'?' || b == b'\''));
    path_ok && query_ok && fragment_ok
}

fn is_dot_segment(s: &str) -> bool {
    s == "." || s == ".."
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn parsed(t: &str) -> Option<String> {
        let url = url::Url::parse(t.trim()).ok()?;
        matches!(url.scheme(), "http" | "https").then(|| url.to_string())
    }

    #[test]
    fn links_are_kept_as_the_parser_writes_them() {
        for (raw, kept) in [
            (
                "https://shop.example/products/a",
                Some("https://shop.example/products/a"),
            ),
            (
                "  https://shop.example/p?x=1#top ",
                Some("https://shop.example/p?x=1#top"),
            ),
            ("HTTPS://Shop.Example/p", Some("https://shop.example/p")),
            ("https://shop.example", Some("https://shop.example/")),
            ("http://shop.example:80/p", Some("http://shop.example/p")),
            ("http://127.1/p", Some("http://127.0.0.1/p")),
            ("http://127.0.0.1:3000/p", Some("http://127.0.0.1:3000/p")),
            ("https://s.example/a/../b", Some("https://s.example/b")),
            ("https://s.example/a b", Some("https://s.example/a%20b")),
            (
                "https://s.example/?q='x'",
                Some("https://s.example/?q=%27x%27"),
            ),
            ("javascript:alert(1)", None),
            ("data:text/html,<b>", None),
            ("/relative/path", None),
            ("", None),
        ] {
            assert_eq!(web_link(raw).as_deref(), kept, "{raw}");
            assert_eq!(web_link(raw), parsed(raw), "{raw}");
        }
        assert_eq!(
            web_link(&format!("https://s.example/{}", "a".repeat(MAX_LINK_CHARS))),
            None
        );
    }

    #[test]
    fn the_quick_check_agrees_with_the_parser_on_generated_links() {
        // Pieces that shops send and pieces that the parser rewrites, joined
        // at random: whenever the quick check says "written out", the parser
        // must write the link out byte for byte the same.
        const SCHEMES: &[&str] = &["https://", "http://", "HTTP://", "ftp://", "https:/"];
        const HOSTS: &[&str] = &[
            "shop.example",
            "Shop.example",
            "a-b.example",
            "127.0.0.1",
            "127.1",
            "0x7f.0.0.1",
            "1.2.3.256",
            "01.2.3.4",
            "xn--nxasmq6b.example",
            "a..b",
            "shop.example.",
            "[::1]",
            "user@shop.example",
            "b\u{fc}cher.example",
            "shop.123",
            "shop.0x1",
            "",
        ];
        const PORTS: &[&str] = &[
            "", ":8080", ":3000", ":80", ":443", ":0", ":080", ":65536", ":",
        ];
        const SAFE: &[&str] = &[
            "/",
            "a",
            "/products/",
            "9.5",
            "cart/add?id=1",
            "=",
            "&",
            "+",
            "~",
            "!",
            "$",
            "(",
            ")",
            "*",
            ",",
            ";",
            ":",
            "@",
            "'",
            "%41",
            "-",
            "_",
        ];
        const TRICKY: &[&str] = &[
            "..", ".", "/./", "/../", "%2e", "%2E", "%zz", "\"", " ", "?", "#", "\\", "|", "^",
            "`", "{", "}", "<", ">", "[", "]", "\u{e9}", "\t", "\n",
        ];
        let mut rng = StdRng::seed_from_u64(17);
        let pick = |rng: &mut StdRng, good: &[&'static str], bad: &[&'static str]| {
            if rng.random_bool(0.8) {
                good[rng.random_range(0..good.len())]
            } else {
                bad[rng.random_range(0..bad.len())]
            }
        };
        let mut quick = 0;
        for _ in 0..300_000 {
            let mut s = String::new();
            s.push_str(pick(&mut rng, &SCHEMES[..2], &SCHEMES[2..]));
            s.push_str(pick(&mut rng, &HOSTS[..4], &HOSTS[4..]));
            s.push_str(pick(&mut rng, &PORTS[..3], &PORTS[3..]));
            s.push_str(pick(&mut rng, &["/"], &["", "?", "#", "\\"]));
            for _ in 0..rng.random_range(0..8) {
                s.push_str(pick(&mut rng, SAFE, TRICKY));
            }
            if is_written_out(&s) {
                quick += 1;
                assert_eq!(parsed(&s).as_deref(), Some(s.as_str()), "{s:?}");
            }
            assert_eq!(web_link(&s), parsed(&s), "{s:?}");
        }
        assert!(quick > 50_000, "the quick check took only {quick} links");
    }

    #[test]
    fn a_kept_link_is_not_copied_and_a_bad_one_is_dropped() {
        let mut l = Some("https://shop.example/p".to_string());
        let before = l.as_ref().map(|s| s.as_ptr());
        keep_web_link(&mut l);
        assert_eq!(l.as_ref().map(|s| s.as_ptr()), before);
        let mut l = Some(" HTTPS://Shop.example/p ".to_string());
        keep_web_link(&mut l);
        assert_eq!(l.as_deref(), Some("https://shop.example/p"));
        let mut l = Some("javascript:alert(1)".to_string());
        keep_web_link(&mut l);
        assert_eq!(l, None);
    }
}
