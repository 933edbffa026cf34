//! The placeholders that carry e-mail addresses, URLs, numerals and handles through
//! translation untouched: each becomes `<IDn>` before the model, and comes back from
//! any of the forms models turn `<IDn>` into (`[ID n]`, `< id n >`, a Hindi "आईडी n",
//! …), exactly the forms the reference restores.
//!
//! The reference numbers entities in Python `set` order, which changes from run to
//! run; saar numbers them in order of first appearance, pattern by pattern.

use std::sync::LazyLock;

use fancy_regex::Regex as FancyRegex;
use regex::Regex;

/// The entities of one sentence; `<ID1>` stands for the first.
pub type Entities = Vec<String>;

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Z|a-z]{2,}").expect("fixed pattern")
});
/// The reference's URL pattern needs look-around. Its `(?:[…]+)+` is written as
/// `[…]+` here: the same strings, the same preferred match, and no exponential
/// backtracking for a backtracking engine to hit.
static URL: LazyLock<FancyRegex> = LazyLock::new(|| {
    FancyRegex::new(
        r"\b(?<![\w/.])(?:(?:https?|ftp)://)?(?:(?:[\w-]+\.)+(?!\.))[\w/\-?#&=%.]+(?!\.\w+)\b",
    )
    .expect("fixed pattern")
});
static NUMERAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"~?\d+\.?\d*\s?%?\s?-?\s?~?\d+\.?\d*\s?%|~?\d+%|\d+[-/.,:']\d+[-/.,:'+]\d+(?:\.\d+)?|\d+[-/.:'+]\d+(?:\.\d+)?",
    )
    .expect("fixed pattern")
});
static HANDLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9]*[#|@]\w+").expect("fixed pattern"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").expect("fixed pattern"));

#[derive(Clone, Copy)]
enum Kind {
    Email,
    Url,
    Numeral,
    Handle,
}

/// The matches of one pattern in `text`, each once, in order of first appearance.
fn matches(kind: Kind, text: &str) -> Vec<String> {
    let mut found: Vec<String> = match kind {
        Kind::Email => EMAIL.find_iter(text).map(|m| m.as_str().into()).collect(),
        // A match that hits the backtracking limit is no match, as if the pattern
        // had not recognised a URL there.
        Kind::Url => URL
            .find_iter(text)
            .map_while(Result::ok)
            .map(|m| m.as_str().into())
            .collect(),
        Kind::Numeral => NUMERAL.find_iter(text).map(|m| m.as_str().into()).collect(),
        Kind::Handle => HANDLE.find_iter(text).map(|m| m.as_str().into()).collect(),
    };
    let mut seen = std::collections::HashSet::new();
    found.retain(|m| seen.insert(m.clone()));
    found
}

/// Whether the reference keeps a match: URLs of at least four characters besides
/// dots, numerals of at least four besides spaces, dots and colons.
fn worth_protecting(kind: Kind, entity: &str) -> bool {
    let significant = |skip: &[char]| entity.chars().filter(|c| !skip.contains(c)).count();
    match kind {
        Kind::Url => significant(&['.']) >= 4,
        Kind::Numeral => significant(&[' ', '.', ':']) >= 4,
        Kind::Email | Kind::Handle => true,
    }
}

/// Replaces the entities of `text` with `<IDn>`, returning the text and the entities.
pub(super) fn wrap(text: &str) -> (String, Entities) {
    let mut text = text.to_string();
    let mut entities = Entities::new();
    for kind in [Kind::Email, Kind::Url, Kind::Numeral, Kind::Handle] {
        for entity in matches(kind, &text) {
            if !worth_protecting(kind, &entity) {
                continue;
            }
            // As in the reference, a serial is taken even when an earlier
            // replacement already swallowed this match.
            text = text.replace(&entity, &format!("<ID{}>", entities.len() + 1));
            entities.push(entity);
        }
    }
    let text = SPACES
        .replace_all(&text, " ")
        .replace(">/", ">")
        .replace("]/", "]");
    (text, entities)
}

/// What models write for "ID" in Hindi and other scripts, as the reference lists it.
/// Two entries run together (`"आय . डी ."` and `"आइ . डी . "`), as a missing comma in
/// the reference's list makes them.
const MANGLED_ID: [&str; 21] = [
    "آی ڈی ",
    "ꯑꯥꯏꯗꯤ",
    "आईडी",
    "आई . डी . ",
    "आई . डी .",
    "आई. डी. ",
    "आई. डी.",
    "आय. डी. ",
    "आय. डी.",
    "आय . डी . ",
    "आय . डी .आइ . डी . ",
    "आइ . डी .",
    "आइ. डी. ",
    "आइ. डी.",
    "ऐटि",
    "آئی ڈی ",
    "ᱟᱭᱰᱤ ᱾",
    "आयडी",
    "ऐडि",
    "आइडि",
    "ᱟᱭᱰᱤ",
];

/// Every form the reference restores for serial `n`, in its order.
fn forms(n: usize) -> Vec<String> {
    let mut forms = Vec::with_capacity(16 + 11 * MANGLED_ID.len());
    for id in ["ID", "id"] {
        forms.extend([
            format!("<{id}{n}>"),
            format!("< {id}{n} >"),
            format!("[{id}{n}]"),
            format!("[ {id}{n} ]"),
            format!("[{id} {n}]"),
            format!("<{id}{n}]"),
            format!("< {id}{n}]"),
            format!("<{id}{n} ]"),
        ]);
    }
    for id in MANGLED_ID {
        forms.extend([
            format!("<{id}{n}>"),
            format!("< {id}{n} >"),
            format!("< {id} {n} >"),
            format!("<{id} {n}]"),
            format!("< {id} {n} ]"),
            format!("[{id}{n}]"),
            format!("[{id} {n}]"),
            format!("[ {id}{n} ]"),
            format!("[ {id} {n} ]"),
            format!("{id} {n}"),
            format!("{id}{n}"),
        ]);
    }
    forms
}

/// Puts the entities back wherever the output holds one of their placeholders' forms.
pub(super) fn restore(output: &str, entities: &Entities) -> String {
    let mut text = output.to_string();
    for (index, entity) in entities.iter().enumerate() {
        for form in forms(index + 1) {
            if text.contains(&form) {
                text = text.replace(&form, entity);
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_stay_and_longer_ones_are_wrapped() {
        let (text, entities) = wrap("दर 6.5 से 2024-25 तक, info@a.in पर");
        assert_eq!(text, "दर 6.5 से <ID2> तक, <ID1> पर");
        assert_eq!(entities, ["info@a.in", "2024-25"]);
    }

    #[test]
    fn mangled_forms_are_restored() {
        let entities = vec!["10:30".to_string(), "www.a.in".to_string()];
        assert_eq!(
            restore("at [ID 1] on आईडी2", &entities),
            "at 10:30 on www.a.in"
        );
    }
}
