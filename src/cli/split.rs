//! `saar split`: shows what summarize will see, so a user can check cleaning,
//! segmentation and chunking before spending model time on it: the article cleaned as
//! summarize cleans it, cut into sentences, or into the very chunks summarize's calls
//! are given.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use saar::engine::GenerationSettings;
use saar::task::TaskSettings;
use saar::text::{
    prepare, read_input, Boundary, Chunk, PrepareOptions, Prepared, Removed, Script, TokenCounter,
};
use serde::Serialize;

use super::llm;
use super::options::{ModelOptions, RuntimeOptions};
use super::summarize::{Lang, LengthArg};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SplitFormat {
    /// One sentence (or one chunk under a header line) after another.
    #[default]
    Text,
    /// A JSON document with byte offsets, scripts, boundaries, token counts and removals.
    Json,
}

/// Split an article into sentences, or into the chunks `summarize` gives the model.
#[derive(Debug, Clone, clap::Args)]
pub struct SplitArgs {
    /// Article text file, or - for standard input.
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
    /// Keep scraped-news boilerplate (bylines, datelines, captions, credits, ads, "also
    /// read" links, tweet footers); by default it is removed, as summarize removes it.
    #[arg(long)]
    pub keep_boilerplate: bool,
    /// Cleaning is the default now; this flag is accepted and does nothing.
    #[arg(long, hide = true)]
    pub clean: bool,
    /// Split the text exactly as read, without Unicode normalization, so byte offsets
    /// match the input (after a byte-order mark).
    #[arg(long)]
    pub raw: bool,
    /// Print the chunks `summarize` gives the model instead of sentences: the whole
    /// article when it fits one call, else chunks of whole sentences. Loads the model
    /// (as summarize would) to learn its context and prompt size, unless --max-tokens
    /// is given, which needs only the tokenizer.
    #[arg(long)]
    pub chunks: bool,
    /// Token budget of one chunk instead of what one summarize call holds (with --chunks).
    #[arg(long, value_name = "N", env = "SAAR_CHUNK_TOKENS")]
    pub max_tokens: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SplitFormat::Text)]
    pub format: SplitFormat,
    #[command(flatten)]
    pub model: ModelOptions,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    /// Summary language whose prompt --chunks sizes the chunks for.
    #[arg(long, help_heading = "Summary", value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// Summary length whose prompt --chunks sizes the chunks for.
    #[arg(long, help_heading = "Summary", value_enum, default_value_t = LengthArg::Medium)]
    pub length: LengthArg,
    /// Output room that --chunks leaves in each call, as summarize's flag of that name.
    #[arg(long, help_heading = "Summary", default_value_t = saar::task::defaults::MAX_NEW_TOKENS)]
    pub max_new_tokens: usize,
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
    /// Only with --chunks: the token budget of one call.
    #[serde(skip_serializing_if = "Option::is_none")]
    budget: Option<usize>,
    removed: &'a [Removed],
}

/// How tokens are counted and how many fit one chunk.
pub struct Counting<'a> {
    pub counter: &'a dyn TokenCounter,
    /// The chunk budget; `None` when only sentences are printed.
    pub budget: Option<usize>,
}

/// Runs `saar split` from its flags: loads what counting needs (the tokenizer, or the
/// whole model when --chunks must learn summarize's budget), then prints.
pub fn main(args: &SplitArgs) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.chunks && args.max_tokens.is_none() {
        let files = llm::resolve_verbose(&args.model, false)?;
        let model = llm::load_model(files, &args.model, &args.runtime.placement()?)?;
        let settings = TaskSettings {
            lang: args.lang.into(),
            length: args.length.into(),
            ..TaskSettings::new(GenerationSettings::greedy(args.max_new_tokens))
        };
        let (budget, counter) = model.summary_budget(&settings)?;
        if budget == 0 {
            bail!("the model's context has no room for article text with --max-new-tokens {}: lower --max-new-tokens", args.max_new_tokens);
        }
        let counting = Counting {
            counter,
            budget: Some(budget),
        };
        run(args, Some(counting), &mut out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let tokenizer = match &args.model.model {
        Some(name) => {
            let files = super::options::resolve_tokenizer(name, args.model.offline)?;
            Some(saar::model::tokenizer::ModelTokenizer::load(&files)?)
        }
        None => None,
    };
    let counting = tokenizer.as_ref().map(|t| Counting {
        counter: t,
        budget: args.max_tokens,
    });
    run(args, counting, &mut out)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the sentences or chunks of `args.input`; `counting` holds the model's
/// tokenizer when one was loaded.
pub fn run(args: &SplitArgs, counting: Option<Counting>, out: &mut dyn Write) -> Result<()> {
    let raw = read_input(&args.input)?;
    let prepared = prepare(
        &raw,
        PrepareOptions {
            normalize: !args.raw,
            clean: !args.keep_boilerplate,
        },
    );
    if prepared.text.trim().is_empty() {
        bail!("nothing is left after cleaning: every line looked like page boilerplate; run with --keep-boilerplate to see the text");
    }
    if args.chunks {
        let Some(Counting {
            counter,
            budget: Some(budget),
        }) = counting
        else {
            bail!("--chunks counts tokens with the model's tokenizer: pass --model <name or path>");
        };
        print_chunks(args, &prepared, counter, budget, out)
    } else {
        print_sentences(args, &prepared, counting.map(|c| c.counter), out)
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
            budget: None,
            removed: &prepared.removed,
        },
    )
}

fn print_chunks(
    args: &SplitArgs,
    prepared: &Prepared,
    counter: &dyn TokenCounter,
    budget: usize,
    out: &mut dyn Write,
) -> Result<()> {
    let text = prepared.text.as_str();
    if budget == 0 {
        bail!("the chunk token budget is 0: set --max-tokens to 1 or more");
    }
    let chunks: Vec<Chunk> = saar::task::summary_chunks(text, counter, budget)?;
    if args.format == SplitFormat::Text {
        for (index, chunk) in chunks.iter().enumerate() {
            writeln!(
                out,
                "--- chunk {} of {}: {} tokens of {budget}, bytes {}..{} ---",
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
            budget: Some(budget),
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

    #[derive(Debug, clap::Parser)]
    struct SplitCommand {
        #[command(flatten)]
        args: SplitArgs,
    }

    fn parse(flags: &[&str]) -> SplitArgs {
        use clap::Parser;
        let argv = std::iter::once("split").chain(flags.iter().copied());
        SplitCommand::try_parse_from(argv)
            .expect("valid flags")
            .args
    }

    fn run_to_string(args: &SplitArgs, counting: Option<Counting>) -> Result<String> {
        let mut out = Vec::new();
        run(args, counting, &mut out)?;
        Ok(String::from_utf8(out)?)
    }

    fn article_file() -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), ARTICLE).expect("write temp file");
        file
    }

    fn path(file: &tempfile::NamedTempFile) -> &str {
        file.path().to_str().expect("a UTF-8 temp path")
    }

    #[test]
    fn cleans_by_default_and_keep_boilerplate_keeps_every_sentence() -> Result<()> {
        let file = article_file();
        let cleaned = run_to_string(&parse(&[path(&file)]), None)?;
        assert!(!cleaned.contains("यह भी पढ़ें"), "{cleaned}");
        assert_eq!(
            cleaned,
            run_to_string(&parse(&[path(&file), "--clean"]), None)?
        );
        let printed = run_to_string(&parse(&[path(&file), "--keep-boilerplate"]), None)?;
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
    fn json_lists_the_removed_related_link() -> Result<()> {
        let file = article_file();
        let args = parse(&[path(&file), "--format", "json"]);
        let report: serde_json::Value = serde_json::from_str(&run_to_string(&args, None)?)?;
        let sentences = report["sentences"].as_array().map(Vec::len);
        assert_eq!(sentences, Some(4));
        assert_eq!(report["removed"][0]["reason"], "related_link");
        assert_eq!(report["removed"][0]["line"], 2);
        assert_eq!(report["sentences"][2]["script"], "latin");
        Ok(())
    }

    #[test]
    fn flags_parse_into_settings() {
        use clap::{CommandFactory, Parser};
        SplitCommand::command().debug_assert();
        let args = parse(&[
            "news.txt",
            "--chunks",
            "--max-tokens",
            "64",
            "--format",
            "json",
            "-m",
            "tiny",
            "--max-new-tokens",
            "100",
        ]);
        assert_eq!(args.input, PathBuf::from("news.txt"));
        assert!(args.chunks && !args.raw && !args.keep_boilerplate);
        assert_eq!(
            (args.max_tokens, args.format, args.max_new_tokens),
            (Some(64), SplitFormat::Json, 100)
        );
        assert_eq!(args.model.model.as_deref(), Some("tiny"));
        assert!(SplitCommand::try_parse_from(["split", "--format", "yaml"]).is_err());
    }

    #[test]
    fn chunks_need_a_tokenizer() {
        let file = article_file();
        let error =
            run_to_string(&parse(&[path(&file), "--chunks"]), None).expect_err("no counter");
        assert!(error.to_string().contains("--model"), "{error}");
    }

    #[test]
    fn chunks_are_the_ones_summarize_gets() -> Result<()> {
        let file = article_file();
        let args = parse(&[
            path(&file),
            "--chunks",
            "--format",
            "json",
            "--keep-boilerplate",
        ]);
        let counting = Counting {
            counter: &WordCounter,
            budget: Some(12),
        };
        let report: serde_json::Value =
            serde_json::from_str(&run_to_string(&args, Some(counting))?)?;
        let chunks = report["chunks"].as_array().cloned().unwrap_or_default();
        let expected = saar::task::summary_chunks(ARTICLE, &WordCounter, 12)?;
        assert_eq!(chunks.len(), expected.len(), "{report}");
        for (printed, chunk) in chunks.iter().zip(&expected) {
            assert_eq!(printed["text"], chunk.text(ARTICLE));
            assert_eq!(printed["tokens"], chunk.tokens);
        }
        assert!(chunks.len() >= 3, "{report}");
        assert_eq!(report["budget"], 12);
        Ok(())
    }

    #[test]
    fn an_article_that_fits_is_one_chunk() -> Result<()> {
        let file = article_file();
        let counting = Counting {
            counter: &WordCounter,
            budget: Some(1000),
        };
        let printed = run_to_string(&parse(&[path(&file), "--chunks"]), Some(counting))?;
        assert!(printed.starts_with("--- chunk 1 of 1: "), "{printed}");
        Ok(())
    }

    #[test]
    fn zero_budget_is_an_error_not_a_hang() {
        let file = article_file();
        let counting = Counting {
            counter: &WordCounter,
            budget: Some(0),
        };
        let error = run_to_string(&parse(&[path(&file), "--chunks"]), Some(counting))
            .expect_err("zero budget");
        assert!(error.to_string().contains("--max-tokens"), "{error}");
    }
}
