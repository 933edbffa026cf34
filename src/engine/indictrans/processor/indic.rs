//! The Indic NLP Library steps the reference runs on Indic text: the Devanagari
//! normalizer (with the library's defaults: nuktas kept, nasals and chandras left
//! alone), the punctuation tokenizer before the model, and the detokenizer after it.

use std::sync::LazyLock;

use regex::Regex;

/// Python's `string.punctuation` and the Indic marks the tokenizer also splits off,
/// less the backslash: pasted into a regex class, `\]` escapes the bracket.
const SPLIT_MARKS: &str =
    "!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~\u{0964}\u{0965}\u{AAF1}\u{AAF0}\u{ABEB}\u{ABEC}\u{ABED}\u{ABEE}\u{ABEF}\u{1C7E}\u{1C7F}";

static NUMBER_SEQUENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([0-9]+ [,.:/] )+[0-9]+").expect("fixed pattern"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[ ]+").expect("fixed pattern"));
/// The library means "a colon after a Devanagari letter becomes a visarga", but its
/// doubled backslashes make the class `0`…`\`, `f` and `u`, and the replacement a
/// literal `\1` before the visarga. The model was fed this, so saar does the same.
static VISARGA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-\\fu]:").expect("fixed pattern"));
static ATTACH_BOTH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[ ]([-/\\])[ ]").expect("fixed pattern"));
static ATTACH_LEFT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[ ]([!%)\]},.:;>?\x{0964}\x{0965}])").expect("fixed pattern"));
static ATTACH_RIGHT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([#$(\[{<@])[ ]").expect("fixed pattern"));

/// Precomposed letters with a nukta, and the base letter each decomposes to.
const NUKTA_LETTERS: [(char, char); 11] = [
    ('\u{0929}', '\u{0928}'),
    ('\u{0931}', '\u{0930}'),
    ('\u{0934}', '\u{0933}'),
    ('\u{0958}', '\u{0915}'),
    ('\u{0959}', '\u{0916}'),
    ('\u{095a}', '\u{0917}'),
    ('\u{095b}', '\u{091c}'),
    ('\u{095c}', '\u{0921}'),
    ('\u{095d}', '\u{0922}'),
    ('\u{095e}', '\u{092b}'),
    ('\u{095f}', '\u{092f}'),
];
const NUKTA: char = '\u{093c}';

/// The library's `DevanagariNormalizer().normalize`.
pub(super) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{feff}' | '\u{fffe}' | '\u{2060}' | '\u{00ad}' | '\u{200c}' | '\u{200d}' => {}
            '\u{200b}' | '\u{00a0}' => out.push(' '),
            '„' | '“' | '”' => out.push('"'),
            '–' => out.push('-'),
            '—' => out.push_str(" - "),
            '´' | '‘' | '‚' | '’' => out.push('\''),
            '…' => out.push_str("..."),
            _ => out.push(c),
        }
    }
    let quoted = out.replace("''", "\"");
    let mut text = String::with_capacity(quoted.len() + 8);
    for c in quoted.chars() {
        match NUKTA_LETTERS.iter().find(|(composed, _)| *composed == c) {
            Some(&(_, base)) => text.extend([base, NUKTA]),
            None if c == '\u{0972}' => text.push('\u{090f}'),
            None if c == '|' => text.push('\u{0964}'),
            None => text.push(c),
        }
    }
    VISARGA.replace_all(&text, "\\1\u{0903}").into_owned()
}

/// Removes the spaces inside number sequences such as `12 , 500` (the tokenizer's
/// and the detokenizer's shared step). `all` says whether a sequence at the very
/// start counts: the detokenizer's loop skips it.
fn join_number_sequences(text: &str, all: bool) -> String {
    let mut parts = String::with_capacity(text.len());
    let mut previous = 0;
    for m in NUMBER_SEQUENCE.find_iter(text) {
        if all || m.start() > previous {
            parts.push_str(&text[previous..m.start()]);
            parts.push_str(&m.as_str().replace(' ', ""));
            previous = m.end();
        }
    }
    parts.push_str(&text[previous..]);
    parts
}

/// The library's `trivial_tokenize` for Brahmi-derived scripts: marks split off with
/// spaces around them, numbers such as `12,500` kept whole.
pub(super) fn tokenize(text: &str) -> String {
    let mut spaced = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c == '\t' {
            spaced.push(' ');
        } else if SPLIT_MARKS.contains(c) {
            spaced.extend([' ', c, ' ']);
        } else {
            spaced.push(c);
        }
    }
    let spaced = SPACES.replace_all(&spaced, " ");
    join_number_sequences(spaced.trim_matches(' '), true)
}

/// The library's `trivial_detokenize` for Brahmi-derived scripts.
pub(super) fn detokenize(text: &str) -> String {
    let text = join_number_sequences(text, false);
    let text = ATTACH_BOTH.replace_all(&text, "$1");
    let text = ATTACH_LEFT.replace_all(&text, "$1");
    let mut text = ATTACH_RIGHT.replace_all(&text, "$1").into_owned();
    // Quotes alternate: the first opens (attaches right), the next closes.
    for quote in ['\'', '"', '`'] {
        let mut count = 0;
        let marked: String = text
            .chars()
            .map(|c| {
                if c != quote {
                    return c.to_string();
                }
                count += 1;
                if count % 2 == 1 { "@RA" } else { "@LA" }.to_string()
            })
            .collect();
        let q = quote.to_string();
        text = marked
            .replace("@RA ", &q)
            .replace(" @LA", &q)
            .replace("@RA", &q)
            .replace("@LA", &q);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_split_and_numbers_stay_whole() {
        assert_eq!(
            tokenize("दाम 12,500 रुपये (लगभग)।"),
            "दाम 12,500 रुपये ( लगभग ) ।"
        );
    }

    #[test]
    fn the_visarga_rule_does_what_the_library_does() {
        assert_eq!(normalize("क: 3:2"), "क: \\1\u{0903}2");
    }

    #[test]
    fn detokenizing_attaches_marks_and_pairs_quotes() {
        assert_eq!(detokenize("कहा : \" हाँ \" - और ।"), "कहा: \"हाँ\"-और।");
    }
}
