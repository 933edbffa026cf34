//! Removing scraped-page boilerplate before a model sees the article. Whole lines go,
//! or furniture glued to an article line (a desk credit or dateline before its first
//! sentence, a tweet footer or picture tag after it), never words of an article
//! sentence; every removal is reported with its exact text so `--verbose` can show
//! what went and why.

use std::ops::Range;

use super::boilerplate::{classify, Verdict};
use super::credits::LinePlace;

/// Why a span was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    /// "Please update your browser", "Update Google Chrome", ...
    BrowserNotice,
    /// "यह भी पढ़ें: …", "Also Read | …", "अन्य सम्बंधित खबरें", "Click here to read more"
    RelatedLink,
    /// pic.twitter.com links, "— Name (@handle) Month D, YYYY", "Follow us on …"
    SocialEmbed,
    /// "Share this:", "शेयर करें", rows of share buttons
    SharePrompt,
    /// "Johar Live Desk :", "By Lokjeewan Daily - 03-11-2025", "Edited By:", "Updated:"
    Byline,
    /// "नई दिल्ली, 5 मई (भाषा)।" before the first sentence
    Dateline,
    /// A photo caption and its credit line, "(फोटो: ANI)", "(सोर्स- सोशल मीडिया)"
    PhotoCredit,
    /// "(इनपुट: एजेंसी)", "(पटना से अमित कुमार की रिपोर्ट)", "With inputs from PTI"
    Credit,
    /// "Advertisement", "विज्ञापन", "Scroll to continue with content"
    Advertisement,
    /// "Disclaimer: …", "(यह खबर सिंडिकेट फीड से प्रकाशित हुई है)"
    Disclaimer,
    /// "Tags: …", a line of hashtags
    TagList,
    /// "© 2025 …", "All rights reserved"
    Copyright,
    /// A "।" left before the first word of a line
    StrayPunctuation,
}

impl std::fmt::Display for RemovalReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RemovalReason::BrowserNotice => "browser notice",
            RemovalReason::RelatedLink => "related-news link",
            RemovalReason::SocialEmbed => "social-media embed",
            RemovalReason::SharePrompt => "share prompt",
            RemovalReason::Byline => "byline",
            RemovalReason::Dateline => "dateline",
            RemovalReason::PhotoCredit => "photo caption or credit",
            RemovalReason::Credit => "agency or reporter credit",
            RemovalReason::Advertisement => "advertisement",
            RemovalReason::Disclaimer => "disclaimer",
            RemovalReason::TagList => "tag list",
            RemovalReason::Copyright => "copyright line",
            RemovalReason::StrayPunctuation => "stray punctuation",
        })
    }
}

/// One removal.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Removed {
    /// 1-based line number in the text given to [`clean`].
    pub line: usize,
    /// The removed bytes of the text given to [`clean`].
    pub range: Range<usize>,
    /// The removed text, trimmed.
    pub text: String,
    /// True when the whole line went; false when only part of it did.
    pub whole_line: bool,
    pub reason: RemovalReason,
}

/// "line 3 (related-news link): यह भी पढ़ें: …" for a whole line, and
/// "\"Johar Live Desk :\" from line 1 (byline)" for a part of one.
impl std::fmt::Display for Removed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.whole_line {
            write!(f, "line {} ({}): {}", self.line, self.reason, self.text)
        } else {
            write!(
                f,
                "{:?} from line {} ({})",
                self.text, self.line, self.reason
            )
        }
    }
}

/// The article without boilerplate, and what was removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cleaned {
    pub text: String,
    pub removed: Vec<Removed>,
}

/// Longest line (in chars) taken for a photo caption when a credit line follows it.
const MAX_CAPTION_CHARS: usize = 160;

/// Removes boilerplate from `text` (best after [`super::normalize`]). Text with nothing
/// to remove comes back unchanged; blank lines left next to a removed line are merged
/// so paragraphs keep a single blank line between them.
pub fn clean(text: &str) -> Cleaned {
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .scan(0, |offset, line| {
            let start = *offset;
            *offset += line.len();
            Some((start, line))
        })
        .collect();
    let verdicts = find_boilerplate(&lines);
    let mut out = String::with_capacity(text.len());
    let mut removed = Vec::new();
    let mut removed_since_content = false;
    for (index, ((start, line), verdicts)) in lines.iter().zip(verdicts).enumerate() {
        let body = line.trim_end_matches(['\n', '\r']);
        let line_break = &line[body.len()..];
        if body.trim().is_empty() {
            let would_double = out.is_empty() || out.ends_with("\n\n");
            if !(removed_since_content && would_double) {
                out.push_str(line);
            }
            continue;
        }
        if verdicts.is_empty() {
            out.push_str(line);
            removed_since_content = false;
            continue;
        }
        let whole_line = covers_line(&verdicts, body);
        let mut kept = Vec::new();
        let mut from = 0;
        for verdict in &verdicts {
            kept.push(body[from..verdict.span.start].trim());
            from = verdict.span.end;
            removed.push(Removed {
                line: index + 1,
                range: start + verdict.span.start..start + verdict.span.end,
                text: body[verdict.span.clone()].trim().to_string(),
                whole_line,
                reason: verdict.reason,
            });
        }
        kept.push(body[from..].trim());
        if whole_line {
            removed_since_content = true;
            continue;
        }
        kept.retain(|piece| !piece.is_empty());
        out.push_str(&kept.join(" "));
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

/// The boilerplate of each line: first line by line, then photo captions, which are
/// known by the credit line under them.
fn find_boilerplate(lines: &[(usize, &str)]) -> Vec<Vec<Verdict>> {
    let mut content_lines = 0;
    let mut first_content = None;
    let mut found: Vec<Vec<Verdict>> = Vec::with_capacity(lines.len());
    for (index, (_, line)) in lines.iter().enumerate() {
        let body = line.trim_end_matches(['\n', '\r']);
        if body.trim().is_empty() {
            found.push(Vec::new());
            continue;
        }
        let place = LinePlace {
            content_lines_before: content_lines,
        };
        let verdicts = classify(body, place);
        if !covers_line(&verdicts, body) {
            content_lines += 1;
            first_content.get_or_insert(index);
        }
        found.push(verdicts);
    }
    for index in 0..lines.len().saturating_sub(1) {
        let body = lines[index].1.trim_end_matches(['\n', '\r']);
        let credit_below = found[index + 1]
            .first()
            .is_some_and(|v| v.reason == RemovalReason::PhotoCredit)
            && covers_line(
                &found[index + 1],
                lines[index + 1].1.trim_end_matches(['\n', '\r']),
            );
        if credit_below
            && found[index].is_empty()
            && first_content != Some(index)
            && is_caption_shaped(body)
        {
            found[index] = vec![Verdict {
                span: 0..body.len(),
                reason: RemovalReason::PhotoCredit,
            }];
        }
    }
    found
}

/// A caption is short and at most one sentence.
fn is_caption_shaped(line: &str) -> bool {
    let line = line.trim();
    let inner_stops = line
        .trim_end_matches(['।', '.', '!', '?'])
        .matches(['।', '?', '!'])
        .count();
    !line.is_empty() && line.chars().count() <= MAX_CAPTION_CHARS && inner_stops == 0
}

/// True when `verdicts` remove all of `line` (they tile it from its first byte to its last).
fn covers_line(verdicts: &[Verdict], line: &str) -> bool {
    let (Some(first), Some(last)) = (verdicts.first(), verdicts.last()) else {
        return false;
    };
    first.span.start == 0
        && last.span.end == line.len()
        && verdicts
            .windows(2)
            .all(|w| w[0].span.end == w[1].span.start)
}
