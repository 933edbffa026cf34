//! Checks saar's corpus metrics against sacrebleu 2.x and rouge-score on every case in
//! tests/fixtures/metrics/metrics.json (made by scripts/fixtures/make_metric_fixtures.py):
//! BLEU, chrF, chrF++ and ROUGE-L within 0.01, and BLEU's n-gram statistics exactly.

use saar::score::{Corpus, Metric};
use serde_json::Value;

const FIXTURE: &str = include_str!("fixtures/metrics/metrics.json");
const TOLERANCE: f64 = 0.01;

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("fixture: array of strings")
        .iter()
        .map(|s| s.as_str().expect("fixture: string").to_owned())
        .collect()
}

fn number(value: &Value) -> f64 {
    value.as_f64().expect("fixture: number")
}

fn integers(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .expect("fixture: array of integers")
        .iter()
        .map(|n| n.as_u64().expect("fixture: integer"))
        .collect()
}

struct Comparison {
    failures: Vec<String>,
    max_diff: f64,
}

impl Comparison {
    fn close(&mut self, case: &str, metric: &str, ours: f64, theirs: f64) {
        let diff = (ours - theirs).abs();
        self.max_diff = self.max_diff.max(diff);
        if diff > TOLERANCE || !ours.is_finite() {
            self.failures.push(format!(
                "{case}: {metric} saar {ours:.6} vs reference {theirs:.6}"
            ));
        }
    }

    fn equal<T: PartialEq + std::fmt::Debug>(
        &mut self,
        case: &str,
        what: &str,
        ours: T,
        theirs: T,
    ) {
        if ours != theirs {
            self.failures.push(format!(
                "{case}: {what} saar {ours:?} vs reference {theirs:?}"
            ));
        }
    }
}

#[test]
fn every_fixture_case_matches_sacrebleu_and_rouge_score() {
    let fixture: Value = serde_json::from_str(FIXTURE).expect("fixture parses");
    let versions = &fixture["versions"];
    assert!(
        versions["sacrebleu"]
            .as_str()
            .is_some_and(|v| v.starts_with("2.")),
        "fixture made with sacrebleu 2.x"
    );
    assert!(versions["rouge_score"].is_string());
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(
        cases.len() >= 400,
        "expected the full fixture, found {} cases",
        cases.len()
    );

    let mut cmp = Comparison {
        failures: Vec::new(),
        max_diff: 0.0,
    };
    for case in cases {
        let name = case["name"].as_str().expect("case name");
        let hyps = strings(&case["hyps"]);
        let refs: Vec<Vec<String>> = case["refs"]
            .as_array()
            .expect("refs")
            .iter()
            .map(strings)
            .collect();
        let corpus = Corpus::new(hyps, refs).expect("fixture corpus is valid");
        let report = corpus.score(&Metric::ALL);

        let bleu = report.bleu.expect("bleu requested");
        let want = &case["bleu"];
        cmp.close(name, "BLEU", bleu.score, number(&want["score"]));
        cmp.equal(
            name,
            "BLEU counts",
            bleu.counts.to_vec(),
            integers(&want["counts"]),
        );
        cmp.equal(
            name,
            "BLEU totals",
            bleu.totals.to_vec(),
            integers(&want["totals"]),
        );
        cmp.equal(
            name,
            "BLEU sys_len",
            bleu.sys_len,
            want["sys_len"].as_u64().unwrap_or(u64::MAX),
        );
        cmp.equal(
            name,
            "BLEU ref_len",
            bleu.ref_len,
            want["ref_len"].as_u64().unwrap_or(u64::MAX),
        );

        cmp.close(
            name,
            "chrF",
            report.chrf.expect("chrf").score,
            number(&case["chrf"]),
        );
        cmp.close(
            name,
            "chrF++",
            report.chrf_plus_plus.expect("chrf++").score,
            number(&case["chrf_pp"]),
        );

        // rouge-score reports 0..1; saar reports percent.
        let rouge = report.rouge_l.expect("rougeL");
        let want = &case["rouge_l"];
        cmp.close(name, "ROUGE-L F", rouge.f, 100.0 * number(&want["f"]));
        cmp.close(name, "ROUGE-L P", rouge.p, 100.0 * number(&want["p"]));
        cmp.close(name, "ROUGE-L R", rouge.r, 100.0 * number(&want["r"]));
    }
    eprintln!(
        "{} fixture cases, largest difference {:.3e}",
        cases.len(),
        cmp.max_diff
    );
    assert!(
        cmp.failures.is_empty(),
        "{} mismatches:\n{}",
        cmp.failures.len(),
        cmp.failures.join("\n")
    );
}

#[test]
fn mismatched_stream_lengths_are_refused_with_one_line() {
    let err = Corpus::new(vec!["a".into(), "b".into()], vec![vec!["a".into()]]).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("2 hypotheses but 1 references"),
        "{message}"
    );
    assert!(!message.contains('\n'));
    assert!(Corpus::new(Vec::new(), vec![Vec::new()]).is_err());
    assert!(Corpus::new(vec!["a".into()], Vec::new()).is_err());
}

#[test]
fn metric_names_parse_and_only_requested_metrics_are_computed() {
    let metrics: Vec<Metric> = ["bleu", "chrF++", "rougeL"]
        .iter()
        .map(|m| m.parse().unwrap())
        .collect();
    assert_eq!(
        metrics,
        [Metric::Bleu, Metric::ChrfPlusPlus, Metric::RougeL]
    );
    assert!("meteor".parse::<Metric>().is_err());
    let corpus = Corpus::new(vec!["the cat".into()], vec![vec!["the cat".into()]]).unwrap();
    let report = corpus.score(&[Metric::Chrf]);
    assert!(report.bleu.is_none() && report.rouge_l.is_none() && report.chrf_plus_plus.is_none());
    assert!((report.chrf.unwrap().score - 100.0).abs() < 1e-9);
}
