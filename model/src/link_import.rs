//! Links in bulk (issue 21): what each line of a CSV of SKU pairs will do,
//! or did. The engine (`monitor::repricing::import`) reads the CSV and
//! fills these; the Repricing page and the REST API show them as they are.

use serde::{Deserialize, Serialize};

/// What became of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Previewed: the tracked product and the store's variant were found;
    /// "Import" will link them.
    WillLink,
    /// Imported: linked.
    Linked,
    /// Not linked; `reason` says why.
    Refused,
}

/// One line of a CSV import of links.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportLine {
    /// The line's number in the CSV (1 is the first line).
    pub line: usize,
    /// The source column as written.
    pub source: String,
    /// The store column as written.
    pub target: String,
    pub state: ImportState,
    /// Why the line was refused; or, for a line that links, what to know
    /// (e.g. that its currencies differ and need a conversion rate).
    #[serde(default)]
    pub reason: Option<String>,
    /// The tracked product found (its key).
    #[serde(default)]
    pub source_product: Option<String>,
    #[serde(default)]
    pub source_title: Option<String>,
    /// The size found, when the line names one.
    #[serde(default)]
    pub size: Option<String>,
    /// The store's variant found (`gid://shopify/ProductVariant/...`).
    #[serde(default)]
    pub target_variant: Option<String>,
    #[serde(default)]
    pub target_title: Option<String>,
    /// The markup the link gets, in words.
    #[serde(default)]
    pub markup: Option<String>,
    /// The link made (imported lines).
    #[serde(default)]
    pub link: Option<String>,
}

impl ImportLine {
    /// A line as read, before anything is looked up.
    pub fn new(line: usize, source: &str, target: &str) -> ImportLine {
        ImportLine {
            line,
            source: source.to_string(),
            target: target.to_string(),
            state: ImportState::Refused,
            reason: None,
            source_product: None,
            source_title: None,
            size: None,
            target_variant: None,
            target_title: None,
            markup: None,
            link: None,
        }
    }

    /// Refused, and why.
    pub fn refuse(mut self, why: impl Into<String>) -> ImportLine {
        self.state = ImportState::Refused;
        self.reason = Some(why.into());
        self
    }
}

/// A CSV import, previewed or done: every line, in the file's order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    /// Nothing was linked: this says what "Import" would do.
    pub preview: bool,
    /// Lines that will link (preview) or were linked.
    pub linked: usize,
    pub refused: usize,
    pub lines: Vec<ImportLine>,
}

impl ImportReport {
    pub fn new(preview: bool, lines: Vec<ImportLine>) -> ImportReport {
        let refused = lines
            .iter()
            .filter(|l| l.state == ImportState::Refused)
            .count();
        ImportReport {
            preview,
            linked: lines.len() - refused,
            refused,
            lines,
        }
    }

    /// "3 lines will link, 1 is refused" / "Linked 3 lines; 1 refused".
    pub fn summary(&self) -> String {
        let lines = |n: usize| if n == 1 { "line" } else { "lines" };
        if self.preview {
            format!(
                "{} {} will link, {} {} refused.",
                self.linked,
                lines(self.linked),
                self.refused,
                if self.refused == 1 { "is" } else { "are" }
            )
        } else {
            format!(
                "Linked {} {}; {} refused.",
                self.linked,
                lines(self.linked),
                self.refused
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_counts_its_lines_and_says_so() {
        let good = ImportLine {
            state: ImportState::WillLink,
            ..ImportLine::new(2, "A-1", "DW-1")
        };
        let bad =
            ImportLine::new(3, "nope", "DW-2").refuse("no tracked product has the SKU \"nope\"");
        let r = ImportReport::new(true, vec![good, bad]);
        assert_eq!((r.linked, r.refused), (1, 1));
        assert_eq!(r.summary(), "1 line will link, 1 is refused.");
        let done = ImportReport::new(false, vec![]);
        assert_eq!(done.summary(), "Linked 0 lines; 0 refused.");
    }
}
