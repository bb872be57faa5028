//! Sources in bulk (issue 19): what each watch of a changedetection.io
//! backup, or each line of a list of URLs, will become, or became. The
//! engine (`monitor::import`) reads the file and fills these; the Sources
//! page, the REST API and `dropwatch import` show them as they are.

use serde::{Deserialize, Serialize};

/// What became of one entry (a watch, a line, a channel, a rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// Previewed: "Import" will add it.
    WillAdd,
    /// Imported: added.
    Added,
    /// Already here (the same kind and address, or the same channel):
    /// nothing is added, nothing is lost.
    Duplicate,
    /// Not something Dropwatch does (a text-diff watch of a news page, a
    /// notification service it does not speak); `reason` says what.
    NotImported,
    /// Could not be imported as written; `reason` says why.
    Refused,
}

impl EntryState {
    pub fn label(self) -> &'static str {
        match self {
            EntryState::WillAdd => "will add",
            EntryState::Added => "added",
            EntryState::Duplicate => "already here",
            EntryState::NotImported => "not imported",
            EntryState::Refused => "refused",
        }
    }
}

/// One source to be made from a watch or a line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceEntry {
    /// Where it is in the file: "line 4", "watch 3f2c…".
    pub at: String,
    /// The address as written.
    pub url: String,
    /// The source kind it becomes ("page", "shopify", "json"), once known.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub interval_secs: Option<u64>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Imported paused (changedetection.io's paused watches).
    #[serde(default)]
    pub paused: bool,
    pub state: EntryState,
    #[serde(default)]
    pub reason: Option<String>,
    /// The source's key (when added, or the one already watching it).
    #[serde(default)]
    pub source: Option<String>,
    /// Price and stock points of its history carried over.
    #[serde(default)]
    pub history_points: usize,
}

/// What else an entry brings: a notification channel or a watch rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExtraKind {
    Channel,
    Rule,
}

/// A channel or a rule an import makes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExtraEntry {
    pub kind: ExtraKind,
    /// In words: a channel's redacted address, a rule's condition and scope.
    pub what: String,
    pub state: EntryState,
    #[serde(default)]
    pub reason: Option<String>,
}

/// What a preview or an import of sources said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceImport {
    /// What the file was read as ("changedetection.io backup", "list").
    pub format: String,
    /// Whether this only previewed (nothing was changed).
    pub preview: bool,
    pub sources: Vec<SourceEntry>,
    #[serde(default)]
    pub extras: Vec<ExtraEntry>,
}

impl SourceImport {
    fn count(&self, s: EntryState) -> usize {
        self.sources.iter().filter(|e| e.state == s).count()
    }

    /// The outcome in one sentence.
    pub fn summary(&self) -> String {
        let (will, added, dup, not, refused) = (
            self.count(EntryState::WillAdd),
            self.count(EntryState::Added),
            self.count(EntryState::Duplicate),
            self.count(EntryState::NotImported),
            self.count(EntryState::Refused),
        );
        let extras = |s: EntryState, k: ExtraKind| {
            self.extras
                .iter()
                .filter(|e| e.state == s && e.kind == k)
                .count()
        };
        let done = if self.preview { will } else { added };
        let verb = if self.preview { "will add" } else { "added" };
        let state = if self.preview {
            EntryState::WillAdd
        } else {
            EntryState::Added
        };
        let points: usize = self.sources.iter().map(|e| e.history_points).sum();
        let mut s = format!(
            "{}: {verb} {done} source{}",
            self.format,
            if done == 1 { "" } else { "s" }
        );
        let (ch, ru) = (
            extras(state, ExtraKind::Channel),
            extras(state, ExtraKind::Rule),
        );
        if ch + ru > 0 {
            s.push_str(&format!(", {ch} channel(s) and {ru} rule(s)"));
        }
        if points > 0 {
            s.push_str(&format!(" with {points} history points"));
        }
        s.push_str(&format!(
            "; {dup} already here, {not} not imported, {refused} refused."
        ));
        if self.preview {
            s.push_str(" Nothing is changed until you import.");
        }
        s
    }
}
