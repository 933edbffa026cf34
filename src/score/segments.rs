//! Reading hypotheses, references and sources for scoring: plain text with one segment
//! per line, or JSONL with one object per line whose named string field is the segment.
//! Lives in the library (not the CLI) so that the rules are tested and shared.

use std::path::Path;

use super::ScoreError;

/// How a segment file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFormat {
    /// JSONL when the file name ends in `.jsonl` or `.ndjson`, plain text otherwise.
    Auto,
    /// One segment per line; an empty line is an empty segment.
    Text,
    /// One JSON object per line; blank lines are skipped.
    Jsonl,
}

/// Reads a segment file. For JSONL the first of `fields` that holds a string is used.
pub fn read_segments(
    path: &Path,
    format: SegmentFormat,
    fields: &[&str],
) -> Result<Vec<String>, ScoreError> {
    let shown = path.display().to_string();
    let content = std::fs::read_to_string(path).map_err(|error| ScoreError::Read {
        path: shown.clone(),
        error,
    })?;
    let jsonl = match format {
        SegmentFormat::Text => false,
        SegmentFormat::Jsonl => true,
        SegmentFormat::Auto => path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson")),
    };
    if jsonl {
        parse_jsonl(&content, fields, &shown)
    } else {
        Ok(parse_text(&content))
    }
}

/// Lines without their `\n` or `\r\n`; a final newline does not start another segment.
fn parse_text(content: &str) -> Vec<String> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    if content.is_empty() {
        return Vec::new();
    }
    let body = content.strip_suffix('\n').unwrap_or(content);
    body.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line).to_owned())
        .collect()
}

fn parse_jsonl(content: &str, fields: &[&str], path: &str) -> Result<Vec<String>, ScoreError> {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    let mut segments = Vec::new();
    for (index, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let json_error = |message: String| ScoreError::Json {
            path: path.to_owned(),
            line: index + 1,
            message,
        };
        let value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| json_error(e.to_string()))?;
        let object = value
            .as_object()
            .ok_or_else(|| json_error("the line is not an object".to_owned()))?;
        let text = fields
            .iter()
            .find_map(|field| object.get(*field).and_then(|v| v.as_str()))
            .ok_or_else(|| ScoreError::MissingField {
                path: path.to_owned(),
                line: index + 1,
                fields: fields
                    .iter()
                    .map(|f| format!("{f:?}"))
                    .collect::<Vec<_>>()
                    .join(" or "),
            })?;
        segments.push(text.to_owned());
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_empty_segments_but_not_a_final_newline() {
        assert_eq!(parse_text("a\r\n\nb\n"), ["a", "", "b"]);
        assert_eq!(parse_text("a\n\n"), ["a", ""]);
        assert!(parse_text("").is_empty());
    }

    #[test]
    fn jsonl_takes_the_first_present_string_field() {
        let got = parse_jsonl(
            "{\"ref\":\"x\"}\n\n{\"text\":\"y\",\"ref\":\"z\"}\n",
            &["text", "ref"],
            "f",
        )
        .unwrap();
        assert_eq!(got, ["x", "y"]);
        let err = parse_jsonl("{\"output\":1}\n", &["output"], "f").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(parse_jsonl("[1]\n", &["output"], "f").is_err());
    }
}
