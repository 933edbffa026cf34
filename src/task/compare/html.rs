//! The comparison as one self-contained HTML page: a table of per-model figures, bar
//! charts of scores and speeds (inline SVG), then each document with every model's
//! output side by side and the untraced numbers marked. Everything taken from a model,
//! a file or a file name is HTML-escaped here, in one place.

use std::fmt::Write;

use super::svg::{grouped_bars, PALETTE};
use super::{score_columns, Comparison, DocumentOutput, ModelRun};
use crate::score::Finding;

// The Devanagari fonts are named so Hindi renders on common desktops: Noto (Linux,
// Android), Nirmala UI and Mangal (Windows), Kohinoor (macOS), Lohit (older Linux).
const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans Devanagari','Nirmala UI',Mangal,'Kohinoor Devanagari','Lohit Devanagari',sans-serif;margin:2rem auto;max-width:1400px;padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}
h3{font-size:1rem;margin:0 0 .3rem} .sub{color:#555;margin-top:0}
table{border-collapse:collapse;margin:1rem 0} th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:right} th:first-child,td:first-child,td.text{text-align:left}
th{background:#f3f3f3} .charts{display:flex;flex-wrap:wrap;gap:1rem}
.chart-title{font-size:14px;font-weight:600} .tick,.value,.legend,.group{font-size:11px;fill:#333}
.outputs{display:grid;grid-template-columns:repeat(auto-fit,minmax(320px,1fr));gap:1rem}
.card{border:1px solid #ccc;border-top:4px solid var(--c);border-radius:4px;padding:.6rem .8rem;background:#fcfcfc}
.meta{color:#555;font-size:.85rem;margin:.1rem 0 .5rem} .text-block{white-space:pre-wrap;overflow-wrap:anywhere}
mark{background:#ffd54f;border-bottom:2px solid #d32f2f} .findings{color:#b71c1c;font-size:.85rem;padding-left:1.2rem}
.ok{color:#2e7d32;font-size:.85rem} details{margin:.5rem 0} .reference{background:#eef5ff;padding:.5rem .8rem;border-radius:4px}
";

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub(super) fn report(comparison: &Comparison) -> String {
    let title = format!(
        "saar compare: {} over {} document{}, {} model{}",
        comparison.task,
        comparison.documents.len(),
        plural(comparison.documents.len()),
        comparison.runs.len(),
        plural(comparison.runs.len())
    );
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = escape(&title)
    );
    html.push_str("<p class=\"sub\">Highlighted: numbers and dates in an output that its Hindi source does not support (the number check). Speeds are tokens per second summed over all documents.</p>\n");
    html.push_str(&figures_table(comparison));
    html.push_str(&charts(comparison));
    for (index, document) in comparison.documents.iter().enumerate() {
        let _ = write!(
            html,
            "<section id=\"doc-{index}\">\n<h2>{}</h2>\n<details><summary>Source article</summary><div class=\"text-block\" lang=\"hi\">{}</div></details>\n",
            escape(&document.id),
            escape(&document.source)
        );
        if let Some(reference) = &document.reference {
            let _ = writeln!(
                html,
                "<details open><summary>Reference</summary><div class=\"text-block reference\">{}</div></details>",
                escape(reference)
            );
        }
        html.push_str("<div class=\"outputs\">\n");
        for (m, run) in comparison.runs.iter().enumerate() {
            if let Some(output) = run.outputs.get(index) {
                html.push_str(&output_card(run, output, PALETTE[m % PALETTE.len()]));
            }
        }
        html.push_str("</div>\n</section>\n");
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn figures_table(comparison: &Comparison) -> String {
    let scored = comparison.has_scores();
    let mut html = String::from("<table>\n<thead><tr><th>model</th><th>architecture</th><th>device / dtype</th><th>mean words</th><th>prefill tok/s</th><th>decode tok/s</th><th>untraced numbers</th><th>wall s</th>");
    if scored {
        html.push_str("<th>BLEU</th><th>chrF</th><th>chrF++</th><th>ROUGE-L</th>");
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for run in &comparison.runs {
        let _ = write!(
            html,
            "<tr><td class=\"text\">{}</td><td class=\"text\">{}</td><td class=\"text\">{} / {}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{:.2}</td>",
            escape(&run.model),
            escape(&run.architecture),
            escape(&run.device),
            escape(&run.dtype),
            run.mean_words(),
            run.usage.prefill_tokens_per_sec(),
            run.usage.decode_tokens_per_sec(),
            run.findings(),
            run.wall_secs
        );
        if scored {
            match &run.scores {
                Some(scores) => {
                    for (_, value) in score_columns(scores) {
                        let _ = write!(html, "<td>{value:.2}</td>");
                    }
                }
                None => html.push_str("<td></td><td></td><td></td><td></td>"),
            }
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>\n");
    html
}

fn charts(comparison: &Comparison) -> String {
    let mut html = String::from("<div class=\"charts\">\n");
    if comparison.has_scores() {
        let series: Vec<(String, Vec<f64>)> = comparison
            .runs
            .iter()
            .map(|run| {
                let values = run
                    .scores
                    .as_ref()
                    .map(|s| score_columns(s).iter().map(|(_, v)| *v).collect())
                    .unwrap_or_default();
                (run.model.clone(), values)
            })
            .collect();
        html.push_str(&grouped_bars(
            "Scores against the references",
            &["BLEU", "chrF", "chrF++", "ROUGE-L"],
            &series,
            "score (0–100)",
        ));
        html.push('\n');
    }
    let speeds: Vec<(String, Vec<f64>)> = comparison
        .runs
        .iter()
        .map(|run: &ModelRun| {
            (
                run.model.clone(),
                vec![
                    run.usage.prefill_tokens_per_sec(),
                    run.usage.decode_tokens_per_sec(),
                ],
            )
        })
        .collect();
    html.push_str(&grouped_bars(
        "Speed",
        &["prefill", "decode"],
        &speeds,
        "tokens/s",
    ));
    html.push_str("\n</div>\n");
    html
}

fn output_card(run: &ModelRun, output: &DocumentOutput, colour: &str) -> String {
    let findings = if output.findings.is_empty() {
        "<p class=\"ok\">number check: nothing untraced</p>".to_string()
    } else {
        let items: String = output
            .findings
            .iter()
            .map(|f| format!("<li><b>{}</b>: {}</li>", escape(&f.text), escape(&f.reason)))
            .collect();
        format!("<ul class=\"findings\">{items}</ul>")
    };
    format!(
        "<article class=\"card\" style=\"--c:{colour}\">\n<h3>{model}</h3>\n<p class=\"meta\">{words} words · {chars} characters · prefill {pre:.1} tok/s · decode {dec:.1} tok/s · {calls} call{s}</p>\n<div class=\"text-block\">{text}</div>\n{findings}\n</article>\n",
        model = escape(&run.model),
        words = output.words,
        chars = output.chars,
        pre = output.usage.prefill_tokens_per_sec(),
        dec = output.usage.decode_tokens_per_sec(),
        calls = output.usage.calls,
        s = plural(output.usage.calls),
        text = highlight(&output.text, &output.findings),
    )
}

/// The escaped output with each finding's span wrapped in `<mark>`. Spans that overlap
/// an earlier one or do not fall on character boundaries are listed but not marked.
pub(crate) fn highlight(text: &str, findings: &[Finding]) -> String {
    let mut spans: Vec<&Finding> = findings.iter().collect();
    spans.sort_by_key(|f| (f.span.start, f.span.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut done = 0;
    for finding in spans {
        let (start, end) = (finding.span.start, finding.span.end);
        if start < done || text.get(start..end).is_none() {
            continue;
        }
        let (Some(before), Some(mention)) = (text.get(done..start), text.get(start..end)) else {
            continue;
        };
        out.push_str(&escape(before));
        let _ = write!(
            out,
            "<mark title=\"{}\">{}</mark>",
            escape(&finding.reason),
            escape(mention)
        );
        done = end;
    }
    out.push_str(&escape(text.get(done..).unwrap_or_default()));
    out
}
