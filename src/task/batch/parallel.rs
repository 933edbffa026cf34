//! Many documents in flight on a shared (batched) LLM: runner threads, each driving a
//! fork of the model, take documents in input order, so their sequences decode in one
//! batch; the records are still written whole and in input order, as a run of one
//! document at a time writes them (the same file, byte for byte but for times).

use std::collections::{BTreeMap, HashSet};
use std::sync::mpsc::channel;
use std::sync::Mutex;
use std::time::Instant;

use super::run::{prepare, BatchEvent, Outcome, Tally, Writer};
use super::{BatchError, BatchPlan, Document, RecordKey};
use crate::task::Model;

/// Documents read ahead of the oldest unwritten one, per runner: enough to keep the
/// runners busy while a long document holds the writing back, without reading the
/// corpus into memory.
const AHEAD_PER_RUNNER: usize = 4;

/// What happens to the document at a position of the run.
enum Turn {
    /// Its record is written once its outcome comes.
    Run(RecordKey),
    /// An earlier document of this run has the same key: skipped at its turn.
    Repeat(RecordKey),
}

/// Runs `todo` with up to `model.parallel()` documents decoding together.
pub(super) fn run(
    plan: &BatchPlan,
    model: &Model,
    mut writer: Writer,
    todo: &[&Document],
    events: &mut dyn FnMut(BatchEvent),
) -> Result<Tally, BatchError> {
    let runners: Vec<Model> = (0..model.parallel()).filter_map(|_| model.fork()).collect();
    let ahead = runners.len() * AHEAD_PER_RUNNER;
    let (work, queue) = channel::<(usize, crate::text::Prepared)>();
    let queue = Mutex::new(queue);
    let (report, outcomes) = channel::<(usize, Outcome, f64)>();
    std::thread::scope(|scope| {
        for mut runner in runners {
            let (queue, report) = (&queue, report.clone());
            scope.spawn(move || loop {
                let next = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                let Ok((at, prepared)) = next else { return };
                let started = Instant::now();
                let mut outcome = plan.process(&mut runner, &prepared);
                outcome.removed_boilerplate = Some(prepared.removed.len());
                let _ = report.send((at, outcome, started.elapsed().as_secs_f64()));
            });
        }
        drop(report);
        // Dropped on every return, so the runners end before the scope joins them.
        let work = work;
        let mut turns: BTreeMap<usize, Turn> = BTreeMap::new();
        let mut ready: BTreeMap<usize, (Outcome, f64)> = BTreeMap::new();
        let mut dispatched: HashSet<RecordKey> = HashSet::new();
        let (mut next, mut written) = (0, 0);
        loop {
            while next < todo.len() && next - written < ahead {
                let doc = todo[next];
                let (content_hash, prepared) = prepare(plan, doc);
                let key = plan.key(doc, &content_hash);
                if writer.resumed.done.contains_key(&key) || !dispatched.insert(key.clone()) {
                    turns.insert(next, Turn::Repeat(key));
                } else {
                    events(BatchEvent::Begin { id: &doc.id });
                    turns.insert(next, Turn::Run(key));
                    match prepared {
                        Ok(prepared) => {
                            // The runners wait on `work` until it is dropped.
                            let _ = work.send((next, prepared));
                        }
                        Err(message) => {
                            ready.insert(next, (Outcome::failed(message), 0.0));
                        }
                    }
                }
                next += 1;
            }
            // Write, in input order, every record that is ready.
            while let Some(turn) = turns.remove(&written) {
                let doc = todo[written];
                match turn {
                    Turn::Repeat(key) => {
                        writer.already_done(doc, &key, events);
                    }
                    Turn::Run(key) => match ready.remove(&written) {
                        Some((outcome, secs)) => writer.write(doc, key, &outcome, secs, events)?,
                        None => {
                            turns.insert(written, Turn::Run(key));
                            break;
                        }
                    },
                }
                written += 1;
            }
            if written == todo.len() {
                break;
            }
            // The document at `written` runs: its outcome (or another's) will come.
            let Ok((at, outcome, secs)) = outcomes.recv() else {
                break;
            };
            ready.insert(at, (outcome, secs));
        }
        Ok(writer.tally)
    })
}
