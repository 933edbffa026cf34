//! The per-model figures of a comparison as a Markdown table, for the terminal and
//! for pasting into an issue.

use super::{score_columns, Comparison};

const HEADER: [&str; 7] = [
    "model",
    "arch",
    "mean words",
    "prefill tok/s",
    "decode tok/s",
    "untraced numbers",
    "wall s",
];

pub(super) fn table(comparison: &Comparison) -> String {
    let scored = comparison.has_scores();
    let mut header: Vec<&str> = HEADER.to_vec();
    if scored {
        header.extend(["BLEU", "chrF", "chrF++", "ROUGE-L"]);
    }
    let mut out = row(header.iter().map(|h| h.to_string()));
    out.push_str(&row(header.iter().enumerate().map(|(i, _)| {
        if i < 2 {
            "---".to_string()
        } else {
            "---:".to_string()
        }
    })));
    for run in &comparison.runs {
        let mut cells = vec![
            cell(&run.model),
            cell(&run.architecture),
            format!("{:.1}", run.mean_words()),
            format!("{:.1}", run.usage.prefill_tokens_per_sec()),
            format!("{:.1}", run.usage.decode_tokens_per_sec()),
            run.findings().to_string(),
            format!("{:.2}", run.wall_secs),
        ];
        if scored {
            match &run.scores {
                Some(scores) => {
                    cells.extend(score_columns(scores).iter().map(|(_, v)| format!("{v:.2}")))
                }
                None => cells.extend(std::iter::repeat_n("–".to_string(), 4)),
            }
        }
        out.push_str(&row(cells.into_iter()));
    }
    out
}

fn row(cells: impl Iterator<Item = String>) -> String {
    let cells: Vec<String> = cells.collect();
    format!("| {} |\n", cells.join(" | "))
}

/// A model name may be a path holding `|`; Markdown needs it escaped.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
