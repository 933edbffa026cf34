//! `saar split`: shows how saar cuts an article into sentences or model-sized chunks,
//! so a user can check segmentation and cleaning before spending model time on it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use saar::text::{
    chunk, prepare, read_input, Boundary, ChunkSettings, PrepareOptions, Prepared, Removed, Script,
    TokenCounter,
};
use serde::Serialize;

/// Chunk budget when neither --max-tokens nor SAAR_CHUNK_TOKENS is given.
pub const DEFAULT_CHUNK_TOKENS: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SplitFormat {
    /// One sentence (or one chunk under a header line) after another.
    #[default]
    Text,
    /// A JSON document with byte offsets, scripts, boundaries and token counts.
    Json,
}

/// Split an article into sentences, or into chunks that fit the model's context.
#[derive(Debug, Clone, clap::Args)]
pub struct SplitArgs {
    /// Article text file, or - for standard input.
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
    /// Remove scraped-page boilerplate first: browser notices, "also read" links,
    /// tweet footers, follow and share prompts.
    #[arg(long)]
    pub clean: bool,
    /// Split the text exactly as read, without Unicode normalization, so byte offsets
    /// match the input (after a byte-order mark).
    #[arg(long)]
    pub raw: bool,
    /// Print chunks that fit the model's context instead of sentences (needs --model
    /// for its tokenizer; only the tokenizer files are downloaded, not the weights).
    #[arg(long)]
    pub chunks: bool,
    /// Token budget of one chunk, overlap included (with --chunks).
    #[arg(long, value_name = "N", env = "SAAR_CHUNK_TOKENS", default_value_t = DEFAULT_CHUNK_TOKENS)]
    pub max_tokens: usize,
    /// Sentences of each chunk repeated at the start of the next, as context (with --chunks).
    #[arg(
        long,
        value_name = "N",
        env = "SAAR_CHUNK_OVERLAP",
        default_value_t = 0
    )]
    pub overlap: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SplitFormat::Text)]
    pub format: SplitFormat,
}

#[derive(Serialize)]
struct SentenceRecord<'a> {
    index: usize,
    start: usize,
    end: usize,
    script: Script,
    boundary: Boundary,
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens: Option<usize>,
    text: &'a str,
}

#[derive(Serialize)]
struct ChunkRecord<'a> {
    index: usize,
    start: usize,
    end: usize,
    /// Bytes start..overlap_end repeat the end of the previous chunk.
    overlap_end: usize,
    tokens: usize,
    first_sentence: usize,
    last_sentence: usize,
    boundary: Boundary,
    text: &'a str,
}

#[derive(Serialize)]
struct Report<'a, T> {
    #[serde(skip_serializing_if = "Option::is_none")]
    sentences: Option<Vec<T>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    chunks: Option<Vec<T>>,
    removed: &'a [Removed],
}

/// Runs `saar split`; `counter` is the model's tokenizer when `--model` was given.
pub fn run(
    args: &SplitArgs,
    counter: Option<&dyn TokenCounter>,
    out: &mut dyn Write,
) -> Result<()> {
    let raw = read_input(&args.input)?;
    let prepared = prepare(
        &raw,
        PrepareOptions {
            normalize: !args.raw,
            clean: args.clean,
        },
    );
    if prepared.text.trim().is_empty() {
        bail!("nothing is left after cleaning: every line looked like page boilerplate; run without --clean to see the text");
    }
    if args.chunks {
        let Some(counter) = counter else {
            bail!("--chunks counts tokens with the model's tokenizer: pass --model <name or path>");
        };
        print_chunks(args, &prepared, counter, out)
    } else {
        print_sentences(args, &prepared, counter, out)
    }
}

fn print_sentences(
    args: &SplitArgs,
    prepared: &Prepared,
    counter: Option<&dyn TokenCounter>,
    out: &mut dyn Write,
) -> Result<()> {
    let text = prepared.text.as_str();
    if args.format == SplitFormat::Text {
        for sentence in &prepared.sentences {
            writeln!(out, "{}", sentence.content(text))?;
        }
        return Ok(());
    }
    let records = prepared
        .sentences
        .iter()
        .enumerate()
        .map(|(index, sentence)| SentenceRecord {
            index,
            start: sentence.range.start,
            end: sentence.range.end,
            script: sentence.script,
            boundary: sentence.boundary,
            tokens: counter.map(|c| c.count(sentence.text(text))),
            text: sentence.text(text),
        });
    write_json(
        out,
        &Report {
            sentences: Some(records.collect()),
            chunks: None,
            removed: &prepared.removed,
        },
    )
}

fn print_chunks(
    args: &SplitArgs,
    prepared: &Prepared,
    counter: &dyn TokenCounter,
    out: &mut dyn Write,
) -> Result<()> {
    let text = prepared.text.as_str();
    let settings = ChunkSettings {
        max_tokens: args.max_tokens,
        overlap_sentences: args.overlap,
    };
    let chunks = chunk(text, &prepared.sentences, counter, settings)?;
    if args.format == SplitFormat::Text {
        for (index, chunk) in chunks.iter().enumerate() {
            let repeated = chunk.overlap.len();
            let overlap_note = if repeated > 0 {
                format!(", first {repeated} bytes repeated")
            } else {
                String::new()
            };
            writeln!(
                out,
                "--- chunk {} of {}: {} tokens, bytes {}..{}{overlap_note} ---",
                index + 1,
                chunks.len(),
                chunk.tokens,
                chunk.range.start,
                chunk.range.end
            )?;
            writeln!(out, "{}", chunk.text(text).trim())?;
        }
        return Ok(());
    }
    let records = chunks.iter().enumerate().map(|(index, chunk)| ChunkRecord {
        index,
        start: chunk.range.start,
        end: chunk.range.end,
        overlap_end: chunk.overlap.end,
        tokens: chunk.tokens,
        first_sentence: chunk.sentences.start,
        last_sentence: chunk.sentences.end.saturating_sub(1),
        boundary: chunk.boundary,
        text: chunk.text(text),
    });
    write_json(
        out,
        &Report {
            sentences: None,
            chunks: Some(records.collect()),
            removed: &prepared.removed,
        },
    )
}

fn write_json(out: &mut dyn Write, report: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use saar::text::counters::WordCounter;

    const ARTICLE: &str =
        "नगर निगम ने नई योजना की घोषणा की। डॉ. मीना वर्मा ने कहा कि लागत 2.5 करोड़ होगी.\n\
        यह भी पढ़ें: शहर में बारिश का अलर्ट\n\
        Mr. Rao met U.S. officials today. They agreed.\n";

    fn args_for(path: &std::path::Path) -> SplitArgs {
        SplitArgs {
            input: path.to_path_buf(),
            clean: false,
            raw: false,
            chunks: false,
            max_tokens: DEFAULT_CHUNK_TOKENS,
            overlap: 0,
            format: SplitFormat::Text,
        }
    }

    fn run_to_string(args: &SplitArgs, counter: Option<&dyn TokenCounter>) -> Result<String> {
        let mut out = Vec::new();
        run(args, counter, &mut out)?;
        Ok(String::from_utf8(out)?)
    }

    fn article_file() -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), ARTICLE).expect("write temp file");
        file
    }

    #[test]
    fn prints_every_sentence_once_per_line_without_cleaning() -> Result<()> {
        let file = article_file();
        let printed = run_to_string(&args_for(file.path()), None)?;
        let lines: Vec<&str> = printed.lines().collect();
        assert_eq!(
            lines,
            [
                "नगर निगम ने नई योजना की घोषणा की।",
                "डॉ. मीना वर्मा ने कहा कि लागत 2.5 करोड़ होगी.",
                "यह भी पढ़ें: शहर में बारिश का अलर्ट",
                "Mr. Rao met U.S. officials today.",
                "They agreed.",
            ]
        );
        Ok(())
    }

    #[test]
    fn clean_drops_the_related_link_and_json_lists_it() -> Result<()> {
        let file = article_file();
        let args = SplitArgs {
            clean: true,
            format: SplitFormat::Json,
            ..args_for(file.path())
        };
        let report: serde_json::Value = serde_json::from_str(&run_to_string(&args, None)?)?;
        let sentences = report["sentences"].as_array().map(Vec::len);
        assert_eq!(sentences, Some(4));
        assert_eq!(report["removed"][0]["reason"], "related_link");
        assert_eq!(report["removed"][0]["line"], 2);
        assert_eq!(report["sentences"][2]["script"], "latin");
        Ok(())
    }

    #[derive(Debug, clap::Parser)]
    struct SplitCommand {
        #[command(flatten)]
        args: SplitArgs,
    }

    #[test]
    fn flags_parse_into_settings() -> Result<()> {
        use clap::{CommandFactory, Parser};
        SplitCommand::command().debug_assert();
        let parsed = SplitCommand::try_parse_from([
            "split",
            "news.txt",
            "--clean",
            "--chunks",
            "--max-tokens",
            "64",
            "--overlap",
            "1",
            "--format",
            "json",
        ])?;
        assert_eq!(parsed.args.input, PathBuf::from("news.txt"));
        assert!(parsed.args.clean && parsed.args.chunks && !parsed.args.raw);
        assert_eq!(
            (
                parsed.args.max_tokens,
                parsed.args.overlap,
                parsed.args.format
            ),
            (64, 1, SplitFormat::Json)
        );
        assert!(SplitCommand::try_parse_from(["split", "--format", "yaml"]).is_err());
        Ok(())
    }

    #[test]
    fn chunks_need_a_tokenizer() {
        let file = article_file();
        let args = SplitArgs {
            chunks: true,
            ..args_for(file.path())
        };
        let error = run_to_string(&args, None).expect_err("no counter");
        assert!(error.to_string().contains("--model"), "{error}");
    }

    #[test]
    fn chunks_fit_the_budget_and_report_tokens() -> Result<()> {
        let file = article_file();
        let args = SplitArgs {
            chunks: true,
            max_tokens: 12,
            format: SplitFormat::Json,
            ..args_for(file.path())
        };
        let report: serde_json::Value =
            serde_json::from_str(&run_to_string(&args, Some(&WordCounter))?)?;
        let chunks = report["chunks"].as_array().cloned().unwrap_or_default();
        assert!(chunks.len() >= 3, "{report}");
        let joined: String = chunks.iter().filter_map(|c| c["text"].as_str()).collect();
        assert_eq!(joined, ARTICLE);
        assert!(chunks
            .iter()
            .all(|c| c["tokens"].as_u64().is_some_and(|t| t <= 12)));
        Ok(())
    }

    #[test]
    fn zero_budget_is_an_error_not_a_hang() {
        let file = article_file();
        let args = SplitArgs {
            chunks: true,
            max_tokens: 0,
            ..args_for(file.path())
        };
        let error = run_to_string(&args, Some(&WordCounter)).expect_err("zero budget");
        assert!(error.to_string().contains("--max-tokens"), "{error}");
    }
}
