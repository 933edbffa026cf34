//! Scoring outputs: corpus BLEU, chrF and chrF++ (equal to sacrebleu 2.x with default
//! settings), ROUGE-L (equal to Google's `rouge-score` without stemming, averaged over
//! segments), and the faithfulness check that lists numbers and dates in an English
//! output that the Hindi source does not support.
//!
//! All corpus figures are percentages (0..=100), ROUGE-L included.

mod bleu;
pub mod check;
mod chrf;
mod pytext;
mod rouge;
mod segments;
mod tokenize_13a;

use serde::Serialize;

pub use bleu::{BleuScore, MAX_NGRAM_ORDER};
pub use check::{check_numbers, Finding, FindingKind, SourceQuantities};
pub use chrf::{ChrfScore, BETA, CHAR_ORDER, CHRF_PP_WORD_ORDER};
pub use rouge::{rouge_l_segment, rouge_tokenize, RougeLScore, SegmentRouge};
pub use segments::{read_segments, SegmentFormat};
pub use tokenize_13a::tokenize_13a;

/// Scoring inputs that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    // The io::Error is in the message, so it is not also a `source`: printers that
    // walk the chain would say it twice.
    #[error("cannot read {path}: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("{path} line {line}: not a JSON object ({message}); give JSONL with one object per line or a plain-text file")]
    Json {
        path: String,
        line: usize,
        message: String,
    },
    #[error(
        "{path} line {line}: no string field {fields}; pick the field with --hyp-field/--ref-field"
    )]
    MissingField {
        path: String,
        line: usize,
        fields: String,
    },
    #[error("{hyps} hypotheses but {refs} references in {name}: give exactly one segment per line in both")]
    LengthMismatch {
        hyps: usize,
        refs: usize,
        name: String,
    },
    #[error("no segments to score: the hypotheses are empty")]
    Empty,
    #[error("no references: give at least one reference stream")]
    NoReferences,
    #[error("unknown metric {0:?}: use bleu, chrf, chrf++ or rougeL")]
    UnknownMetric(String),
}

/// The metrics `saar score` can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Metric {
    Bleu,
    Chrf,
    ChrfPlusPlus,
    RougeL,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::Bleu,
        Metric::Chrf,
        Metric::ChrfPlusPlus,
        Metric::RougeL,
    ];
}

impl std::str::FromStr for Metric {
    type Err = ScoreError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().as_str() {
            "bleu" => Ok(Metric::Bleu),
            "chrf" => Ok(Metric::Chrf),
            "chrf++" | "chrfpp" | "chrf_pp" => Ok(Metric::ChrfPlusPlus),
            "rougel" | "rouge-l" | "rouge_l" => Ok(Metric::RougeL),
            _ => Err(ScoreError::UnknownMetric(name.to_owned())),
        }
    }
}

/// Hypotheses with one or more reference streams of the same length, as sacrebleu's
/// `corpus_score(hyps, [refs_1, refs_2, ...])` takes them.
#[derive(Debug, Clone)]
pub struct Corpus {
    hyps: Vec<String>,
    ref_streams: Vec<Vec<String>>,
}

impl Corpus {
    /// Checks that there is something to score and that every stream lines up.
    pub fn new(hyps: Vec<String>, ref_streams: Vec<Vec<String>>) -> Result<Self, ScoreError> {
        if hyps.is_empty() {
            return Err(ScoreError::Empty);
        }
        if ref_streams.is_empty() {
            return Err(ScoreError::NoReferences);
        }
        for (k, stream) in ref_streams.iter().enumerate() {
            if stream.len() != hyps.len() {
                return Err(ScoreError::LengthMismatch {
                    hyps: hyps.len(),
                    refs: stream.len(),
                    name: format!("reference stream {}", k + 1),
                });
            }
        }
        Ok(Corpus { hyps, ref_streams })
    }

    pub fn segments(&self) -> usize {
        self.hyps.len()
    }

    pub fn reference_streams(&self) -> usize {
        self.ref_streams.len()
    }

    pub fn bleu(&self) -> BleuScore {
        bleu::corpus_bleu(&self.hyps, &self.ref_streams)
    }

    /// chrF: character 6-grams, no word n-grams, beta 2.
    pub fn chrf(&self) -> ChrfScore {
        chrf::corpus_chrf(&self.hyps, &self.ref_streams, 0)
    }

    /// chrF++: character 6-grams plus word 1- and 2-grams, beta 2.
    pub fn chrf_plus_plus(&self) -> ChrfScore {
        chrf::corpus_chrf(&self.hyps, &self.ref_streams, CHRF_PP_WORD_ORDER)
    }

    /// Mean per-segment ROUGE-L, in percent.
    pub fn rouge_l(&self) -> RougeLScore {
        rouge::corpus_rouge_l(&self.hyps, &self.ref_streams)
    }

    /// The requested metrics; the others stay `None`.
    pub fn score(&self, metrics: &[Metric]) -> ScoreReport {
        let wants = |m: Metric| metrics.contains(&m);
        ScoreReport {
            segments: self.segments(),
            reference_streams: self.reference_streams(),
            bleu: wants(Metric::Bleu).then(|| self.bleu()),
            chrf: wants(Metric::Chrf).then(|| self.chrf()),
            chrf_plus_plus: wants(Metric::ChrfPlusPlus).then(|| self.chrf_plus_plus()),
            rouge_l: wants(Metric::RougeL).then(|| self.rouge_l()),
        }
    }
}

/// What `saar score` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReport {
    pub segments: usize,
    pub reference_streams: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bleu: Option<BleuScore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chrf: Option<ChrfScore>,
    #[serde(rename = "chrf++", skip_serializing_if = "Option::is_none")]
    pub chrf_plus_plus: Option<ChrfScore>,
    #[serde(rename = "rougeL", skip_serializing_if = "Option::is_none")]
    pub rouge_l: Option<RougeLScore>,
}
