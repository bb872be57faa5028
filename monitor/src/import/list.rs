//! A list of URLs to import: a text file with one address a line, or a CSV
//! whose header names its columns (`url`, and optionally `kind`,
//! `interval`, `name`, `tags`). Lines starting with `#` and blank lines are
//! skipped; a line that cannot be read is refused with its reason and never
//! stops the others.

use std::time::Duration;

use super::Candidate;

/// At most this many lines are read (a larger list is cut, and says so).
pub const MAX_LINES: usize = 2_000;

/// The columns a CSV list may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    Url,
    Kind,
    Interval,
    Name,
    Tags,
    Other,
}

fn column(name: &str) -> Column {
    match name.trim().to_ascii_lowercase().as_str() {
        "url" | "address" | "link" => Column::Url,
        "kind" | "type" => Column::Kind,
        "interval" | "interval_secs" | "every" | "check_every" => Column::Interval,
        "name" | "title" => Column::Name,
        "tags" | "tag" | "labels" => Column::Tags,
        _ => Column::Other,
    }
}

/// An interval as written: seconds ("300") or with a unit ("5m", "1h 30m").
fn interval(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(secs);
    }
    humantime::parse_duration(t)
        .map(|d: Duration| d.as_secs())
        .map_err(|e| {
            format!("the interval {t:?} is not a duration ({e}); write seconds or e.g. 5m")
        })
}

/// Whether the first row is a header: it names a `url` column.
fn is_header(row: &csv::StringRecord) -> bool {
    row.iter().any(|c| column(c) == Column::Url)
}

/// One line as CSV fields (quotes allowed; a field never spans lines in a
/// list of URLs).
fn fields(line: &str) -> Result<csv::StringRecord, csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(line.as_bytes());
    reader
        .records()
        .next()
        .unwrap_or_else(|| Ok(csv::StringRecord::new()))
}

/// Reads a list into candidates (refused ones carry their reason).
pub fn read(text: &str) -> Vec<Candidate> {
    let mut columns = vec![
        Column::Url,
        Column::Kind,
        Column::Interval,
        Column::Name,
        Column::Tags,
    ];
    let mut out = vec![];
    let mut first = true;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("line {}", i + 1);
        if out.len() >= MAX_LINES {
            out.push(Candidate::refused(
                &at,
                "",
                format!("the list is cut at {MAX_LINES} lines; import the rest as another file"),
            ));
            break;
        }
        let row = match fields(line) {
            Ok(r) => r,
            Err(e) => {
                out.push(Candidate::refused(
                    &at,
                    "",
                    format!("unreadable line ({e})"),
                ));
                continue;
            }
        };
        if std::mem::take(&mut first) && is_header(&row) {
            columns = row.iter().map(column).collect();
            continue;
        }
        out.push(candidate(&at, &row, &columns));
    }
    out
}

fn candidate(at: &str, row: &csv::StringRecord, columns: &[Column]) -> Candidate {
    let mut c = Candidate::new(at, "");
    for (value, col) in row.iter().zip(columns.iter()) {
        if value.is_empty() {
            continue;
        }
        match col {
            Column::Url => c.url = value.to_string(),
            Column::Kind => c.kind = Some(value.to_ascii_lowercase()),
            Column::Interval => match interval(value) {
                Ok(secs) => c.interval_secs = Some(secs),
                Err(e) => return c.refuse(e),
            },
            Column::Name => c.name = Some(value.to_string()),
            Column::Tags => {
                c.tags = value
                    .split([';', '|', ','])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            Column::Other => {}
        }
    }
    if c.url.is_empty() {
        return c.refuse("no URL on this line");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::EntryState;

    #[test]
    fn plain_lines_are_urls_and_comments_blanks_are_skipped() {
        let got =
            read("# my stores\nhttps://kith.com\n\n  https://shop.example.com/products/dunk  \n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].url, "https://kith.com");
        assert_eq!(got[0].at, "line 2");
        assert_eq!(got[1].url, "https://shop.example.com/products/dunk");
        assert!(got.iter().all(|c| c.refused.is_none()));
    }

    #[test]
    fn a_csv_header_names_the_columns_in_any_order() {
        let got = read("name,url,interval,tags,kind\nDunk,https://a.example/p/1,5m,\"nike;sb\",page\n,https://b.example,,,\n");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name.as_deref(), Some("Dunk"));
        assert_eq!(got[0].interval_secs, Some(300));
        assert_eq!(got[0].tags, vec!["nike", "sb"]);
        assert_eq!(got[0].kind.as_deref(), Some("page"));
        assert_eq!(got[1].url, "https://b.example");
        assert_eq!(got[1].kind, None);
    }

    #[test]
    fn a_bad_line_is_refused_with_its_reason_and_the_rest_are_read() {
        let got = read("url,interval\nhttps://a.example,soon\n,60\nhttps://c.example,60\n");
        assert_eq!(got.len(), 3);
        assert!(got[0]
            .refused
            .as_deref()
            .unwrap()
            .contains("interval \"soon\""));
        assert_eq!(got[0].at, "line 2");
        assert_eq!(got[1].refused.as_deref(), Some("no URL on this line"));
        assert!(got[2].refused.is_none());
        assert_eq!(got[2].interval_secs, Some(60));
        assert_eq!(got[0].entry().state, EntryState::Refused);
    }

    #[test]
    fn a_huge_list_is_cut_and_says_so() {
        let text: String = (0..MAX_LINES + 50)
            .map(|i| format!("https://s{i}.example\n"))
            .collect();
        let got = read(&text);
        assert_eq!(got.len(), MAX_LINES + 1);
        assert!(got[MAX_LINES]
            .refused
            .as_deref()
            .unwrap()
            .contains("cut at"));
    }
}
