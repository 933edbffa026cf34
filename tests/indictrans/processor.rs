//! IndicTrans2's pre- and post-processing against AI4Bharat's `IndicProcessor` on
//! strings written to stress it (digits, URLs, e-mails, handles, dates, percentages,
//! quotes, Devanagari punctuation, invisible characters, mangled placeholders).
//! Expectations come from scripts/parity/make_indicprocessor_fixtures.py.

use std::collections::HashMap;
use std::path::Path;

use regex::Regex;
use saar::engine::indictrans::processor::{postprocess, preprocess};
use serde_json::Value;

fn cases(kind: &str) -> Vec<Value> {
    let path = Path::new(super::FIXTURE).join("processor.json");
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    fixture[kind].as_array().unwrap().clone()
}

fn strings(value: &Value) -> Vec<String> {
    let list = value.as_array().unwrap();
    list.iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The text with its placeholders renumbered by first appearance, and the entities in
/// that order (those whose placeholder was swallowed last, sorted): the reference
/// numbers in Python `set` order, saar in an order of its own.
fn canonical(text: &str, entities: &[String]) -> (String, Vec<String>) {
    let serial = Regex::new(r"ID(\d+)").unwrap();
    let mut order: HashMap<usize, usize> = HashMap::new();
    let mut ordered = Vec::new();
    let renumbered = serial.replace_all(text, |c: &regex::Captures| {
        let n: usize = c[1].parse().unwrap();
        let next = order.len() + 1;
        let index = *order.entry(n).or_insert_with(|| {
            ordered.push(entities[n - 1].clone());
            next
        });
        format!("ID{index}")
    });
    let mut swallowed: Vec<String> = (1..=entities.len())
        .filter(|n| !order.contains_key(n))
        .map(|n| entities[n - 1].clone())
        .collect();
    swallowed.sort();
    ordered.extend(swallowed);
    (renumbered.into_owned(), ordered)
}

/// Runs `check` (which gives the expected and the actual result of one case) over
/// every case of `kind` and lists all the cases that differ.
fn assert_every_case<T: PartialEq + std::fmt::Debug>(kind: &str, check: impl Fn(&Value) -> (T, T)) {
    let cases = cases(kind);
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let (want, got) = check(case);
            (want != got).then(|| format!("{case}\n  want {want:?}\n  got  {got:?}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn preprocessing_matches_the_reference_on_every_probe() {
    assert_every_case("pre", |case| {
        let ours = preprocess(
            case["source"].as_str().unwrap(),
            case["src_lang"].as_str().unwrap(),
        );
        let want = canonical(
            case["preprocessed"].as_str().unwrap(),
            &strings(&case["entities"]),
        );
        (want, canonical(&ours.text, &ours.entities))
    });
}

#[test]
fn postprocessing_matches_the_reference_on_every_probe() {
    assert_every_case("post", |case| {
        let output = case["output"].as_str().unwrap();
        let got = postprocess(
            output,
            case["lang"].as_str().unwrap(),
            &strings(&case["entities"]),
        );
        (case["postprocessed"].as_str().unwrap().to_string(), got)
    });
}
