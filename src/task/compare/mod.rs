//! Comparing models side by side: every model runs the same task over the same
//! documents (one model loaded at a time, by the caller), and the outputs, lengths,
//! speeds, number-check findings and, given references, corpus scores are gathered
//! into a [`Comparison`] that renders as a Markdown table or a self-contained HTML report.
//!
//! ```no_run
//! use saar::model::ModelFiles;
//! use saar::task::compare::{self, CompareTask, Comparison};
//!
//! fn compare_two(a: ModelFiles, b: ModelFiles) -> Result<String, Box<dyn std::error::Error>> {
//!     let documents = compare::read_documents(&["examples/articles".into()])?;
//!     let task = CompareTask::summarize(64);
//!     let placement = saar::engine::Placement { device: candle_core::Device::Cpu, dtype: None };
//!     let mut runs = Vec::new();
//!     for files in [a, b] {
//!         // One model in memory at a time: each drops before the next loads.
//!         let prompts = saar::prompt::TaskPrompts::embedded();
//!         let mut model = saar::task::Model::load(files, &placement, prompts)?;
//!         runs.push(compare::run_model(&mut model, &documents, &task, &mut |_| {})?);
//!     }
//!     Ok(Comparison::new(&task, documents, runs).markdown_table())
//! }
//! ```

mod documents;
mod html;
mod markdown;
mod runs;
mod svg;

use super::{TaskSettings, Usage};
use crate::engine::GenerationSettings;
use crate::score::{Corpus, Finding, Metric, ScoreReport};

pub use documents::{attach_references, read_documents, CompareError, Document};
pub use runs::{check_model, run_cached, run_model, CachedRun, RunCache};

/// What every model is asked to do with each document.
#[derive(Debug, Clone)]
pub enum CompareTask {
    Summarize(TaskSettings),
    Translate(GenerationSettings),
}

impl CompareTask {
    /// English summaries of medium length, greedy, at most `max_new_tokens` each.
    pub fn summarize(max_new_tokens: usize) -> Self {
        CompareTask::Summarize(TaskSettings::new(greedy_settings(max_new_tokens)))
    }

    /// Full English translations, greedy, at most `max_new_tokens` per chunk.
    pub fn translate(max_new_tokens: usize) -> Self {
        CompareTask::Translate(greedy_settings(max_new_tokens))
    }

    pub fn name(&self) -> &'static str {
        match self {
            CompareTask::Summarize(_) => "summarize",
            CompareTask::Translate(_) => "translate",
        }
    }
}

/// Greedy decoding with the CLI's default repeat penalty. EOS ids are left empty:
/// [`run_model`] and [`run_cached`] fill in each model's own (others must set them
/// from the tokenizer).
pub fn greedy_settings(max_new_tokens: usize) -> GenerationSettings {
    GenerationSettings {
        repeat_penalty: 1.1,
        ..GenerationSettings::greedy(max_new_tokens)
    }
}

/// What a running comparison tells its caller (for progress lines).
#[derive(Debug, Clone, PartialEq)]
pub enum Progress<'a> {
    /// Document `index` (0-based) of `total` is starting.
    Document {
        id: &'a str,
        index: usize,
        total: usize,
    },
}

/// One model's output for one document.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocumentOutput {
    pub id: String,
    pub text: String,
    /// Whitespace-separated words, and characters.
    pub words: usize,
    pub chars: usize,
    pub usage: Usage,
    /// Numbers and dates in the output that the source does not support.
    pub findings: Vec<Finding>,
}

/// One model over every document.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelRun {
    pub model: String,
    pub architecture: String,
    pub device: String,
    pub dtype: String,
    pub outputs: Vec<DocumentOutput>,
    /// Summed over every document.
    pub usage: Usage,
    pub wall_secs: f64,
    /// Corpus scores against the references, when every document has one.
    pub scores: Option<ScoreReport>,
}

impl ModelRun {
    pub fn findings(&self) -> usize {
        self.outputs.iter().map(|o| o.findings.len()).sum()
    }

    pub fn mean_words(&self) -> f64 {
        if self.outputs.is_empty() {
            return 0.0;
        }
        self.outputs.iter().map(|o| o.words).sum::<usize>() as f64 / self.outputs.len() as f64
    }
}

fn score_outputs(documents: &[Document], outputs: &[DocumentOutput]) -> Option<ScoreReport> {
    let references: Option<Vec<String>> = documents.iter().map(|d| d.reference.clone()).collect();
    let hyps = outputs.iter().map(|o| o.text.clone()).collect();
    let corpus = Corpus::new(hyps, vec![references?]).ok()?;
    Some(corpus.score(&Metric::ALL))
}

/// Every model's run over the same documents, ready to render.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Comparison {
    pub task: String,
    pub documents: Vec<Document>,
    pub runs: Vec<ModelRun>,
}

impl Comparison {
    pub fn new(task: &CompareTask, documents: Vec<Document>, runs: Vec<ModelRun>) -> Self {
        Comparison {
            task: task.name().to_string(),
            documents,
            runs,
        }
    }

    /// True when the runs carry scores (every document had a reference).
    pub fn has_scores(&self) -> bool {
        self.runs.iter().any(|r| r.scores.is_some())
    }

    /// One row per model: length, speed, findings and scores, as Markdown.
    pub fn markdown_table(&self) -> String {
        markdown::table(self)
    }

    /// The whole comparison as one self-contained HTML page (inline CSS and SVG).
    pub fn html_report(&self) -> String {
        html::report(self)
    }
}

/// The four corpus scores of a run, in [`Metric::ALL`] order, with their labels.
pub(crate) fn score_columns(scores: &ScoreReport) -> [(&'static str, f64); 4] {
    let value = |score: Option<f64>| score.unwrap_or(0.0);
    [
        ("BLEU", value(scores.bleu.as_ref().map(|s| s.score))),
        ("chrF", value(scores.chrf.as_ref().map(|s| s.score))),
        (
            "chrF++",
            value(scores.chrf_plus_plus.as_ref().map(|s| s.score)),
        ),
        ("ROUGE-L", value(scores.rouge_l.as_ref().map(|s| s.f))),
    ]
}

#[cfg(test)]
mod tests;
