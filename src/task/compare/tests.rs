//! Rendering a hand-built comparison: escaping, highlighting, the Markdown table.

use super::html::{escape, highlight};
use super::*;
use crate::score::check_numbers;

const SOURCE: &str = "शहर में 5 नए स्टेशन खुले।";

fn output(id: &str, text: &str) -> DocumentOutput {
    DocumentOutput {
        id: id.into(),
        text: text.into(),
        words: text.split_whitespace().count(),
        chars: text.chars().count(),
        usage: Usage {
            calls: 1,
            prompt_tokens: 40,
            generated_tokens: 8,
            prefill_secs: 0.5,
            decode_secs: 2.0,
        },
        findings: check_numbers(SOURCE, text),
    }
}

fn run(model: &str, texts: &[&str], with_refs: bool) -> ModelRun {
    let outputs: Vec<DocumentOutput> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| output(&format!("doc{i}"), t))
        .collect();
    let scores = with_refs.then(|| {
        Corpus::new(
            outputs.iter().map(|o| o.text.clone()).collect(),
            vec![vec!["Five new stations opened.".into(); outputs.len()]],
        )
        .unwrap()
        .score(&Metric::ALL)
    });
    ModelRun {
        model: model.into(),
        architecture: "qwen3".into(),
        device: "cpu".into(),
        dtype: "f32".into(),
        usage: outputs.iter().fold(Usage::default(), |mut u, o| {
            u.add(&o.usage);
            u
        }),
        outputs,
        wall_secs: 1.0,
        scores,
    }
}

fn comparison(with_refs: bool) -> Comparison {
    let documents = (0..2)
        .map(|i| Document {
            id: format!("doc{i}"),
            source: SOURCE.into(),
            reference: with_refs.then(|| "Five new stations opened.".into()),
        })
        .collect();
    Comparison::new(
        &CompareTask::summarize(8),
        documents,
        vec![
            run(
                "model|a",
                &["<script>x</script> 7 stations", "5 stations"],
                with_refs,
            ),
            run("b", &["Five new stations", "a & b"], with_refs),
        ],
    )
}

#[test]
fn outputs_are_escaped_and_untraced_numbers_marked() {
    let html = comparison(true).html_report();
    assert!(!html.contains("<script>"), "raw output leaked");
    assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
    assert!(html.contains("a &amp; b"));
    assert!(html.contains("<mark title="), "7 is not in the source");
    assert!(html.contains(">7</mark>"));
    assert_eq!(html.matches("<mark").count(), 1, "5 is traced");
    assert_eq!(html.matches("<svg").count(), 2, "scores and speeds");
}

#[test]
fn the_page_names_devanagari_fonts_before_the_generic_family() {
    let html = comparison(false).html_report();
    let body = html.split("body{font-family:").nth(1).expect("a body font");
    let stack: Vec<&str> = body[..body.find(';').unwrap()]
        .split(',')
        .map(|f| f.trim_matches('\''))
        .collect();
    let generic = stack.iter().position(|f| *f == "sans-serif").unwrap();
    for font in [
        "Noto Sans Devanagari",
        "Nirmala UI",
        "Mangal",
        "Kohinoor Devanagari",
        "Lohit Devanagari",
    ] {
        let at = stack.iter().position(|f| *f == font);
        assert!(at.is_some_and(|at| at < generic), "{font} in {stack:?}");
    }
}

#[test]
fn without_references_there_are_no_score_columns_or_chart() {
    let comparison = comparison(false);
    let html = comparison.html_report();
    assert_eq!(html.matches("<svg").count(), 1);
    assert!(!html.contains("BLEU"));
    assert!(!comparison.markdown_table().contains("BLEU"));
}

#[test]
fn markdown_has_a_row_per_model_with_speeds_and_scores() {
    let table = comparison(true).markdown_table();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].contains("BLEU") && lines[0].contains("ROUGE-L"));
    assert!(lines[2].starts_with("| model\\|a | qwen3 |"), "{table}");
    // 80 prompt tokens over 1 s; 16 generated over 4 s; one finding.
    assert!(lines[2].contains("| 80.0 | 4.0 | 1 |"), "{table}");
    assert_eq!(lines[2].matches('|').count() - 1, 12, "{table}");
}

#[test]
fn highlight_skips_spans_off_character_boundaries() {
    let finding = Finding {
        text: "x".into(),
        span: 1..2,
        kind: crate::score::FindingKind::Number { value: 1.0 },
        reason: "r".into(),
    };
    assert_eq!(highlight("ह<", &[finding]), escape("ह<"));
}
