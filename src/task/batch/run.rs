//! The batch driver that `saar batch` and `saar compare` share: documents go through
//! one loaded model and each gets one record, written whole to a [`RecordSink`] in
//! input order. A model takes a document at a time through the one model API, except
//! that a Marian model's sentence batches span documents (see `marian.rs`) and a shared
//! LLM has several documents in flight (see `parallel.rs`). A bad document gets an error
//! record and the run goes on; only a sink that cannot be written stops it.

use std::time::Instant;

use serde_json::{json, Value};

use super::{BatchError, BatchOutput, BatchPlan, Document, RecordKey, Resumed};
use crate::task::{json_fields, Model, ModelStamp, Usage};
use crate::text::{self, PrepareOptions};

/// Where records go: the output file, or memory (a comparison without a cache).
pub trait RecordSink {
    fn append(&mut self, record: &Value) -> Result<(), BatchError>;
}

impl RecordSink for BatchOutput {
    fn append(&mut self, record: &Value) -> Result<(), BatchError> {
        BatchOutput::append(self, record)
    }
}

impl RecordSink for Vec<Value> {
    fn append(&mut self, record: &Value) -> Result<(), BatchError> {
        self.push(record.clone());
        Ok(())
    }
}

/// What a running batch tells its caller, for progress.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchEvent<'a> {
    /// The model starts on a document (a Marian run starts collecting its sentences).
    Begin { id: &'a str },
    /// A document's record is written; `error` is set when it failed (in part).
    Done {
        id: &'a str,
        generated_tokens: usize,
        error: Option<&'a str>,
    },
    /// The document was already done earlier in this run (a repeated id and content).
    Skipped { id: &'a str },
}

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub done: usize,
    pub skipped: usize,
    pub failed: usize,
    pub generated_tokens: usize,
}

/// A document's outputs, what they cost, and what failed.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub summary: Option<String>,
    pub translation: Option<String>,
    pub usage: Usage,
    /// Boilerplate lines removed; `None` when the document could not be read.
    pub removed_boilerplate: Option<usize>,
    /// One line per failed part (`summary: …`, `translation: …`) or the input error.
    pub failures: Vec<String>,
}

impl Outcome {
    pub fn failed(message: String) -> Self {
        Self {
            failures: vec![message],
            ..Self::default()
        }
    }
}

pub(super) use crate::error::one_line;

/// Reads and prepares a document as every task sees it.
pub(super) fn prepare(
    plan: &BatchPlan,
    doc: &Document,
) -> (String, Result<text::Prepared, String>) {
    let (content_hash, raw) = doc.load();
    let prepared = raw.map_err(|err| one_line(&err)).map(|raw| {
        text::prepare(
            &raw,
            PrepareOptions {
                normalize: true,
                clean: plan.job.clean,
            },
        )
    });
    (content_hash, prepared)
}

/// Writes a document's record and keeps the counts; shared by both model kinds.
pub(super) struct Writer<'r> {
    pub plan: &'r BatchPlan,
    pub stamp: ModelStamp,
    pub sink: &'r mut dyn RecordSink,
    pub resumed: &'r mut Resumed,
    pub tally: Tally,
}

impl Writer<'_> {
    pub fn write(
        &mut self,
        doc: &Document,
        key: RecordKey,
        outcome: &Outcome,
        elapsed_secs: f64,
        events: &mut dyn FnMut(BatchEvent),
    ) -> Result<(), BatchError> {
        let mut record = self.record(doc, &key, outcome);
        record["elapsed_secs"] = elapsed_secs.into();
        let error = (!outcome.failures.is_empty()).then(|| outcome.failures.join("; "));
        if let Some(error) = &error {
            record["status"] = "error".into();
            record["error"] = error.clone().into();
            self.tally.failed += 1;
        } else {
            self.tally.done += 1;
        }
        self.sink.append(&record)?;
        self.resumed.done.insert(key, error.is_none());
        self.tally.generated_tokens += outcome.usage.generated_tokens;
        events(BatchEvent::Done {
            id: &doc.id,
            generated_tokens: outcome.usage.generated_tokens,
            error: error.as_deref(),
        });
        Ok(())
    }

    /// True (and counted) when this run already wrote the same work for `key`.
    pub fn already_done(
        &mut self,
        doc: &Document,
        key: &RecordKey,
        events: &mut dyn FnMut(BatchEvent),
    ) -> bool {
        let done = self.resumed.done.contains_key(key);
        if done {
            self.tally.skipped += 1;
            events(BatchEvent::Skipped { id: &doc.id });
        }
        done
    }

    /// The record of one document: what it was, the model and settings, the resume
    /// key's hashes, and the outputs with their cost.
    fn record(&self, doc: &Document, key: &RecordKey, outcome: &Outcome) -> Value {
        let mut fields = serde_json::Map::new();
        fields.insert("id".into(), doc.id.clone().into());
        fields.insert("source".into(), json!(doc.source));
        fields.insert("task".into(), self.plan.job.task.name().into());
        fields.insert("status".into(), "ok".into());
        fields.extend(json_fields(&self.stamp));
        fields.insert("content_hash".into(), key.content_hash.clone().into());
        fields.insert("settings_hash".into(), key.settings_hash.clone().into());
        fields.insert("settings".into(), self.plan.settings.clone());
        fields.extend(json_fields(&outcome.usage));
        let mut record = Value::Object(fields);
        if let Some(summary) = &outcome.summary {
            record["summary"] = summary.clone().into();
        }
        if let Some(translation) = &outcome.translation {
            record["translation"] = translation.clone().into();
        }
        if let Some(removed) = outcome.removed_boilerplate {
            record["removed_boilerplate"] = removed.into();
        }
        if !doc.extra.is_empty() {
            record["extra"] = Value::Object(doc.extra.clone());
        }
        record
    }
}

impl BatchPlan {
    /// Runs `todo` (from [`BatchPlan::pending`]) through `model`, appending one record
    /// per document to `sink` in input order and noting each in `resumed`.
    pub fn run(
        &self,
        model: &mut Model,
        todo: &[&Document],
        resumed: &mut Resumed,
        sink: &mut dyn RecordSink,
        events: &mut dyn FnMut(BatchEvent),
    ) -> Result<Tally, BatchError> {
        let writer = Writer {
            plan: self,
            stamp: model.stamp(),
            sink,
            resumed,
            tally: Tally::default(),
        };
        if let Some(translator) = model.sentence_translator() {
            return super::marian::run(translator, writer, todo, events);
        }
        if model.parallel() > 1 {
            return super::parallel::run(self, model, writer, todo, events);
        }
        self.run_each(model, writer, todo, events)
    }

    /// One document at a time.
    fn run_each(
        &self,
        model: &mut Model,
        mut writer: Writer,
        todo: &[&Document],
        events: &mut dyn FnMut(BatchEvent),
    ) -> Result<Tally, BatchError> {
        for &doc in todo {
            let started = Instant::now();
            // Read again rather than kept from `pending`: a corpus need not fit in memory.
            let (content_hash, prepared) = prepare(self, doc);
            let key = self.key(doc, &content_hash);
            if writer.already_done(doc, &key, events) {
                continue;
            }
            events(BatchEvent::Begin { id: &doc.id });
            let outcome = match prepared {
                Ok(prepared) => {
                    let mut outcome = self.process(model, &prepared);
                    outcome.removed_boilerplate = Some(prepared.removed.len());
                    outcome
                }
                Err(message) => Outcome::failed(message),
            };
            writer.write(doc, key, &outcome, started.elapsed().as_secs_f64(), events)?;
        }
        Ok(writer.tally)
    }

    /// Each part runs even when the other failed, and what succeeded is kept.
    pub(super) fn process(&self, model: &mut Model, article: &text::Prepared) -> Outcome {
        let settings = &self.job.settings;
        let mut outcome = Outcome::default();
        if self.job.task.summarizes() {
            match model.summarize(article, settings, &mut |_| {}) {
                Ok(summary) => {
                    outcome.usage.add(&summary.usage);
                    outcome.summary = Some(summary.output);
                }
                Err(err) => outcome
                    .failures
                    .push(format!("summary: {}", one_line(&err))),
            }
        }
        if self.job.task.translates() {
            match model.translate(article, settings, &mut |_| {}) {
                Ok(translation) => {
                    outcome.usage.add(&translation.usage);
                    outcome.translation = Some(translation.output);
                }
                Err(err) => outcome
                    .failures
                    .push(format!("translation: {}", one_line(&err))),
            }
        }
        outcome
    }
}
