//! `saar score`: corpus BLEU, chrF, chrF++ (as sacrebleu 2.x computes them) and mean
//! ROUGE-L (as rouge-score computes it, unstemmed) of hypotheses against references,
//! and, given the Hindi sources, the number check of every hypothesis.
//!
//! Inputs are plain text with one segment per line, or JSONL (a `.jsonl`/`.ndjson`
//! name, or `--input-format jsonl`) whose string field holds the segment: `output` for
//! hypotheses, `text` and then `ref` for references, `source` and then `text` for
//! sources, unless `--hyp-field`, `--ref-field`, `--source-field` name another.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use saar::score::{
    read_segments, Corpus, Finding, Metric, ScoreReport, SegmentFormat, SourceQuantities,
};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Reference segments; repeat the flag for several references per segment.
    #[arg(long = "refs", value_name = "FILE", required = true)]
    pub refs: Vec<PathBuf>,

    /// Hypothesis segments (system outputs), one per reference segment.
    #[arg(long, value_name = "FILE")]
    pub hyps: PathBuf,

    /// Hindi sources, one per hypothesis: also list numbers and dates in each
    /// hypothesis that its source does not support.
    #[arg(long, value_name = "FILE")]
    pub sources: Option<PathBuf>,

    /// How the files are laid out; `auto` reads `.jsonl`/`.ndjson` files as JSONL.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,

    /// JSONL field holding a hypothesis.
    #[arg(long, default_value = "output", value_name = "NAME")]
    pub hyp_field: String,

    /// JSONL field holding a reference [default: "text", else "ref"].
    #[arg(long, value_name = "NAME")]
    pub ref_field: Option<String>,

    /// JSONL field holding a source [default: "source", else "text"].
    #[arg(long, value_name = "NAME")]
    pub source_field: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Metrics to compute, comma-separated: bleu, chrf, chrf++, rougeL.
    #[arg(
        long,
        value_delimiter = ',',
        value_parser = parse_metric,
        default_value = "bleu,chrf,chrf++,rougeL"
    )]
    pub metrics: Vec<Metric>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Auto,
    Text,
    Jsonl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

fn parse_metric(name: &str) -> Result<Metric, String> {
    name.parse()
        .map_err(|e: saar::score::ScoreError| e.to_string())
}

/// The findings of one hypothesis.
#[derive(Debug, Serialize)]
struct SegmentFindings {
    /// 1-based, as line numbers are.
    segment: usize,
    findings: Vec<Finding>,
}

#[derive(Debug, Serialize)]
struct Output {
    #[serde(flatten)]
    scores: ScoreReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    number_check: Option<Vec<SegmentFindings>>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let format = match args.input_format {
        InputFormat::Auto => SegmentFormat::Auto,
        InputFormat::Text => SegmentFormat::Text,
        InputFormat::Jsonl => SegmentFormat::Jsonl,
    };
    let hyps = read_segments(&args.hyps, format, &[args.hyp_field.as_str()])?;
    let ref_fields = field_or(&args.ref_field, &["text", "ref"]);
    let mut ref_streams = Vec::with_capacity(args.refs.len());
    for path in &args.refs {
        let refs = read_segments(path, format, &ref_fields)?;
        ensure_same_count(&args.hyps, hyps.len(), path, refs.len())?;
        ref_streams.push(refs);
    }
    let number_check = match &args.sources {
        Some(path) => {
            let sources = read_segments(
                path,
                format,
                &field_or(&args.source_field, &["source", "text"]),
            )?;
            ensure_same_count(&args.hyps, hyps.len(), path, sources.len())?;
            Some(check_all(&sources, &hyps))
        }
        None => None,
    };
    let corpus = Corpus::new(hyps, ref_streams).context("cannot score these files")?;
    let output = Output {
        scores: corpus.score(&args.metrics),
        number_check,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&output)?),
        Format::Text => print_text(&output),
    }
    Ok(ExitCode::SUCCESS)
}

fn field_or<'a>(given: &'a Option<String>, defaults: &[&'a str]) -> Vec<&'a str> {
    match given {
        Some(field) => vec![field.as_str()],
        None => defaults.to_vec(),
    }
}

fn ensure_same_count(
    hyps: &Path,
    hyp_count: usize,
    other: &Path,
    count: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        hyp_count == count,
        "{} has {hyp_count} segments but {} has {count}: give exactly one segment per line in each",
        hyps.display(),
        other.display()
    );
    Ok(())
}

fn check_all(sources: &[String], hyps: &[String]) -> Vec<SegmentFindings> {
    sources
        .iter()
        .zip(hyps)
        .enumerate()
        .map(|(i, (source, hyp))| SegmentFindings {
            segment: i + 1,
            findings: SourceQuantities::from_source(source).check(hyp),
        })
        .filter(|s| !s.findings.is_empty())
        .collect()
}

fn print_text(output: &Output) {
    let scores = &output.scores;
    if let Some(bleu) = &scores.bleu {
        let precisions: Vec<String> = bleu.precisions.iter().map(|p| format!("{p:.1}")).collect();
        let ratio = if bleu.ref_len > 0 {
            bleu.sys_len as f64 / bleu.ref_len as f64
        } else {
            0.0
        };
        println!(
            "BLEU     {:6.2}  {} (BP = {:.3} ratio = {:.3} hyp_len = {} ref_len = {})",
            bleu.score,
            precisions.join("/"),
            bleu.bp,
            ratio,
            bleu.sys_len,
            bleu.ref_len
        );
    }
    if let Some(chrf) = &scores.chrf {
        println!("chrF2    {:6.2}", chrf.score);
    }
    if let Some(chrf) = &scores.chrf_plus_plus {
        println!("chrF2++  {:6.2}", chrf.score);
    }
    if let Some(rouge) = &scores.rouge_l {
        println!(
            "ROUGE-L  {:6.2}  (P {:.2} R {:.2}; mean over segments, no stemming)",
            rouge.f, rouge.p, rouge.r
        );
    }
    println!(
        "{} segments, {} reference(s) per segment",
        scores.segments, scores.reference_streams
    );
    if let Some(check) = &output.number_check {
        let total: usize = check.iter().map(|s| s.findings.len()).sum();
        println!(
            "number check: {total} untraced number(s) or date(s) in {} of {} segments",
            check.len(),
            scores.segments
        );
        for segment in check {
            for finding in &segment.findings {
                println!("  segment {}: {finding}", segment.segment);
            }
        }
    }
}
