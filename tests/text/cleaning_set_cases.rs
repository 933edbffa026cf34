//! The cleaner against the labelled set in tests/fixtures/cleaning: removal precision
//! and recall must meet the targets (recall ≥ 0.95, precision ≥ 0.99).

use crate::labelled::{load_set, parse, score};

#[test]
fn the_labelled_set_meets_the_precision_and_recall_targets() {
    let articles = load_set();
    assert!(
        articles.len() >= 30,
        "the set has {} articles",
        articles.len()
    );
    let score = score(&articles);
    let overall = score.overall;
    assert!(overall.junk >= 100 && overall.content >= 150, "{score}");
    assert!(overall.recall() >= 0.95, "recall below 0.95:\n{score}");
    assert!(
        overall.precision() >= 0.99,
        "precision below 0.99:\n{score}"
    );
}

#[test]
fn every_category_of_the_issue_is_in_the_set() {
    let score = score(&load_set());
    for category in [
        "byline",
        "dateline",
        "caption",
        "photo-credit",
        "credit",
        "ad",
        "disclaimer",
        "tags",
        "read-more",
        "copyright",
        "stray",
        "social",
        "related",
    ] {
        let tally = score.by_category.get(category).copied().unwrap_or_default();
        assert!(tally.junk >= 1, "no {category} in the set");
    }
}

#[test]
fn labels_parse_into_spans_of_the_article_text() {
    let article = parse(
        "t",
        "# comment\n+ शीर्षक\n- [ad] विज्ञापन\n\n~ ⟦byline|X Desk : ⟧पहला वाक्य। ⟦credit|(भाषा)⟧\n",
    );
    assert_eq!(
        article.text,
        "शीर्षक\nविज्ञापन\n\nX Desk : पहला वाक्य। (भाषा)\n"
    );
    let labels: Vec<(&str, Option<&str>)> = article
        .segments
        .iter()
        .map(|s| (&article.text[s.range.clone()], s.junk.as_deref()))
        .collect();
    assert_eq!(
        labels,
        [
            ("शीर्षक", None),
            ("विज्ञापन", Some("ad")),
            ("X Desk : ", Some("byline")),
            ("पहला वाक्य। ", None),
            ("(भाषा)", Some("credit")),
        ]
    );
}

#[test]
fn the_scorer_counts_kept_junk_and_removed_content() {
    let kept_junk = score(&[parse("t", "- [ad] यह विज्ञापन नहीं, खबर है\n")]);
    assert_eq!(kept_junk.overall.recall(), 0.0, "{kept_junk}");
    assert_eq!(kept_junk.mistakes.len(), 1);
    let removed_content = score(&[parse("t", "+ Advertisement\n")]);
    assert_eq!(
        removed_content.overall.precision(),
        0.0,
        "{removed_content}"
    );
}
