//! A matching key for a line of scraped text, and the way back from it. The cleaner's
//! rules compare folded text (ASCII lowercase, nukta and joiners dropped, chandrabindu
//! as anusvara, whitespace collapsed) so one rule covers every spelling, yet they must
//! remove bytes of the original line: [`Folded`] keeps, for each folded byte, where its
//! character came from.

use std::ops::Range;

const NUKTA_BASES: [char; 8] = ['क', 'ख', 'ग', 'ज', 'ड', 'ढ', 'फ', 'य'];

/// `text` folded: ब्राउज़र/ब्राउजर and खबरें/ख़बरें compare equal.
pub(crate) fn fold(text: &str) -> String {
    Folded::new(text).text
}

/// A folded line and, for each of its bytes, the original byte range of its character.
pub(crate) struct Folded {
    pub(crate) text: String,
    /// `starts[i]..ends[i]`: the original bytes behind folded byte `i`. A dropped mark
    /// or a collapsed space widens the previous character's `ends`.
    starts: Vec<usize>,
    ends: Vec<usize>,
}

impl Folded {
    pub(crate) fn new(original: &str) -> Self {
        let mut folded = Folded {
            text: String::with_capacity(original.len()),
            starts: Vec::with_capacity(original.len()),
            ends: Vec::with_capacity(original.len()),
        };
        let lead = original.len() - original.trim_start().len();
        let body = original.trim();
        for (offset, c) in body.char_indices() {
            let at = lead + offset;
            let end = at + c.len_utf8();
            let mapped = match c {
                '\u{0958}'..='\u{095F}' => NUKTA_BASES[c as usize - 0x0958],
                '\u{0929}' => 'न',
                '\u{0931}' => 'र',
                '\u{0934}' => 'ळ',
                '\u{0901}' => '\u{0902}',
                '\u{093C}' | '\u{200C}' | '\u{200D}' => {
                    folded.widen_last(end);
                    continue;
                }
                c if c.is_whitespace() => ' ',
                c => c.to_ascii_lowercase(),
            };
            if mapped == ' ' && folded.text.ends_with(' ') {
                folded.widen_last(end);
                continue;
            }
            folded.text.push(mapped);
            for _ in 0..mapped.len_utf8() {
                folded.starts.push(at);
                folded.ends.push(end);
            }
        }
        folded
    }

    fn widen_last(&mut self, end: usize) {
        let Some(&last_start) = self.starts.last() else {
            return;
        };
        for (start, last_end) in self.starts.iter().zip(self.ends.iter_mut()).rev() {
            if *start != last_start {
                break;
            }
            *last_end = end;
        }
    }

    /// The original byte range behind `range` of the folded text.
    pub(crate) fn original(&self, range: Range<usize>) -> Range<usize> {
        if range.start >= range.end || range.start >= self.starts.len() {
            let at = self
                .starts
                .get(range.start)
                .copied()
                .unwrap_or_else(|| self.ends.last().copied().unwrap_or(0));
            return at..at;
        }
        self.starts[range.start]..self.ends[range.end.min(self.ends.len()) - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_maps_back_to_the_original_bytes() {
        let line = "  ख\u{093C}बर  Photo: ANI ";
        let folded = Folded::new(line);
        assert_eq!(folded.text, "खबर photo: ani");
        let photo = folded.text.find("photo").unwrap();
        let range = folded.original(photo..folded.text.len());
        assert_eq!(&line[range], "Photo: ANI");
        assert_eq!(&line[folded.original(0..3)], "ख\u{093C}");
    }
}
