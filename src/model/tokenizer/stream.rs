//! Incremental decoding for printing tokens as they are generated. A byte-level
//! token may hold part of a UTF-8 character, and Devanagari matras, viramas and
//! nuktas often arrive as later tokens than the consonant they belong to, so text
//! is held back until it can no longer change.

use tokenizers::Tokenizer;
use unicode_segmentation::UnicodeSegmentation;

/// Emits the text of a growing token sequence piece by piece. Every piece is whole
/// grapheme clusters, none ends in a partial character, and after [`finish`] the
/// pieces joined equal the decoding of all ids at once.
///
/// Each step decodes only the tokens after the last point where the text was whole
/// characters (plus a few tokens of context, for decoders that treat the first
/// token specially), so a long generation costs linear, not quadratic, time.
///
/// [`finish`]: TokenStream::finish
#[derive(Debug)]
pub struct TokenStream<'a> {
    tokenizer: &'a Tokenizer,
    ids: Vec<u32>,
    /// The text of `ids[..settled_ids]`, which ends on a whole character.
    settled: String,
    settled_ids: usize,
    /// Everything returned so far; always a prefix of the text of `ids`.
    emitted: String,
    /// Set when a decoder rewrote text already emitted; nothing more is emitted
    /// until [`TokenStream::finish`].
    diverged: bool,
}

/// Tokens decoded before the settled point to give the decoder its context.
const CONTEXT_TOKENS: usize = 8;
/// Bytes of settled text searched for the start of the last grapheme cluster.
const LOOKBACK_BYTES: usize = 1024;

enum TailError {
    Decode,
    Diverged,
}

impl<'a> TokenStream<'a> {
    pub(crate) fn new(tokenizer: &'a Tokenizer) -> Self {
        Self {
            tokenizer,
            ids: Vec::new(),
            settled: String::new(),
            settled_ids: 0,
            emitted: String::new(),
            diverged: false,
        }
    }

    /// Adds one token; returns the text that has become final, if any.
    pub fn push(&mut self, id: u32) -> Option<String> {
        self.ids.push(id);
        if self.diverged {
            return None;
        }
        let tail = match self.tail_text() {
            Ok(tail) => tail,
            Err(TailError::Decode) => return None,
            Err(TailError::Diverged) => {
                self.diverged = true;
                return None;
            }
        };
        let piece = self.emit_until(&tail, self.stable_end(&tail));
        // Trailing replacement characters are bytes of a character still arriving.
        if !tail.is_empty() && !tail.ends_with('\u{FFFD}') {
            self.settled.push_str(&tail);
            self.settled_ids = self.ids.len();
        }
        piece
    }

    /// Returns whatever text is still held back; call once at the end.
    pub fn finish(&mut self) -> Option<String> {
        let text = self.decode(&self.ids)?;
        let common = if text.starts_with(self.emitted.as_str()) {
            self.emitted.len()
        } else {
            // Cannot take back what was printed: print the part that differs.
            common_prefix_len(&self.emitted, &text)
        };
        let rest = text.get(common..).unwrap_or("").to_string();
        self.settled_ids = self.ids.len();
        self.settled = text.clone();
        self.emitted = text;
        self.diverged = false;
        (!rest.is_empty()).then_some(rest)
    }

    /// Every id pushed so far.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    fn decode(&self, ids: &[u32]) -> Option<String> {
        self.tokenizer.decode(ids, true).ok()
    }

    /// The text of `ids[settled_ids..]`, decoded after a few tokens of context.
    fn tail_text(&self) -> Result<String, TailError> {
        let start = self.settled_ids.saturating_sub(CONTEXT_TOKENS);
        let context = self
            .decode(&self.ids[start..self.settled_ids])
            .ok_or(TailError::Decode)?;
        let window = self.decode(&self.ids[start..]).ok_or(TailError::Decode)?;
        if let Some(tail) = window.strip_prefix(context.as_str()) {
            return Ok(tail.to_string());
        }
        // The context decoded differently on its own: fall back to all ids.
        let full = self.decode(&self.ids).ok_or(TailError::Decode)?;
        full.strip_prefix(self.settled.as_str())
            .map(String::from)
            .ok_or(TailError::Diverged)
    }

    /// The end (in `settled + tail`) of the text that can no longer change.
    fn stable_end(&self, tail: &str) -> usize {
        let from = floor_char_boundary(
            &self.settled,
            self.settled.len().saturating_sub(LOOKBACK_BYTES),
        );
        let mut recent = String::with_capacity(self.settled.len() - from + tail.len());
        recent.push_str(&self.settled[from..]);
        recent.push_str(tail);
        from + stable_len(&recent)
    }

    fn emit_until(&mut self, tail: &str, end: usize) -> Option<String> {
        let start = self.emitted.len();
        if end <= start {
            return None;
        }
        let settled_len = self.settled.len();
        let mut piece = String::new();
        if start < settled_len {
            piece.push_str(self.settled.get(start..end.min(settled_len))?);
        }
        if end > settled_len {
            piece.push_str(tail.get(start.max(settled_len) - settled_len..end - settled_len)?);
        }
        self.emitted.push_str(&piece);
        Some(piece)
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while index > 0 && !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// How much of `text` can no longer change when more tokens arrive: everything
/// before the last grapheme cluster, ignoring replacement characters at the end
/// (they stand for the first bytes of a character still being decoded).
fn stable_len(text: &str) -> usize {
    let body = text.trim_end_matches('\u{FFFD}');
    body.grapheme_indices(true)
        .next_back()
        .map_or(0, |(start, _)| start)
}

fn common_prefix_len(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, ca), cb)| ca != cb)
        .map_or_else(|| a.len().min(b.len()), |((i, _), _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_cluster_and_trailing_replacement_characters_wait() {
        // "ते" (consonant + matra) is one cluster that a later token could extend.
        let held = "नमस्ते".len() - stable_len("नमस्ते");
        assert!(held >= "ते".len() && held <= "स्ते".len(), "held {held}");
        assert_eq!(stable_len("कि\u{FFFD}"), 0);
        assert_eq!(stable_len("ab\u{FFFD}\u{FFFD}"), 1);
        assert_eq!(stable_len(""), 0);
    }

    #[test]
    fn common_prefix_is_on_char_boundaries() {
        assert_eq!(common_prefix_len("नमक", "नमस"), "नम".len());
        assert_eq!(common_prefix_len("ab", "abc"), 2);
        assert_eq!(common_prefix_len("abc", "ab"), 2);
    }
}
