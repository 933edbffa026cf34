//! sentencepiece's own normalizer, ported: the precompiled charsmap applied by
//! longest match over the raw bytes (a double-array trie in darts-clone layout),
//! user-defined pieces kept as they are, then spm's whitespace rules.
//!
//! `tokenizers`' `Precompiled` normalizer matches per grapheme instead, and when a
//! grapheme starts with a mapped character it drops the rest of the grapheme
//! (`ℋ` + U+0331 becomes `H`). spm keeps the combining mark, so saar uses this port.

use super::SPACE_MARK;

/// A normalizer equal to spm's `Normalizer::Normalize`.
#[derive(Debug, Clone, Default)]
pub struct SpmNormalizer {
    trie: Vec<u32>,
    normalized: Vec<u8>,
    user_defined: Vec<String>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
}

impl SpmNormalizer {
    /// From a `precompiled_charsmap` blob (`<trie bytes: u32 LE><trie><strings>`);
    /// `None` when the blob is malformed. An empty blob means no charsmap.
    pub fn new(
        charsmap: &[u8],
        user_defined: Vec<String>,
        add_dummy_prefix: bool,
        remove_extra_whitespaces: bool,
    ) -> Option<Self> {
        let (trie, normalized) = if charsmap.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let size = u32::from_le_bytes(charsmap.get(..4)?.try_into().ok()?) as usize;
            let trie_bytes = charsmap.get(4..4 + size)?;
            let trie = trie_bytes
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (trie, charsmap[4 + size..].to_vec())
        };
        let mut user_defined = user_defined;
        user_defined.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Some(SpmNormalizer {
            trie,
            normalized,
            user_defined,
            add_dummy_prefix,
            remove_extra_whitespaces,
        })
    }

    /// The longest charsmap rule matching the start of `input`: its replacement
    /// and how many bytes it covers.
    fn longest_rule(&self, input: &[u8]) -> Option<(&str, usize)> {
        let unit = |pos: usize| self.trie.get(pos).copied();
        let offset = |u: u32| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize;
        let mut pos = offset(unit(0)?);
        let mut best = None;
        for (i, &byte) in input.iter().enumerate() {
            pos ^= byte as usize;
            let u = unit(pos)?;
            if u & ((1 << 31) | 0xFF) != u32::from(byte) {
                break;
            }
            pos ^= offset(u);
            if (u >> 8) & 1 == 1 {
                let value = (unit(pos)? & ((1 << 31) - 1)) as usize;
                best = Some((value, i + 1));
            }
        }
        let (start, len) = best?;
        let tail = self.normalized.get(start..)?;
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        Some((std::str::from_utf8(&tail[..end]).ok()?, len))
    }

    /// spm's `NormalizePrefix`: what the start of `input` becomes, and its length.
    fn normalize_prefix<'a>(&'a self, input: &'a str) -> (&'a str, usize) {
        if let Some(symbol) = self
            .user_defined
            .iter()
            .find(|s| input.starts_with(s.as_str()))
        {
            return (&input[..symbol.len()], symbol.len());
        }
        if let Some(rule) = self.longest_rule(input.as_bytes()) {
            return rule;
        }
        let len = input.chars().next().map_or(0, char::len_utf8);
        (&input[..len], len)
    }

    /// The normalized text with spaces written as `▁`, ready for the unigram model.
    pub fn normalize(&self, text: &str) -> String {
        let mut input = text;
        if self.remove_extra_whitespaces {
            while !input.is_empty() {
                let (piece, len) = self.normalize_prefix(input);
                if piece != " " {
                    break;
                }
                input = &input[len..];
            }
        }
        if input.is_empty() {
            return String::new();
        }
        let mut out = String::with_capacity(input.len() * 3);
        if self.add_dummy_prefix {
            out.push(SPACE_MARK);
        }
        let mut previous_was_space = self.remove_extra_whitespaces;
        while !input.is_empty() {
            let (mut piece, len) = self.normalize_prefix(input);
            if previous_was_space {
                piece = piece.trim_start_matches(' ');
            }
            if !piece.is_empty() {
                for c in piece.chars() {
                    out.push(if c == ' ' { SPACE_MARK } else { c });
                }
                previous_was_space = piece.ends_with(' ');
            }
            input = &input[len..];
            if !self.remove_extra_whitespaces {
                previous_was_space = false;
            }
        }
        if self.remove_extra_whitespaces {
            while out.ends_with(SPACE_MARK) {
                out.truncate(out.len() - SPACE_MARK.len_utf8());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> SpmNormalizer {
        SpmNormalizer::new(&[], Vec::new(), true, true).unwrap()
    }

    #[test]
    fn whitespace_is_trimmed_collapsed_and_marked() {
        assert_eq!(plain().normalize("  a   b  "), "▁a▁b");
        assert_eq!(plain().normalize("   "), "");
        assert_eq!(plain().normalize(""), "");
    }

    #[test]
    fn user_defined_symbols_pass_through_whole() {
        let normalizer = SpmNormalizer::new(&[], vec!["<x>".into()], false, false).unwrap();
        assert_eq!(normalizer.normalize("a <x>"), "a▁<x>");
    }

    #[test]
    fn a_truncated_charsmap_is_refused() {
        assert!(SpmNormalizer::new(&[200, 0, 0, 0, 1], Vec::new(), true, true).is_none());
    }
}
