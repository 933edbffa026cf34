//! Removing scraped-page boilerplate before a model sees the article. Only whole lines
//! or a trailing footer on a line are removed, never words of an article sentence,
//! and every removal is reported so `--verbose` can show what went and why.

use super::boilerplate::classify;

/// Why a span was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// "Please update your browser", "Update Google Chrome", ...
    BrowserNotice,
    /// "यह भी पढ़ें: …", "Also Read | …", "अन्य सम्बंधित खबरें"
    RelatedLink,
    /// pic.twitter.com links, "— Name (@handle) Month D, YYYY", "Follow us on …"
    SocialEmbed,
    /// "Share this:", "शेयर करें", rows of share buttons
    SharePrompt,
}

impl std::fmt::Display for RemovalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RemovalReason::BrowserNotice => "browser notice",
            RemovalReason::RelatedLink => "related-news link",
            RemovalReason::SocialEmbed => "social-media embed",
            RemovalReason::SharePrompt => "share prompt",
        })
    }
}

/// One removal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    /// 1-based line number in the text given to [`clean`].
    pub line: usize,
    /// The removed text, trimmed.
    pub text: String,
    /// True when the whole line went; false when only a footer at its end did.
    pub whole_line: bool,
    pub reason: RemovalReason,
}

/// The article without boilerplate, and what was removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cleaned {
    pub text: String,
    pub removed: Vec<Removed>,
}

/// Removes boilerplate lines from `text` (best after [`super::normalize`]). Text with
/// nothing to remove comes back unchanged; blank lines left next to a removed line are
/// merged so paragraphs keep a single blank line between them.
pub fn clean(text: &str) -> Cleaned {
    let mut out = String::with_capacity(text.len());
    let mut removed = Vec::new();
    let mut removed_since_content = false;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let body = line.trim_end_matches(['\n', '\r']);
        let line_break = &line[body.len()..];
        if body.trim().is_empty() {
            let would_double = out.is_empty() || out.ends_with("\n\n");
            if !(removed_since_content && would_double) {
                out.push_str(line);
            }
            continue;
        }
        let Some(verdict) = classify(body) else {
            out.push_str(line);
            removed_since_content = false;
            continue;
        };
        let before = body[..verdict.span.start].trim_end();
        let after = body[verdict.span.end..].trim_start();
        let whole_line = before.is_empty() && after.is_empty();
        removed.push(Removed {
            line: index + 1,
            text: body[verdict.span].trim().to_string(),
            whole_line,
            reason: verdict.reason,
        });
        if whole_line {
            removed_since_content = true;
            continue;
        }
        out.push_str(before);
        if !before.is_empty() && !after.is_empty() {
            out.push(' ');
        }
        out.push_str(after);
        out.push_str(line_break);
        removed_since_content = false;
    }
    if removed_since_content {
        let kept = out.trim_end().len();
        let keep_one_break = out[kept..].contains('\n');
        out.truncate(kept);
        if keep_one_break && !out.is_empty() {
            out.push('\n');
        }
    }
    Cleaned { text: out, removed }
}
