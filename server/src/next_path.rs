//! Where to go after signing in: the `next` parameter, kept only when it is
//! a path on this site, never an open redirect.
//!
//! Checking the text alone misses what browsers forgive: they drop tabs and
//! line breaks anywhere in a URL and read `\` as `/`, so `/\t/evil.example`
//! or `/\evil.example` become `//evil.example`, another site. So `next` is
//! resolved as a browser would resolve it, against a fixed base, and kept
//! (as its path and query, re-serialised) only if it stays on that origin.

use url::Url;

/// A stand-in for this server's origin (`.invalid` is never anyone's).
const BASE: &str = "http://dropwatch.invalid/";

/// The same-site path (and query) that `next` names; `/` for anything else.
pub fn local(next: Option<&str>) -> String {
    let base = Url::parse(BASE).expect("the base is a URL");
    next.filter(|n| n.starts_with('/'))
        .and_then(|n| base.join(n).ok())
        .filter(|u| u.origin() == base.origin())
        // `/..//evil.example` resolves to the path `//evil.example`, which a
        // Location header would read as another host.
        .filter(|u| !u.path().starts_with("//"))
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        })
        .unwrap_or_else(|| "/".into())
}

#[cfg(test)]
mod tests {
    use super::local;

    #[test]
    fn paths_on_this_site_are_kept() {
        assert_eq!(local(Some("/sources")), "/sources");
        assert_eq!(
            local(Some("/?q=dunk&brand=Nike&page=2")),
            "/?q=dunk&brand=Nike&page=2"
        );
        assert_eq!(local(Some("/product/demo:1#sizes")), "/product/demo:1");
        assert_eq!(local(None), "/");
        assert_eq!(local(Some("")), "/");
    }

    #[test]
    fn anything_a_browser_would_take_off_site_becomes_the_home_page() {
        for evil in [
            "//evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/\t\\evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            " //evil.example",
            "/..//evil.example",
            "/.//evil.example",
            "/\t/..//evil.example",
        ] {
            assert_eq!(local(Some(evil)), "/", "{evil:?}");
        }
    }

    #[test]
    fn encoded_separators_stay_encoded_in_a_local_path() {
        // Browsers do not decode these in a path: they stay on this site.
        for (given, kept) in [
            ("/%09/evil.example", "/%09/evil.example"),
            ("/%5C/evil.example", "/%5C/evil.example"),
            ("/%2F/evil.example", "/%2F/evil.example"),
        ] {
            let out = local(Some(given));
            assert_eq!(out, kept);
            assert!(!out.starts_with("//") && !out.contains('\\') && !out.contains('\t'));
        }
        assert_eq!(
            local(Some("/a b")),
            "/a%20b",
            "re-serialised, always a valid header"
        );
    }
}
