//! sacrebleu's default BLEU tokenizer (`13a`, after mteval-v13a.pl), rebuilt step by step.
//! Each regex of sacrebleu's `TokenizerRegexp` is a two-character pattern, so a
//! left-to-right scan that consumes a matched pair reproduces `re.sub` exactly.

use super::pytext::py_split;

/// Tokenizes one line the way `sacrebleu.tokenizers.tokenizer_13a.Tokenizer13a` does.
pub fn tokenize_13a(line: &str) -> String {
    let mut line = line
        .replace("<skipped>", "")
        .replace("-\n", "")
        .replace('\n', " ");
    if line.contains('&') {
        line = line
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
    }

    let mut chars: Vec<char> = Vec::with_capacity(line.len() + 2);
    chars.push(' ');
    chars.extend(line.chars());
    chars.push(' ');

    // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
    let mut spaced = Vec::with_capacity(chars.len() * 2);
    for &c in &chars {
        if is_13a_symbol(c) {
            spaced.extend([' ', c, ' ']);
        } else {
            spaced.push(c);
        }
    }
    // ([^0-9])([\.,]) -> "\1 \2 "
    let spaced = substitute_pairs(
        &spaced,
        |a| !is_ascii_digit(a),
        is_period_or_comma,
        |a, b| [Some(a), Some(' '), Some(b), Some(' ')],
    );
    // ([\.,])([^0-9]) -> " \1 \2"
    let spaced = substitute_pairs(
        &spaced,
        is_period_or_comma,
        |b| !is_ascii_digit(b),
        |a, b| [Some(' '), Some(a), Some(' '), Some(b)],
    );
    // ([0-9])(-) -> "\1 \2 "
    let spaced = substitute_pairs(
        &spaced,
        is_ascii_digit,
        |b| b == '-',
        |a, b| [Some(a), Some(' '), Some(b), Some(' ')],
    );

    let joined: String = spaced.into_iter().collect();
    py_split(&joined).collect::<Vec<_>>().join(" ")
}

/// The character class of sacrebleu's first regex: ASCII symbols except `'`, `,`, `-`, `.`
/// (the space in it is harmless, as runs of space collapse at the end).
fn is_13a_symbol(c: char) -> bool {
    matches!(c, '{'..='~' | '['..='`' | ' '..='&' | '('..='+' | ':'..='@' | '/')
}

fn is_ascii_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn is_period_or_comma(c: char) -> bool {
    c == '.' || c == ','
}

/// `re.sub` for a pattern of two single-character classes: leftmost, non-overlapping.
fn substitute_pairs(
    chars: &[char],
    first: impl Fn(char) -> bool,
    second: impl Fn(char) -> bool,
    replace: impl Fn(char, char) -> [Option<char>; 4],
) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len() + chars.len() / 4);
    let mut i = 0;
    while i < chars.len() {
        if i + 1 < chars.len() && first(chars[i]) && second(chars[i + 1]) {
            out.extend(replace(chars[i], chars[i + 1]).into_iter().flatten());
            i += 2;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tokenize_13a;

    #[test]
    fn splits_punctuation_but_keeps_numbers_whole() {
        assert_eq!(
            tokenize_13a("Hello, world! It cost $1,000.50 in 2019-20."),
            "Hello , world ! It cost $ 1,000.50 in 2019 - 20 ."
        );
    }

    #[test]
    fn unescapes_entities_in_order_and_keeps_devanagari_words() {
        assert_eq!(tokenize_13a("A &amp;lt; B"), "A < B");
        assert_eq!(tokenize_13a("राम ने कहा, \"हाँ\"।"), "राम ने कहा , \" हाँ \" ।");
    }

    #[test]
    fn overlapping_matches_follow_python_re_sub() {
        // "a.." : the second period stays glued in step two and is split in step three.
        assert_eq!(tokenize_13a("a..b"), "a . . b");
        assert_eq!(tokenize_13a("it's"), "it's");
    }
}
