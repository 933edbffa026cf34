//! A batch run with a Marian (opus-mt) model. Sentence batches span documents so they
//! stay full: the sentences of the next documents are collected until `batch_size`
//! are ready, and a document's record is written as soon as all its sentences are
//! translated, in input order. Each article is cut and put back together by
//! [`MtPlan`], exactly as `saar translate` does it.

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use super::run::{one_line, prepare, BatchEvent, Outcome, Tally, Writer};
use super::{BatchError, Document, RecordKey};
use crate::engine::marian::{MarianSettings, Translation};
use crate::engine::translator::SentenceTranslator;
use crate::task::MtPlan;

/// A document between being read and being written.
struct InFlight<'d> {
    doc: &'d Document,
    key: RecordKey,
    /// Time spent on this document alone (reading, cutting, putting back together)
    /// plus its share of the model time: documents in flight overlap, so the wall
    /// time from reading to writing would count the same seconds several times.
    own_secs: f64,
    state: State,
    /// Its share of the model time of the batches its sentences were in.
    model_secs: f64,
}

enum State {
    Waiting {
        plan: MtPlan,
        outputs: Vec<Option<Translation>>,
        missing: usize,
        removed_boilerplate: usize,
    },
    Failed(String),
}

/// A sentence waiting for a batch: its document (by sequence number) and position.
struct Sentence {
    doc: usize,
    index: usize,
    text: String,
}

/// The documents in flight and the sentences waiting for the model.
struct Pipeline<'d> {
    queue: VecDeque<InFlight<'d>>,
    /// The sequence number of `queue.front()`.
    first: usize,
    pool: VecDeque<Sentence>,
}

pub(super) fn run(
    translator: &dyn SentenceTranslator,
    mut writer: Writer,
    todo: &[&Document],
    events: &mut dyn FnMut(BatchEvent),
) -> Result<Tally, BatchError> {
    let settings = &writer
        .plan
        .job
        .settings
        .translation(translator.base_settings());
    let batch_size = settings.batch_size.max(1);
    let mut pipeline = Pipeline {
        queue: VecDeque::new(),
        first: 0,
        pool: VecDeque::new(),
    };
    let mut in_flight_keys = HashSet::new();
    for &doc in todo {
        let started = Instant::now();
        let (content_hash, prepared) = prepare(writer.plan, doc);
        let key = writer.plan.key(doc, &content_hash);
        if in_flight_keys.contains(&key) {
            writer.tally.skipped += 1;
            events(BatchEvent::Skipped { id: &doc.id });
            continue;
        }
        if writer.already_done(doc, &key, events) {
            continue;
        }
        events(BatchEvent::Begin { id: &doc.id });
        let seq = pipeline.first + pipeline.queue.len();
        let state = match prepared {
            Err(message) => State::Failed(message),
            Ok(prepared) => match MtPlan::new(translator, &prepared.text) {
                Err(err) => State::Failed(format!("translation: {}", one_line(&err))),
                Ok(plan) => {
                    let sources = plan.sources();
                    pipeline
                        .pool
                        .extend(sources.iter().enumerate().map(|(index, text)| Sentence {
                            doc: seq,
                            index,
                            text: text.to_string(),
                        }));
                    State::Waiting {
                        outputs: vec![None; sources.len()],
                        missing: sources.len(),
                        removed_boilerplate: prepared.removed.len(),
                        plan,
                    }
                }
            },
        };
        in_flight_keys.insert(key.clone());
        pipeline.queue.push_back(InFlight {
            doc,
            key,
            own_secs: started.elapsed().as_secs_f64(),
            state,
            model_secs: 0.0,
        });
        while pipeline.pool.len() >= batch_size {
            pipeline.translate_batch(translator, settings, batch_size);
            pipeline.flush(&mut writer, &mut in_flight_keys, events)?;
        }
        pipeline.flush(&mut writer, &mut in_flight_keys, events)?;
    }
    while !pipeline.pool.is_empty() {
        pipeline.translate_batch(translator, settings, batch_size);
        pipeline.flush(&mut writer, &mut in_flight_keys, events)?;
    }
    pipeline.flush(&mut writer, &mut in_flight_keys, events)?;
    Ok(writer.tally)
}

impl Pipeline<'_> {
    /// Translates the first `batch_size` waiting sentences as one padded batch. When
    /// the batch fails, its sentences are tried one by one, so that only the documents
    /// whose own sentence fails get an error.
    fn translate_batch(
        &mut self,
        translator: &dyn SentenceTranslator,
        settings: &MarianSettings,
        batch_size: usize,
    ) {
        let take = batch_size.min(self.pool.len());
        let batch: Vec<Sentence> = self.pool.drain(..take).collect();
        let texts: Vec<&str> = batch.iter().map(|s| s.text.as_str()).collect();
        let started = Instant::now();
        match translator.translate(&texts, settings) {
            Ok(outputs) if outputs.len() == batch.len() => {
                // Padded sentences cost about the same: the batch's time is shared evenly.
                let share = started.elapsed().as_secs_f64() / batch.len() as f64;
                for (sentence, output) in batch.iter().zip(outputs) {
                    self.deliver(sentence, Ok(output), share);
                }
            }
            _ => {
                for sentence in &batch {
                    let started = Instant::now();
                    let result = translator
                        .translate(&[sentence.text.as_str()], settings)
                        .map_err(|err| one_line(&err))
                        .and_then(|mut outputs| {
                            outputs.pop().ok_or_else(|| {
                                one_line(&crate::task::TaskError::MissingTranslation)
                            })
                        });
                    self.deliver(sentence, result, started.elapsed().as_secs_f64());
                }
            }
        }
    }

    fn deliver(&mut self, sentence: &Sentence, result: Result<Translation, String>, secs: f64) {
        let Some(in_flight) = self.queue.get_mut(sentence.doc - self.first) else {
            return;
        };
        in_flight.model_secs += secs;
        let State::Waiting {
            outputs, missing, ..
        } = &mut in_flight.state
        else {
            return;
        };
        let failure = match result {
            Ok(output) => {
                if outputs[sentence.index].replace(output).is_none() {
                    *missing -= 1;
                }
                None
            }
            Err(message) => Some(message),
        };
        if let Some(message) = failure {
            in_flight.state = State::Failed(format!("translation: {message}"));
            // The rest of that document's sentences are no longer needed.
            let doc = sentence.doc;
            self.pool.retain(|s| s.doc != doc);
        }
    }

    /// Writes every finished document at the front of the queue, in input order.
    fn flush(
        &mut self,
        writer: &mut Writer,
        in_flight_keys: &mut HashSet<RecordKey>,
        events: &mut dyn FnMut(BatchEvent),
    ) -> Result<(), BatchError> {
        while self.queue.front().is_some_and(|f| match &f.state {
            State::Waiting { missing, .. } => *missing == 0,
            State::Failed(_) => true,
        }) {
            let Some(done) = self.queue.pop_front() else {
                break;
            };
            self.first += 1;
            let started = Instant::now();
            let outcome = match done.state {
                State::Failed(message) => Outcome::failed(message),
                State::Waiting {
                    plan,
                    outputs,
                    removed_boilerplate,
                    ..
                } => {
                    let outputs = outputs.into_iter().flatten().collect();
                    match plan.assemble(outputs, done.model_secs, &mut |_| {}) {
                        Ok(translation) => Outcome {
                            translation: Some(translation.text),
                            usage: translation.usage,
                            removed_boilerplate: Some(removed_boilerplate),
                            ..Outcome::default()
                        },
                        Err(err) => Outcome::failed(format!("translation: {}", one_line(&err))),
                    }
                }
            };
            in_flight_keys.remove(&done.key);
            let elapsed = done.own_secs + done.model_secs + started.elapsed().as_secs_f64();
            writer.write(done.doc, done.key, &outcome, elapsed, events)?;
        }
        Ok(())
    }
}
