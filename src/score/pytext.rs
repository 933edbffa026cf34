//! Python's notion of whitespace, which sacrebleu relies on through `str.split()` and
//! `str.rstrip()`. Rust's `char::is_whitespace` misses U+001C..U+001F, so scores would
//! drift from sacrebleu on text that carries those separators.

/// True for exactly the characters Python's `str.isspace()` accepts.
pub(crate) fn is_py_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// `str.split()` with no arguments: runs of whitespace separate, no empty pieces.
pub(crate) fn py_split(text: &str) -> impl Iterator<Item = &str> {
    text.split(is_py_space).filter(|piece| !piece.is_empty())
}

/// `str.rstrip()` with no arguments.
pub(crate) fn py_rstrip(text: &str) -> &str {
    text.trim_end_matches(is_py_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_separators_count_as_space_like_python() {
        let pieces: Vec<&str> = py_split("a\u{1c}b\u{a0} c\u{3000}").collect();
        assert_eq!(pieces, ["a", "b", "c"]);
        assert_eq!(py_rstrip("x \u{1f}\n"), "x");
        assert!(!is_py_space('\u{200b}'));
    }
}
