//! The readable form of `saar bench`'s rows: one line per row and kernel path, and
//! for rows measured on both paths, saar's speed as a multiple of stock candle's.

use serde_json::Value;

const HEADER: [&str; 10] = [
    "shape",
    "format",
    "kernels",
    "threads",
    "prompt",
    "prefill tok/s",
    "decode tok/s",
    "decode after prompt",
    "translate tok/s",
    "peak RSS MiB",
];

/// Renders the reports (JSON lines as `saar bench` prints them) as an aligned table.
pub fn render(reports: &[Value]) -> String {
    let mut lines: Vec<[String; 10]> = vec![HEADER.map(String::from)];
    for (index, report) in reports.iter().enumerate() {
        lines.push([
            text(report, "shape"),
            row_name(report),
            text(report, "kernels"),
            count(report, "threads"),
            count(report, "prompt_tokens"),
            speed(report, "prefill_tok_s"),
            speed(report, "decode_tok_s"),
            speed(report, "decode_after_prompt_tok_s"),
            speed(report, "translate_tok_s"),
            report["peak_rss_bytes"]
                .as_u64()
                .map_or("-".into(), |bytes| {
                    format!("{:.0}", bytes as f64 / 1048576.0)
                }),
        ]);
        let saar = index.checked_sub(1).map(|before| &reports[before]);
        if let Some(saar) = saar.filter(|saar| is_pair(saar, report)) {
            let ratio = |key| match (saar[key].as_f64(), report[key].as_f64()) {
                (Some(saar), Some(stock)) if stock > 0.0 => format!("{:.2}x", saar / stock),
                _ => "-".into(),
            };
            lines.push([
                String::new(),
                String::new(),
                "saar/candle".into(),
                String::new(),
                String::new(),
                ratio("prefill_tok_s"),
                ratio("decode_tok_s"),
                ratio("decode_after_prompt_tok_s"),
                ratio("translate_tok_s"),
                String::new(),
            ]);
        }
    }
    let lines: Vec<Vec<String>> = lines.into_iter().map(Vec::from).collect();
    align(&lines)
}

/// Lines of cells as aligned columns: the first three (names) to the left, the
/// numbers to the right.
pub fn align(lines: &[Vec<String>]) -> String {
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|column| {
            lines
                .iter()
                .map(|line| line.get(column).map_or(0, String::len))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let cells: Vec<String> = line
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, &width))| match column {
                0..=2 => format!("{cell:<width$}"),
                _ => format!("{cell:>width$}"),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `gguf-q4_k_m`, or `marian-f32 b8` for a Marian row's batch size.
fn row_name(report: &Value) -> String {
    let format = text(report, "format");
    match report["batch"].as_u64() {
        Some(batch) => format!("{format} b{batch}"),
        None => format,
    }
}

/// Whether `candle` is stock candle's run of the work `saar` ran just before.
fn is_pair(saar: &Value, candle: &Value) -> bool {
    let same_work = ["shape", "format", "batch", "threads", "prompt_tokens"]
        .iter()
        .all(|key| saar[key] == candle[key]);
    saar["kernels"] == "saar" && candle["kernels"] == "candle" && same_work
}

fn text(report: &Value, key: &str) -> String {
    report[key].as_str().unwrap_or("-").to_string()
}

fn count(report: &Value, key: &str) -> String {
    report[key].as_u64().map_or("-".into(), |n| n.to_string())
}

fn speed(report: &Value, key: &str) -> String {
    report[key]
        .as_f64()
        .map_or("-".into(), |value| format!("{value:.1}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_get_a_ratio_line_and_lone_rows_do_not() {
        let reports = [
            json!({"shape": "s", "format": "gguf-q8_0", "kernels": "saar", "threads": 2,
                   "prefill_tok_s": 30.0, "decode_tok_s": 9.0, "peak_rss_bytes": 2097152}),
            json!({"shape": "s", "format": "gguf-q8_0", "kernels": "candle", "threads": 2,
                   "prefill_tok_s": 10.0, "decode_tok_s": 6.0, "peak_rss_bytes": 1048576}),
            json!({"shape": "m", "format": "marian-f32", "batch": 8, "kernels": "saar",
                   "threads": 2, "translate_tok_s": 150.0}),
        ];
        let table = render(&reports);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(lines[0].starts_with("shape"));
        assert!(lines[1].contains("gguf-q8_0") && lines[1].contains("30.0"));
        assert!(lines[1].trim_end().ends_with('2'), "{table}");
        assert!(lines[3].contains("saar/candle"), "{table}");
        assert!(lines[3].contains("3.00x") && lines[3].contains("1.50x"));
        assert!(lines[4].contains("marian-f32 b8") && lines[4].contains("150.0"));
    }

    #[test]
    fn each_prompt_length_is_a_row_paired_with_its_own_length() {
        let row = |kernels, prompt, speed| {
            json!({"shape": "s", "format": "gguf-q8_0", "kernels": kernels, "threads": 2,
                   "prompt_tokens": prompt, "prefill_tok_s": speed})
        };
        let reports = [
            row("saar", 512, 60.0),
            row("candle", 512, 30.0),
            row("saar", 2048, 40.0),
            row("candle", 2048, 10.0),
            row("candle", 4096, 5.0),
        ];
        let table = render(&reports);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 8, "{table}");
        assert!(
            lines[1].contains(" 512 ") && lines[1].contains("60.0"),
            "{table}"
        );
        assert!(lines[3].contains("2.00x"), "{table}");
        assert!(
            lines[4].contains("2048") && lines[4].contains("40.0"),
            "{table}"
        );
        assert!(lines[6].contains("4.00x"), "{table}");
        // A saar row of 2048 tokens is not the partner of candle's 4096.
        assert!(
            lines[7].contains("4096") && !table.ends_with("x\n"),
            "{table}"
        );
    }

    #[test]
    fn a_candle_row_of_other_work_is_not_a_partner() {
        let reports = [
            json!({"shape": "s", "format": "gguf-q8_0", "kernels": "saar"}),
            json!({"shape": "s", "format": "gguf-f16", "kernels": "candle"}),
        ];
        assert!(!render(&reports).contains("saar/candle"));
    }
}
