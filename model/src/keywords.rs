//! A source's keyword filter: watch only the products of a catalogue whose
//! words match ("dunk, jordan"), and none with words the user left out
//! ("kids"). What a drop monitor watches in a shop of thousands of products.

use serde::{Deserialize, Serialize};

/// Include and exclude terms, matched without case as whole words (or their
/// plural) of a product's title, brand, type and tags: "dunk" matches "Dunk
/// Low" and "Dunks", "air jordan 1" matches "Air Jordan 1 Retro" but not
/// "Air Jordan 11", "kids" does not match "Skids".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeywordFilter {
    /// A product must match one of these (none: every product).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// A product matching one of these is left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl KeywordFilter {
    /// The most terms a filter keeps on each side.
    pub const MAX_TERMS: usize = 50;
    /// The longest term, in characters.
    pub const MAX_TERM_CHARS: usize = 60;

    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    /// Terms written as a user types them: separated by commas or lines.
    pub fn from_text(include: &str, exclude: &str) -> KeywordFilter {
        KeywordFilter {
            include: terms(include),
            exclude: terms(exclude),
        }
        .tidy()
    }

    /// The terms in their compared form (lower case, words separated by one
    /// space), without repeats or empty ones; an error for too many or too
    /// long.
    pub fn checked(self) -> Result<KeywordFilter, String> {
        for t in self.include.iter().chain(&self.exclude) {
            if t.chars().count() > Self::MAX_TERM_CHARS {
                return Err(format!(
                    "the keyword {t:?} is longer than {} characters",
                    Self::MAX_TERM_CHARS
                ));
            }
        }
        let f = self.tidy();
        if f.include.len() > Self::MAX_TERMS || f.exclude.len() > Self::MAX_TERMS {
            return Err(format!(
                "at most {} keywords to include and {} to leave out",
                Self::MAX_TERMS,
                Self::MAX_TERMS
            ));
        }
        Ok(f)
    }

    fn tidy(self) -> KeywordFilter {
        let clean = |list: Vec<String>| {
            let mut out: Vec<String> = vec![];
            for t in list.iter().map(|t| words(t)) {
                if !t.is_empty() && !out.contains(&t) {
                    out.push(t);
                }
            }
            out
        };
        KeywordFilter {
            include: clean(self.include),
            exclude: clean(self.exclude),
        }
    }

    /// Whether a product with these words is watched.
    pub fn admits<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> bool {
        if self.is_empty() {
            return true;
        }
        let mut text = String::from(" ");
        for f in fields {
            text.push_str(&words(f));
            text.push(' ');
        }
        let found = |t: &String| {
            let needle = format!(" {t}");
            text.match_indices(&needle).any(|(i, _)| {
                let rest = text.get(i + needle.len()..).unwrap_or("");
                rest.starts_with(' ') || rest.starts_with("s ") || rest.starts_with("es ")
            })
        };
        (self.include.is_empty() || self.include.iter().any(found))
            && !self.exclude.iter().any(found)
    }

    /// The filter in words, for a source's card ("dunk, jordan; not kids").
    pub fn describe(&self) -> String {
        match (self.include.is_empty(), self.exclude.is_empty()) {
            (true, true) => String::new(),
            (false, true) => self.include.join(", "),
            (true, false) => format!("not {}", self.exclude.join(", ")),
            (false, false) => format!(
                "{}; not {}",
                self.include.join(", "),
                self.exclude.join(", ")
            ),
        }
    }
}

fn terms(raw: &str) -> Vec<String> {
    raw.split([',', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// Lower case, letters and digits only, one space between words.
fn words(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_match_at_the_start_of_words_without_case() {
        let f = KeywordFilter::from_text("Dunk, air jordan 1\n\n, dunk", " kids ,");
        assert_eq!(f.include, ["dunk", "air jordan 1"]);
        assert_eq!(f.exclude, ["kids"]);
        assert!(f.admits(["Nike Dunk Low 'Panda'"]));
        assert!(f.admits(["Dunks"]));
        assert!(f.admits(["Air-Jordan 1 Retro High OG", "Jordan"]));
        assert!(!f.admits(["Air Jordan 11 Retro"]), "1 is not 11");
        assert!(!f.admits(["Dunk Low (Kids')"]));
        assert!(!f.admits(["Samba OG"]));
        assert!(f.admits(["Skids Dunk"]), "kids is not a word of skids");
        assert!(!f.admits(["Dunkin Low"]), "nor dunk one of dunkin");
        assert!(
            !f.admits(["Dunk Low", "Nike", "Sneakers", "kids"]),
            "tags count"
        );
        assert!(KeywordFilter::default().admits(["anything"]));
        let only_out = KeywordFilter::from_text("", "kids");
        assert!(only_out.admits(["Samba OG"]) && !only_out.admits(["Samba Kids"]));
        assert_eq!(f.describe(), "dunk, air jordan 1; not kids");
        assert_eq!(only_out.describe(), "not kids");
    }

    #[test]
    fn filters_are_bounded() {
        let long = "x".repeat(61);
        assert!(KeywordFilter::from_text(&long, "").checked().is_err());
        let many: Vec<String> = (0..51).map(|i| format!("t{i}")).collect();
        assert!(KeywordFilter::from_text(&many.join(","), "")
            .checked()
            .is_err());
        let f = KeywordFilter {
            include: vec!["  DUNK  low ".into(), "".into()],
            exclude: vec![],
        }
        .checked()
        .unwrap();
        assert_eq!(f.include, ["dunk low"]);
    }
}
