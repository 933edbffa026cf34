//! English detokenization as the reference runs it (`sacremoses`' port of Moses's
//! `detokenizer.perl`, language `en`): the model writes space-separated tokens
//! ("He said , \" yes \" ."), readers want "He said, \"yes\".".

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a fixed pattern compiles")
}

static CURRENCY_OR_OPENING: LazyLock<Regex> = LazyLock::new(|| re(r"^[\p{Sc}(\[{¿¡]+$"));
static CLOSING_PUNCT: LazyLock<Regex> = LazyLock::new(|| re(r"^[,.?!:;\\%}\])]+$"));
static QUOTES: LazyLock<Regex> = LazyLock::new(|| re(r#"^['"„“`]+$"#));
static LOW_DOUBLE_QUOTES: LazyLock<Regex> = LazyLock::new(|| re(r"^[„“”]+$"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| re(r" {2,}"));

/// Moses's XML escapes, undone in its order (`&amp;` last).
const UNESCAPES: [(&str, &str); 11] = [
    ("&bar;", "|"),
    ("&#124;", "|"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&bra;", "["),
    ("&ket;", "]"),
    ("&quot;", "\""),
    ("&apos;", "'"),
    ("&#91;", "["),
    ("&#93;", "]"),
    ("&amp;", "&"),
];

/// The code point ranges sacremoses treats as CJK.
const CJK: [(u32, u32); 11] = [
    (4352, 4607),
    (11904, 42191),
    (43072, 43135),
    (44032, 55215),
    (63744, 64255),
    (65072, 65103),
    (65381, 65500),
    (94208, 101119),
    (110592, 110895),
    (110960, 111359),
    (131072, 196607),
];

fn is_cjk(c: Option<char>) -> bool {
    c.is_some_and(|c| CJK.iter().any(|&(lo, hi)| (lo..=hi).contains(&(c as u32))))
}

/// An English contraction or possessive token: `'s`, `'ll`.
fn is_contraction(token: &str) -> bool {
    let mut chars = token.chars();
    chars.next() == Some('\'') && chars.next().is_some_and(char::is_alphabetic)
}

pub(super) fn detokenize_english(text: &str) -> String {
    let mut text = format!(" {text} ").replace(" @-@ ", "-");
    for (escaped, plain) in UNESCAPES {
        text = text.replace(escaped, plain);
    }
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut quote_counts: HashMap<&str, usize> = HashMap::new();
    let mut out = String::with_capacity(text.len());
    let mut space = " ";
    for (i, &token) in tokens.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| tokens[p]);
        if is_cjk(token.chars().next()) {
            if !is_cjk(previous.and_then(|p| p.chars().last())) {
                out.push_str(space);
            }
            out.push_str(token);
            space = " ";
        } else if CURRENCY_OR_OPENING.is_match(token) {
            out.push_str(space);
            out.push_str(token);
            space = "";
        } else if CLOSING_PUNCT.is_match(token) || (i > 0 && is_contraction(token)) {
            out.push_str(token);
            space = " ";
        } else if QUOTES.is_match(token) {
            let kind = if LOW_DOUBLE_QUOTES.is_match(token) {
                "\""
            } else {
                token
            };
            let count = quote_counts.entry(kind).or_insert(0);
            let possessive = token == "'" && previous.is_some_and(|p| p.ends_with('s'));
            if *count % 2 == 0 && possessive {
                out.push_str(token);
                space = " ";
            } else if *count % 2 == 0 {
                out.push_str(space);
                out.push_str(token);
                space = "";
                *count += 1;
            } else {
                out.push_str(token);
                space = " ";
                *count += 1;
            }
        } else {
            out.push_str(space);
            out.push_str(token);
            space = " ";
        }
    }
    SPACES.replace_all(&out, " ").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_attach_and_quotes_pair() {
        assert_eq!(
            detokenize_english("He said , \" We 'll win \" ( at ₹ 5 ) ."),
            "He said, \"We'll win\" (at ₹5)."
        );
    }
}
