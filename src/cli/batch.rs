//! `saar batch`: many documents through one loaded model, one JSON record per document
//! appended to `--out`. A bad document gets an error record and the run goes on; a
//! rerun of the same command skips what is done, so a crash costs one document.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde_json::{json, Value};

use saar::engine::GenerationSettings;
use saar::task::batch::{self, BatchOutput, Document, RecordKey, Shard};
use saar::task::{self, LlmSession, SummarizeSettings, Usage};
use saar::text::{self, PrepareOptions};

use super::batch_progress::Progress;
use super::llm;
use super::options::{GenerationOptions, ModelOptions, RuntimeOptions};
use super::summarize::{Lang, LengthArg};

/// Summarize and/or translate a corpus into a JSON-lines file; resumable and shardable.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Text files, directories (every *.txt and *.md below them), JSON-lines files of
    /// {"id", "text", …}, or `-` for JSON lines on standard input.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<PathBuf>,
    /// What to compute for each document.
    #[arg(long, help_heading = "Batch", value_enum)]
    pub task: BatchTask,
    /// The JSON-lines file records are appended to; `<OUT>.lock` guards it.
    #[arg(long, short = 'o', help_heading = "Batch", value_name = "OUT")]
    pub out: PathBuf,
    /// Redo every document: empty the output first instead of resuming.
    #[arg(long, help_heading = "Batch")]
    pub force: bool,
    /// Redo the documents an earlier run recorded as failed (their new records are
    /// appended; the later line for an id wins). Without it, failures are not retried.
    #[arg(long, help_heading = "Batch")]
    pub retry_failed: bool,
    /// Process only shard K of N (K from 0), chosen by a hash of each document id.
    #[arg(long, help_heading = "Batch", value_name = "K/N")]
    pub shard: Option<Shard>,
    /// No progress bar or log lines; only the final summary line.
    #[arg(long, short = 'q', help_heading = "Batch")]
    pub quiet: bool,
    /// Keep scraped-news boilerplate (browser notices, "also read" links, tweet footers).
    #[arg(long, help_heading = "Batch")]
    pub keep_boilerplate: bool,
    /// Language of the summaries.
    #[arg(long, help_heading = "Summary", value_enum, default_value_t = Lang::En)]
    pub lang: Lang,
    /// How long the summaries should be.
    #[arg(long, help_heading = "Summary", value_enum, default_value_t = LengthArg::Medium)]
    pub length: LengthArg,
    #[command(flatten)]
    pub model: ModelOptions,
    #[command(flatten)]
    pub runtime: RuntimeOptions,
    #[command(flatten)]
    pub generation: GenerationOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BatchTask {
    Summarize,
    Translate,
    Both,
}

impl BatchTask {
    fn name(self) -> &'static str {
        match self {
            BatchTask::Summarize => "summarize",
            BatchTask::Translate => "translate",
            BatchTask::Both => "both",
        }
    }
}

/// Counts for the final summary line.
#[derive(Default)]
struct Tally {
    done: usize,
    skipped: usize,
    failed: usize,
    /// Skipped because an earlier run already recorded them as failed.
    failed_before: usize,
}

pub fn run(args: &BatchArgs) -> anyhow::Result<ExitCode> {
    let mut generation = args.generation.settings()?;
    let (mut output, mut resumed) = BatchOutput::open(&args.out, args.force)?;
    let documents: Vec<Document> = batch::discover(&args.inputs, &mut std::io::stdin().lock())?
        .into_iter()
        .filter(|doc| args.shard.is_none_or(|shard| shard.contains(&doc.id)))
        .collect();
    let mut session = llm::open_session(&args.model, &args.runtime, false)?;
    generation.eos_token_ids = session.tokenizer().eos_token_ids().to_vec();
    let settings = settings_json(args, &generation, &session.prompts_hash());
    let settings_hash = batch::settings_hash(&settings);
    let model = session.files().name.clone();
    let revision = session.files().revision.clone().unwrap_or_default();

    let key_of = |doc: &Document, content_hash: &str| {
        RecordKey::new(&doc.id, content_hash, &model, &revision, &settings_hash)
    };
    // Settle what is done first, so progress and its ETA count only the work left.
    let mut tally = Tally::default();
    let mut todo = Vec::new();
    for doc in &documents {
        let key = key_of(doc, &doc.load().0);
        match resumed.done.get(&key) {
            Some(false) if args.retry_failed => {
                resumed.done.remove(&key);
                todo.push(doc);
            }
            Some(&ok) => {
                tally.skipped += 1;
                tally.failed_before += usize::from(!ok);
            }
            None => todo.push(doc),
        }
    }
    let mut progress = Progress::new(todo.len(), args.quiet);
    let duplicates = batch::duplicate_ids(&documents);
    if let Some(first) = duplicates.first() {
        progress.note(&format!(
            "saar: warning: {} document id(s) appear more than once (first: {first}); give each document its own id, or results cannot be told apart",
            duplicates.len()
        ));
    }
    if resumed.truncated_bytes > 0 && !args.quiet {
        progress.note(&format!(
            "saar: cut a torn last record ({} bytes) from {}",
            resumed.truncated_bytes,
            args.out.display()
        ));
    }
    for doc in todo {
        // Read again rather than kept from the first pass: a corpus need not fit in memory.
        let (content_hash, text) = doc.load();
        let key = key_of(doc, &content_hash);
        if resumed.done.contains_key(&key) {
            // The same document appeared earlier in this run.
            tally.skipped += 1;
            progress.end(&doc.id, 0);
            continue;
        }
        progress.begin(&doc.id);
        let started = Instant::now();
        let processed = match text {
            Ok(text) => Ok(process(&mut session, &text, args, &generation)),
            Err(err) => Err(format!("{:#}", anyhow::Error::from(err))),
        };
        let mut record = base_record(&session, doc, &key, &settings, processed.as_ref().ok());
        record["elapsed_secs"] = started.elapsed().as_secs_f64().into();
        let error = match &processed {
            Ok(done) if done.failures.is_empty() => None,
            Ok(done) => Some(done.failures.join("; ")),
            Err(err) => Some(err.clone()),
        };
        let generated = processed
            .as_ref()
            .map_or(0, |done| done.usage.generated_tokens);
        let ok = error.is_none();
        match error {
            None => tally.done += 1,
            Some(err) => {
                tally.failed += 1;
                record["status"] = "error".into();
                if !args.quiet {
                    progress.note(&format!("saar: {}: {err}", doc.id));
                }
                record["error"] = err.into();
            }
        }
        output.append(&record)?;
        resumed.done.insert(key, ok);
        progress.end(&doc.id, generated);
    }
    progress.finish();
    eprintln!(
        "saar: batch done {}, skipped {}, failed {}{}; {} tokens at {:.1} tokens/s -> {}",
        tally.done,
        tally.skipped,
        tally.failed,
        match tally.failed_before {
            0 => String::new(),
            n => format!(" (+{n} failed in an earlier run)"),
        },
        progress.generated_tokens(),
        progress.tokens_per_sec(),
        args.out.display()
    );
    Ok(if tally.failed + tally.failed_before > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A document's outputs and what they cost.
struct Processed {
    summary: Option<String>,
    translation: Option<String>,
    usage: Usage,
    removed_boilerplate: usize,
    /// One line per part that failed (`summary: …`, `translation: …`).
    failures: Vec<String>,
}

fn process(
    session: &mut LlmSession,
    raw: &str,
    args: &BatchArgs,
    generation: &GenerationSettings,
) -> Processed {
    let prepared = text::prepare(
        raw,
        PrepareOptions {
            normalize: true,
            clean: !args.keep_boilerplate,
        },
    );
    let mut done = Processed {
        summary: None,
        translation: None,
        usage: Usage::default(),
        removed_boilerplate: prepared.removed.len(),
        failures: Vec::new(),
    };
    // Each part runs even when the other failed, and what succeeded is kept.
    if args.task != BatchTask::Translate {
        let settings = SummarizeSettings {
            lang: args.lang.into(),
            length: args.length.into(),
            generation: generation.clone(),
        };
        match task::summarize(session, &prepared.text, &settings, &mut |_| {}) {
            Ok(summary) => {
                done.usage.add(&summary.usage);
                done.summary = Some(summary.text);
            }
            Err(err) => done.failures.push(format!("summary: {err:#}")),
        }
    }
    if args.task != BatchTask::Summarize {
        match task::translate(session, &prepared.text, generation, &mut |_| {}) {
            Ok(translation) => {
                done.usage.add(&translation.usage);
                done.translation = Some(translation.text);
            }
            Err(err) => done.failures.push(format!("translation: {err:#}")),
        }
    }
    done
}

/// The record of one document: what it was, the model and settings, the resume key's
/// hashes, and the outputs with their cost (zero for a failed document).
fn base_record(
    session: &LlmSession,
    doc: &Document,
    key: &RecordKey,
    settings: &Value,
    processed: Option<&Processed>,
) -> Value {
    let usage = processed.map(|p| p.usage).unwrap_or_default();
    let mut record = llm::json_record(
        session,
        settings["task"].as_str().unwrap_or_default(),
        "",
        &usage,
    );
    if let Some(fields) = record.as_object_mut() {
        fields.remove("output");
    }
    record["task"] = settings["task"].clone();
    record["id"] = doc.id.clone().into();
    record["source"] = doc.source.clone().into();
    record["status"] = "ok".into();
    record["content_hash"] = key.content_hash.clone().into();
    record["settings_hash"] = key.settings_hash.clone().into();
    record["settings"] = settings.clone();
    if let Some(done) = processed {
        if let Some(summary) = &done.summary {
            record["summary"] = summary.clone().into();
        }
        if let Some(translation) = &done.translation {
            record["translation"] = translation.clone().into();
        }
        record["removed_boilerplate"] = done.removed_boilerplate.into();
    }
    if !doc.extra.is_empty() {
        record["extra"] = Value::Object(doc.extra.clone());
    }
    record
}

/// Everything that changes an output, hashed into the resume key.
fn settings_json(args: &BatchArgs, generation: &GenerationSettings, prompt_hash: &str) -> Value {
    json!({
        "task": args.task.name(),
        "lang": format!("{:?}", args.lang).to_lowercase(),
        "length": format!("{:?}", args.length).to_lowercase(),
        "keep_boilerplate": args.keep_boilerplate,
        "max_new_tokens": generation.max_new_tokens,
        "temperature": generation.temperature,
        "top_k": generation.top_k,
        "top_p": generation.top_p,
        "seed": generation.seed,
        "repeat_penalty": generation.repeat_penalty,
        "repeat_last_n": generation.repeat_last_n,
        "prompt_hash": prompt_hash,
    })
}
