//! An error as the one line the CLI prints. candle appends a captured backtrace to
//! its errors' text when `RUST_BACKTRACE` is set (a garbage `.gguf` printed 56 lines),
//! so every cause in the chain is cut to its own first line.

/// `err` and its causes joined by `: `, each cause cut at its first line break.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        let first = text.lines().next().unwrap_or("").trim_end().to_string();
        // anyhow's `{:#}` also skips a cause whose text its parent already ends with.
        if !first.is_empty() && !parts.last().is_some_and(|last| last.ends_with(&first)) {
            parts.push(first);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backtraces_and_later_lines_are_dropped() {
        let candle = std::io::Error::other(
            "invalid magic 0x64726167\nstack backtrace:\n   0: candle_core::error::Error::bt\n   1: main",
        );
        let err = anyhow::Error::new(candle).context("loading model `x.gguf`");
        assert_eq!(
            one_line(&err),
            "loading model `x.gguf`: invalid magic 0x64726167"
        );
    }

    #[test]
    fn a_one_line_chain_reads_as_anyhow_prints_it() {
        let err = anyhow::anyhow!("inner").context("outer");
        assert_eq!(one_line(&err), format!("{err:#}"));
    }
}
