//! Paragraphs of a segmented text, so that a translation made sentence by sentence (or
//! chunk by chunk) can be put back together with the source's line and paragraph breaks.

use std::ops::Range;

use super::segment::{Boundary, Sentence};

/// Index ranges of `sentences` that form one paragraph each (a paragraph ends at a
/// blank line or at the end of the text).
pub fn paragraphs(sentences: &[Sentence]) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    for (index, sentence) in sentences.iter().enumerate() {
        if sentence.boundary.ends_paragraph() {
            groups.push(start..index + 1);
            start = index + 1;
        }
    }
    if start < sentences.len() {
        groups.push(start..sentences.len());
    }
    groups
}

/// Joins rewritten parts (translations of sentences or chunks), each followed by the
/// separator its source boundary calls for: a space, a line break or a blank line.
pub fn join_parts<'a>(parts: impl IntoIterator<Item = (&'a str, Boundary)>) -> String {
    let mut out = String::new();
    let mut pending = "";
    for (part, boundary) in parts {
        let part = part.trim();
        if part.is_empty() {
            pending = stronger(pending, boundary.separator());
            continue;
        }
        if !out.is_empty() {
            out.push_str(pending);
        }
        out.push_str(part);
        pending = boundary.separator();
    }
    out
}

/// Of two separators, the one that breaks more (a paragraph beats a line beats a space).
fn stronger(a: &'static str, b: &'static str) -> &'static str {
    let rank = |s: &str| s.matches('\n').count() * 2 + usize::from(s == " ");
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}
