//! Sentence segmentation for Hindi news with English inside it. One forward pass over
//! the text, no regular expressions and no allocation per character: this runs on
//! every article before anything else and must stay far faster than the model.
//!
//! Sentences end at । ॥ ? ! a sentence-final period, an ellipsis before a new sentence,
//! an ASCII "|" typed as a danda between Devanagari words, and line breaks; closing
//! quotes and brackets after the terminator stay with the sentence, and a quote that
//! the sentence carries on after ("नहीं!' और चले गए", "लड़ेंगे... और जीतेंगे") does
//! not end it. A period does not end a sentence inside a token (2.5, २.५, 10.30, U.S.,
//! example.com, a@b.in), after an abbreviation or initial (Dr., डॉ., एस.), or before a
//! lowercase English word. Each sentence keeps its trailing whitespace, so the
//! sentences concatenate back to the input exactly.

use std::ops::Range;

use unicode_segmentation::GraphemeCursor;

use super::abbrev::{is_abbreviation, is_opening_punctuation};
use super::script::{is_devanagari_letter, is_latin_letter, Script, ScriptTally};

/// One sentence of a text, by byte offsets into it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sentence {
    /// The sentence and the whitespace after it; ranges of consecutive sentences touch.
    pub range: Range<usize>,
    /// The script of its letters.
    pub script: Script,
    /// What separates it from the next sentence.
    pub boundary: Boundary,
}

/// What follows a sentence in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Boundary {
    /// The next sentence continues on the same line.
    Inline,
    /// A single line break.
    LineBreak,
    /// A blank line: the paragraph ends here.
    Paragraph,
    /// The last sentence of the text (which also ends its paragraph).
    EndOfText,
}

impl Boundary {
    pub fn ends_paragraph(self) -> bool {
        matches!(self, Boundary::Paragraph | Boundary::EndOfText)
    }

    /// The whitespace to put after a rewritten (e.g. translated) sentence so the text
    /// keeps its lines and paragraphs.
    pub fn separator(self) -> &'static str {
        match self {
            Boundary::Inline => " ",
            Boundary::LineBreak => "\n",
            Boundary::Paragraph => "\n\n",
            Boundary::EndOfText => "",
        }
    }
}

impl Sentence {
    /// The sentence with its trailing whitespace, as it appears in `source`.
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        source.get(self.range.clone()).unwrap_or("")
    }

    /// True when a blank line or the end of the text follows.
    pub fn ends_paragraph(&self) -> bool {
        self.boundary.ends_paragraph()
    }

    /// The sentence without surrounding whitespace.
    pub fn content<'a>(&self, source: &'a str) -> &'a str {
        self.text(source).trim()
    }
}

/// Splits `text` into sentences whose ranges are contiguous and cover it entirely.
/// Leading whitespace belongs to the first sentence; empty input gives no sentences.
pub fn split_sentences(text: &str) -> Vec<Sentence> {
    Segmenter {
        text,
        sentences: Vec::with_capacity(text.len() / 96 + 1),
        start: 0,
        tally: ScriptTally::default(),
        has_content: false,
    }
    .run()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TerminatorKind {
    Danda,
    QuestionOrExclamation,
    Period,
    Ellipsis,
}

enum Step {
    /// End the sentence here (a grapheme boundary).
    Split(usize),
    /// Not a sentence end; resume scanning at this offset.
    Continue(usize),
}

struct Segmenter<'a> {
    text: &'a str,
    sentences: Vec<Sentence>,
    start: usize,
    tally: ScriptTally,
    has_content: bool,
}

impl Segmenter<'_> {
    fn run(mut self) -> Vec<Sentence> {
        let text = self.text;
        let mut pos = 0;
        'scan: while pos < text.len() {
            let mut token_start = pos;
            let mut skip_until = pos;
            for (offset, c) in text[pos..].char_indices() {
                let at = pos + offset;
                if at < skip_until {
                    continue;
                }
                if c.is_whitespace() {
                    if is_line_break(c) && self.has_content {
                        pos = grapheme_boundary_at_or_after(text, skip_whitespace(text, at));
                        self.finish(pos);
                        continue 'scan;
                    }
                    token_start = at + c.len_utf8();
                    continue;
                }
                self.has_content = true;
                self.tally.add(c);
                if !is_terminator(c) || (c == '|' && !self.pipe_is_danda(at)) {
                    continue;
                }
                match self.decide(at, token_start) {
                    Step::Split(end) => {
                        pos = end;
                        self.finish(pos);
                        continue 'scan;
                    }
                    Step::Continue(resume) => skip_until = resume,
                }
            }
            break;
        }
        if self.start < text.len() {
            self.finish(text.len());
        }
        self.sentences
    }

    fn finish(&mut self, end: usize) {
        let text = self.text;
        let slice = &text[self.start..end];
        let trailing = &slice[slice.trim_end().len()..];
        let boundary = if end >= text.len() {
            Boundary::EndOfText
        } else {
            match count_line_breaks(trailing) {
                0 => Boundary::Inline,
                1 => Boundary::LineBreak,
                _ => Boundary::Paragraph,
            }
        };
        self.sentences.push(Sentence {
            range: self.start..end,
            script: self.tally.script(),
            boundary,
        });
        self.start = end;
        self.tally = ScriptTally::default();
        self.has_content = false;
    }

    /// Decides whether the terminator at `at` ends the sentence; `token_start` is where
    /// the word carrying the terminator begins.
    fn decide(&self, at: usize, token_start: usize) -> Step {
        let text = self.text;
        let (run_end, kind) = terminator_run(text, at);
        let close_end = skip_closers(text, run_end);
        let Some(next) = text[close_end..].chars().next() else {
            return Step::Continue(run_end);
        };
        if !self.tally.has_letters() {
            return Step::Continue(run_end);
        }
        if !next.is_whitespace() {
            return match kind {
                TerminatorKind::Danda => {
                    Step::Split(grapheme_boundary_at_or_after(text, close_end))
                }
                _ => Step::Continue(run_end),
            };
        }
        let ws_end = skip_whitespace(text, close_end);
        let split = Step::Split(grapheme_boundary_at_or_after(text, ws_end));
        if text[close_end..ws_end].chars().any(is_line_break) {
            return split;
        }
        let next_word = word_at(text, ws_end);
        let quoted = close_end > run_end || self.quote_open(at);
        if quoted && continues_after_quote(next_word) {
            return Step::Continue(run_end);
        }
        if kind == TerminatorKind::Ellipsis && close_end == run_end && self.quote_open(at) {
            return Step::Continue(run_end);
        }
        let ends = match kind {
            TerminatorKind::Danda => true,
            TerminatorKind::QuestionOrExclamation => !starts_lowercase_latin(next_word),
            TerminatorKind::Ellipsis => starts_new_sentence_after_ellipsis(next_word),
            TerminatorKind::Period => {
                let previous_word = text[self.start..token_start]
                    .trim_end()
                    .rsplit(char::is_whitespace)
                    .next()
                    .unwrap_or("");
                !is_abbreviation(previous_word, &text[token_start..at], next_word)
                    && !starts_lowercase_latin(next_word)
            }
        };
        if ends {
            split
        } else {
            Step::Continue(run_end)
        }
    }
}

impl Segmenter<'_> {
    /// "हुई | अब": a "|" between Devanagari text (or before a line end) is a danda typed
    /// on an ASCII keyboard; "#WATCH | Delhi" and "A | B" are separators.
    fn pipe_is_danda(&self, at: usize) -> bool {
        let before = self.text[self.start..at].trim_end().chars().next_back();
        let after = self.text[at + 1..]
            .chars()
            .find(|c| !c.is_whitespace() || is_line_break(*c));
        before.is_some_and(is_devanagari)
            && after.is_none_or(|c| is_devanagari(c) || is_line_break(c))
    }

    /// True when a quotation mark opened in this sentence before `at` is still open.
    fn quote_open(&self, at: usize) -> bool {
        let sentence = &self.text[self.start..at];
        let mut depth: i32 = 0;
        let mut straight_double = false;
        let mut previous = ' ';
        let mut chars = sentence.chars().peekable();
        while let Some(c) = chars.next() {
            let next = chars.peek().copied().unwrap_or(' ');
            match c {
                '“' | '‘' | '«' => depth += 1,
                '”' | '»' => depth -= 1,
                '’' if !previous.is_alphanumeric() || !next.is_alphanumeric() => depth -= 1,
                '"' => straight_double = !straight_double,
                '\'' if !previous.is_alphanumeric() && !next.is_whitespace() => depth += 1,
                '\'' if !next.is_alphanumeric() => depth -= 1,
                _ => {}
            }
            previous = c;
        }
        depth > 0 || straight_double
    }
}

fn is_devanagari(c: char) -> bool {
    ('\u{0900}'..='\u{097F}').contains(&c) && c != '।' && c != '॥'
}

/// Words that carry a sentence on after a quotation inside it: "'नहीं!' और चले गए",
/// "“रुको!” उसने चिल्लाकर कहा" does not (उसने starts a clause of its own).
fn continues_after_quote(word: &str) -> bool {
    const CONTINUATIONS: &[&str] = &[
        "और",
        "तथा",
        "व",
        "तो",
        "कहा",
        "कहते",
        "कहती",
        "कहकर",
        "कहने",
        "कह",
        "बोले",
        "बोला",
        "बोली",
        "बोलते",
        "पूछा",
        "लिखा",
        "ने",
        "को",
        "से",
        "में",
        "पर",
        "के",
        "की",
        "का",
        "तक",
        "भी",
        "जैसे",
        "वाले",
        "वाली",
        "वाला",
        "चिल्लाए",
        "चिल्लाया",
    ];
    let word = word.trim_end_matches(|c: char| c.is_ascii_punctuation() || c == '।');
    CONTINUATIONS.contains(&word)
}

#[inline]
fn is_terminator(c: char) -> bool {
    matches!(
        c,
        '.' | '|'
            | '?'
            | '!'
            | '।'
            | '॥'
            | '…'
            | '？'
            | '！'
            | '‼'
            | '⁇'
            | '⁈'
            | '⁉'
            | '。'
            | '｡'
            | '؟'
    )
}

#[inline]
fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

fn is_closer(c: char) -> bool {
    matches!(
        c,
        '"' | '\'' | '”' | '’' | '»' | '›' | ')' | ']' | '}' | '」' | '』' | '〉' | '》' | '）'
    )
}

/// The end of the run of terminators starting at `at`, and what kind of run it is.
fn terminator_run(text: &str, at: usize) -> (usize, TerminatorKind) {
    let mut end = at;
    let (mut danda, mut question, mut periods, mut ellipsis) = (false, false, 0, false);
    for c in text[at..].chars().take_while(|&c| is_terminator(c)) {
        end += c.len_utf8();
        match c {
            '।' | '॥' | '|' => danda = true,
            '.' => periods += 1,
            '…' => ellipsis = true,
            _ => question = true,
        }
    }
    let kind = if danda {
        TerminatorKind::Danda
    } else if question {
        TerminatorKind::QuestionOrExclamation
    } else if periods == 1 && !ellipsis {
        TerminatorKind::Period
    } else {
        TerminatorKind::Ellipsis
    };
    (end, kind)
}

fn skip_closers(text: &str, from: usize) -> usize {
    from + text[from..]
        .chars()
        .take_while(|&c| is_closer(c))
        .map(char::len_utf8)
        .sum::<usize>()
}

pub(crate) fn skip_whitespace(text: &str, from: usize) -> usize {
    text[from..]
        .find(|c: char| !c.is_whitespace())
        .map_or(text.len(), |offset| from + offset)
}

fn word_at(text: &str, from: usize) -> &str {
    let rest = &text[from..];
    &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())]
}

fn first_letter(word: &str) -> Option<char> {
    word.trim_start_matches(is_opening_punctuation)
        .chars()
        .next()
}

fn starts_lowercase_latin(word: &str) -> bool {
    first_letter(word).is_some_and(|c| c.is_lowercase() && is_latin_letter(c))
}

/// After "…", a new sentence starts with a capital, a Devanagari letter or a quote.
fn starts_new_sentence_after_ellipsis(word: &str) -> bool {
    word.starts_with(is_opening_punctuation)
        || first_letter(word).is_some_and(|c| c.is_uppercase() || is_devanagari_letter(c))
}

fn count_line_breaks(whitespace: &str) -> usize {
    let mut count = 0;
    let mut chars = whitespace.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\u{2029}' => count += 2,
            c if is_line_break(c) => count += 1,
            _ => {}
        }
    }
    count
}

/// `pos` if it is a grapheme-cluster boundary, else the first boundary after it that is
/// not followed by whitespace (a space followed by a combining mark is one cluster).
pub(crate) fn grapheme_boundary_at_or_after(text: &str, mut pos: usize) -> usize {
    while pos < text.len() {
        let mut cursor = GraphemeCursor::new(pos, text.len(), true);
        if cursor.is_boundary(text, 0).unwrap_or(true) {
            return pos;
        }
        let next = cursor
            .next_boundary(text, 0)
            .ok()
            .flatten()
            .unwrap_or(text.len());
        pos = skip_whitespace(text, next);
    }
    text.len()
}
