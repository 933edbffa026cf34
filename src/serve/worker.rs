//! Each model's threads own the loaded [`Model`], so HTTP handlers never touch candle
//! or the kernels. A dispatcher hands requests to runners: one for a translation model
//! (requests in order), `--parallel` for an LLM, whose runners each drive a fork of the
//! model on its batching thread, so a request joins the running batch at the next step
//! instead of waiting for whole generations. Requests wait in a bounded queue
//! (`--max-queue`) for a free runner: when it is full a request is refused at once (429)
//! instead of growing a backlog. A request whose client went away is skipped, or
//! stopped at its next token; a panic in one request is caught and answered with a 500.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::mpsc::UnboundedSender;

use saar::engine::batch::{BatchObserver, BatchThreadOptions};
use saar::engine::{ModelInfo, Placement, SchedulerOptions};
use saar::model::ModelFiles;
use saar::prompt::{Message, TaskPrompts};
use saar::task::{Completion, Model, Record, TaskSettings};
use saar::text::Prepared;

use super::error::ApiError;
use super::metrics::Metrics;

/// What a request asks the model to do.
pub(crate) enum Work {
    Chat(Vec<Message>),
    Complete(String),
    Summarize(Prepared),
    Translate(Prepared),
}

/// What the worker sends back while and after it runs a request.
#[derive(Debug)]
pub(crate) enum Reply {
    /// A piece of output text, as it is generated.
    Piece(String),
    Completion(Completion),
    Record(Box<Record>),
    Failed(ApiError),
}

/// A request on its way to a model.
pub(crate) struct Job {
    pub work: Work,
    pub settings: TaskSettings,
    pub reply: UnboundedSender<Reply>,
    /// Raised when the client goes away; the worker also raises it when a reply can
    /// no longer be delivered.
    pub cancel: Arc<AtomicBool>,
}

/// A model's queue, as the HTTP side sees it.
pub(crate) struct ModelHandle {
    /// The `-m` value exactly as given.
    pub id: String,
    pub files: ModelFiles,
    queue: SyncSender<Job>,
    /// Requests waiting (not the one running).
    waiting: Arc<AtomicUsize>,
    max_queue: usize,
    /// Set once the model is loaded.
    info: Arc<OnceLock<ModelInfo>>,
}

impl ModelHandle {
    /// Starts the model's thread, which loads the model and then serves its queue.
    /// `loaded` hears once whether loading worked.
    pub fn start(
        id: String,
        files: ModelFiles,
        placement: Placement,
        prompts: TaskPrompts,
        max_queue: usize,
        batching: Option<SchedulerOptions>,
        metrics: Arc<Metrics>,
        loaded: std::sync::mpsc::Sender<Result<String, String>>,
    ) -> std::io::Result<Self> {
        // The channel holds the waiting requests; the running one has left it.
        let (queue, jobs) = sync_channel::<Job>(max_queue);
        let waiting = Arc::new(AtomicUsize::new(0));
        let info = Arc::new(OnceLock::new());
        let thread = Worker {
            id: id.clone(),
            waiting: waiting.clone(),
            info: info.clone(),
            metrics,
        };
        let load_files = files.clone();
        std::thread::Builder::new()
            .name(format!("saar-model-{id}"))
            .spawn(move || {
                let loading = Loading {
                    files: load_files,
                    placement,
                    prompts,
                    batching,
                };
                thread.run(loading, jobs, loaded)
            })?;
        Ok(Self {
            id,
            files,
            queue,
            waiting,
            max_queue,
            info,
        })
    }

    /// The loaded model's facts, once it is loaded.
    pub fn info(&self) -> Option<&ModelInfo> {
        self.info.get()
    }

    /// Queues `job`, or refuses it at once when the queue is full.
    pub fn submit(&self, job: Job, metrics: &Metrics) -> Result<(), ApiError> {
        if self.info().is_none() {
            return Err(ApiError::unavailable(format!(
                "model {} is still loading; retry shortly",
                self.id
            )));
        }
        self.waiting.fetch_add(1, Ordering::SeqCst);
        metrics.queue_depth(&self.id, self.waiting.load(Ordering::SeqCst));
        match self.queue.try_send(job) {
            Ok(()) => Ok(()),
            Err(err) => {
                let depth = self.waiting.fetch_sub(1, Ordering::SeqCst) - 1;
                metrics.queue_depth(&self.id, depth);
                match err {
                    TrySendError::Full(_) => Err(ApiError::queue_full(&self.id, self.max_queue)),
                    TrySendError::Disconnected(_) => Err(ApiError::internal(format!(
                        "model {}'s worker has stopped; restart the server",
                        self.id
                    ))),
                }
            }
        }
    }
}

/// What a model's thread loads.
struct Loading {
    files: ModelFiles,
    placement: Placement,
    prompts: TaskPrompts,
    batching: Option<SchedulerOptions>,
}

/// The dispatcher's side of a model.
struct Worker {
    id: String,
    waiting: Arc<AtomicUsize>,
    info: Arc<OnceLock<ModelInfo>>,
    metrics: Arc<Metrics>,
}

impl Worker {
    fn run(
        self,
        loading: Loading,
        jobs: Receiver<Job>,
        loaded: std::sync::mpsc::Sender<Result<String, String>>,
    ) {
        let model = match self.load(loading) {
            Ok(model) => model,
            Err(err) => {
                let _ = loaded.send(Err(format!(
                    "loading model `{}`: {}",
                    self.id,
                    saar::error::one_line(&err)
                )));
                return;
            }
        };
        let _ = self.info.set(model.info().clone());
        let runners = match self.start_runners(model) {
            Ok(runners) => runners,
            Err(err) => {
                let _ = loaded.send(Err(format!("starting model `{}`: {err}", self.id)));
                return;
            }
        };
        let _ = loaded.send(Ok(self.id.clone()));
        let mut gate = test_gate("SAAR_SERVE_TEST_GATE");
        // A job is taken from the queue only once a runner is free, so the queue's
        // depth is the requests that wait.
        while runners.free.recv().is_ok() {
            let Ok(job) = jobs.recv() else { break };
            let depth = self.waiting.fetch_sub(1, Ordering::SeqCst) - 1;
            self.metrics.queue_depth(&self.id, depth);
            self.metrics.running(&self.id, true);
            if let Some(gate) = &mut gate {
                gate.wait();
            }
            if job.cancel.load(Ordering::Relaxed) {
                self.metrics.running(&self.id, false);
                self.metrics.cancelled(&self.id);
                let _ = runners.freed.send(());
                continue;
            }
            if runners.jobs.send(job).is_err() {
                break;
            }
        }
    }

    /// Loads the model; an LLM goes onto a batching thread when `batching` says so.
    fn load(&self, loading: Loading) -> saar::Result<Model> {
        let model = Model::load(loading.files, &loading.placement, loading.prompts)?;
        let Some(scheduler) = loading.batching else {
            return Ok(model);
        };
        let (metrics, id) = (self.metrics.clone(), self.id.clone());
        let observer: BatchObserver = Box::new(move |state| metrics.batch(&id, state));
        let step_gate = std::env::var_os("SAAR_SERVE_TEST_BATCH_GATE").is_some();
        let model = model.share(BatchThreadOptions {
            scheduler,
            observer: Some(observer),
            hold_first_step: step_gate,
        })?;
        if let (Some(batch), Some(mut gate)) = (
            model.batch().cloned(),
            test_gate("SAAR_SERVE_TEST_BATCH_GATE"),
        ) {
            std::thread::spawn(move || loop {
                gate.wait();
                batch.release_step();
            });
        }
        Ok(model)
    }

    /// One runner thread per sequence the model decodes together, each with its own
    /// fork of a shared model (the model itself when it runs one at a time).
    fn start_runners(&self, model: Model) -> std::io::Result<Runners> {
        let count = model.parallel();
        let mut models: Vec<Model> = (1..count).filter_map(|_| model.fork()).collect();
        models.push(model);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let (freed, free) = channel();
        for (i, model) in models.into_iter().enumerate() {
            let _ = freed.send(());
            let runner = Runner {
                id: self.id.clone(),
                metrics: self.metrics.clone(),
                queue: queue.clone(),
                freed: freed.clone(),
            };
            std::thread::Builder::new()
                .name(format!("saar-run-{}-{i}", self.id))
                .spawn(move || runner.run(model))?;
        }
        Ok(Runners { jobs, free, freed })
    }
}

/// The dispatcher's way to its runners.
struct Runners {
    jobs: Sender<Job>,
    /// One message per free runner.
    free: Receiver<()>,
    freed: Sender<()>,
}

/// A thread that runs requests on its model, one at a time.
struct Runner {
    id: String,
    metrics: Arc<Metrics>,
    queue: Arc<Mutex<Receiver<Job>>>,
    freed: Sender<()>,
}

impl Runner {
    fn run(self, mut model: Model) {
        loop {
            let job = self.queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
            let Ok(job) = job else { return };
            let outcome = catch_unwind(AssertUnwindSafe(|| run_job(&mut model, &job)));
            self.metrics.running(&self.id, false);
            let reply = match outcome {
                Ok(reply) => reply,
                Err(_) => Reply::Failed(ApiError::internal(
                    "the model failed on this request (a bug in saar: please report it); the server goes on",
                )),
            };
            if job.cancel.load(Ordering::Relaxed) {
                self.metrics.cancelled(&self.id);
            }
            let _ = job.reply.send(reply);
            let _ = self.freed.send(());
        }
    }
}

/// Runs one request, streaming its pieces; the last reply is returned.
fn run_job(model: &mut Model, job: &Job) -> Reply {
    let mut settings = job.settings.clone();
    settings.stop.cancel.push(job.cancel.clone());
    let mut sink = |piece: &str| {
        if !piece.is_empty() && job.reply.send(Reply::Piece(piece.to_string())).is_err() {
            // Nobody listens any more: stop at the next token.
            job.cancel.store(true, Ordering::Relaxed);
        }
    };
    let result = match &job.work {
        Work::Chat(messages) => model
            .chat(messages, &settings, &mut sink)
            .map(Reply::Completion),
        Work::Complete(prompt) => model
            .complete(prompt, &settings, &mut sink)
            .map(Reply::Completion),
        Work::Summarize(article) => model
            .summarize(article, &settings, &mut |event| {
                if let saar::task::Event::Output(piece) = event {
                    sink(piece)
                }
            })
            .map(|record| Reply::Record(Box::new(record))),
        Work::Translate(article) => model
            .translate(article, &settings, &mut |event| {
                if let saar::task::Event::Output(piece) = event {
                    sink(piece)
                }
            })
            .map(|record| Reply::Record(Box::new(record))),
    };
    result.unwrap_or_else(|err| Reply::Failed(ApiError::from_task(&err)))
}

/// Test-only hooks, each a FIFO named by an environment variable: with
/// `SAAR_SERVE_TEST_GATE`, the dispatcher reads one line before each request, so a test
/// can hold a request at a known point (to fill the queue, or to be sure a stream is
/// running); with `SAAR_SERVE_TEST_BATCH_GATE`, an LLM's batch starting from idle takes
/// its first step only after a line, so a test can have requests join the same step.
/// No timing guesses either way. The FIFO is opened for reading and writing, so a read
/// waits for the next line instead of ending when a writer closes, and lines written
/// ahead are kept in order.
struct TestGate(std::io::BufReader<std::fs::File>);

impl TestGate {
    fn wait(&mut self) {
        use std::io::BufRead;
        let mut line = String::new();
        let _ = self.0.read_line(&mut line);
    }
}

fn test_gate(variable: &str) -> Option<TestGate> {
    let path = std::env::var_os(variable)?;
    let fifo = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .ok()?;
    Some(TestGate(std::io::BufReader::new(fifo)))
}
