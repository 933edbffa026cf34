//! The batching thread: one thread owns a [`Scheduler`] and steps it while any sequence
//! is live, taking submissions and cancels from a channel between steps, so callers on
//! many threads (HTTP requests, a batch run's documents, a long article's chunks) share
//! one batch through a cheap [`BatchHandle`]. Each sequence's tokens come back on a
//! channel of its own ([`BatchedSequence`]); dropping it cancels the sequence.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;

use super::{Scheduler, SchedulerOptions, SequenceEvent, SequenceId, SequenceSink, StepReport};
use crate::engine::{CausalLm, EngineError, Generation, GenerationSettings, ModelInfo};

/// What the batching thread tells its observer: after every round of commands
/// (`step: None`) and after every step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchState {
    pub step: Option<StepReport>,
    /// Sequences in the batch, and submitted ones that have not joined yet.
    pub running: usize,
    pub waiting: usize,
}

/// Sees every [`BatchState`] (for metrics); runs on the batching thread, so it must be quick.
pub type BatchObserver = Box<dyn FnMut(&BatchState) + Send>;

/// How the batching thread runs.
pub struct BatchThreadOptions {
    pub scheduler: SchedulerOptions,
    pub observer: Option<BatchObserver>,
    /// A test hook: a batch that starts from idle takes its first step only after a
    /// [`BatchHandle::release_step`], while it keeps taking submissions, so a test
    /// can have several sequences join the same first step.
    pub hold_first_step: bool,
}

impl From<SchedulerOptions> for BatchThreadOptions {
    /// A thread with no observer that steps at once.
    fn from(scheduler: SchedulerOptions) -> Self {
        Self {
            scheduler,
            observer: None,
            hold_first_step: false,
        }
    }
}

enum Command {
    Submit {
        prompt: Vec<u32>,
        settings: GenerationSettings,
        events: Sender<SequenceEvent>,
        reply: SyncSender<Result<SequenceId, EngineError>>,
    },
    Cancel(SequenceId),
    Release,
}

/// A clonable way into the batching thread; the thread ends once every handle and
/// every sequence is gone.
#[derive(Clone)]
pub struct BatchHandle {
    commands: Sender<Command>,
    info: Arc<ModelInfo>,
    max_sequences: usize,
}

/// One submitted sequence: its events, in order, ending with [`SequenceEvent::Finished`].
pub struct BatchedSequence {
    id: SequenceId,
    events: Receiver<SequenceEvent>,
    commands: Sender<Command>,
}

impl BatchedSequence {
    pub fn id(&self) -> SequenceId {
        self.id
    }

    pub fn events(&self) -> &Receiver<SequenceEvent> {
        &self.events
    }

    /// Stops the sequence at the next step boundary; it still ends with `Finished`.
    pub fn cancel(&self) {
        let _ = self.commands.send(Command::Cancel(self.id));
    }
}

impl Drop for BatchedSequence {
    fn drop(&mut self) {
        // A finished sequence is no longer known to the scheduler: cancelling it is a no-op.
        self.cancel();
    }
}

/// A sequence's sink on the batching thread: its events go to its own channel, and a
/// reader that went away stops it at the next token.
struct EventSink(Sender<SequenceEvent>);

impl SequenceSink for EventSink {
    fn token(&mut self, token: u32) -> bool {
        self.0.send(SequenceEvent::Token(token)).is_ok()
    }

    fn finish(&mut self, outcome: Result<Generation, EngineError>) {
        let _ = self.0.send(SequenceEvent::Finished(outcome));
    }
}

impl BatchHandle {
    /// Starts the batching thread over `model`; [`EngineError::NotBatched`] for a model
    /// that cannot run many sequences at once.
    pub fn spawn(
        model: Box<dyn CausalLm>,
        options: BatchThreadOptions,
    ) -> Result<Self, EngineError> {
        let info = Arc::new(model.info().clone());
        let scheduler = Scheduler::new(model, options.scheduler)?;
        let max_sequences = scheduler.max_sequences();
        let (commands, inbox) = channel();
        let thread = BatchThread {
            scheduler,
            inbox,
            observer: options.observer,
            hold: options.hold_first_step,
            held: false,
            releases: 0,
        };
        std::thread::Builder::new()
            .name("saar-batch".into())
            .spawn(move || thread.run())
            .map_err(|err| EngineError::BatchStep {
                message: format!("cannot start the batching thread: {err}"),
            })?;
        Ok(Self {
            commands,
            info,
            max_sequences,
        })
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// Sequences decoded together at most.
    pub fn max_sequences(&self) -> usize {
        self.max_sequences
    }

    /// Submits a sequence; it joins the batch at a step boundary. Errors as
    /// [`Scheduler::submit`] does, or when the batching thread has stopped.
    pub fn submit(
        &self,
        prompt: Vec<u32>,
        settings: &GenerationSettings,
    ) -> Result<BatchedSequence, EngineError> {
        let (events, receiver) = channel();
        let (reply, answer) = sync_channel(1);
        let command = Command::Submit {
            prompt,
            settings: settings.clone(),
            events,
            reply,
        };
        self.commands.send(command).map_err(|_| stopped())?;
        let id = answer.recv().map_err(|_| stopped())??;
        Ok(BatchedSequence {
            id,
            events: receiver,
            commands: self.commands.clone(),
        })
    }

    /// Lets a batch held by [`BatchThreadOptions::hold_first_step`] take its first step
    /// (or the next batch's, when none is held now).
    pub fn release_step(&self) {
        let _ = self.commands.send(Command::Release);
    }
}

/// The error for a batching thread that is gone (it stopped on a panic).
pub(crate) fn stopped() -> EngineError {
    EngineError::BatchStep {
        message: "the batching thread has stopped (a bug in saar: please report it)".into(),
    }
}

struct BatchThread {
    scheduler: Scheduler,
    inbox: Receiver<Command>,
    observer: Option<BatchObserver>,
    hold: bool,
    /// The batch waits for a release before its first step.
    held: bool,
    releases: usize,
}

impl BatchThread {
    fn run(mut self) {
        loop {
            // Nothing to step: wait for a command. Once every handle is gone, finish
            // what runs and end.
            if self.scheduler.is_idle() || self.held {
                match self.inbox.recv() {
                    Ok(command) => self.apply(command),
                    Err(_) if self.scheduler.is_idle() => return,
                    Err(_) => self.held = false,
                }
            }
            while let Ok(command) = self.inbox.try_recv() {
                self.apply(command);
            }
            if self.held && self.releases > 0 {
                self.releases -= 1;
                self.held = false;
            }
            self.observe(None);
            if self.held || self.scheduler.is_idle() {
                continue;
            }
            let scheduler = &mut self.scheduler;
            match catch_unwind(AssertUnwindSafe(|| scheduler.step())) {
                Ok(report) => self.observe(Some(report)),
                // The scheduler's state is unknown after a panic: end every sequence
                // (their readers see the channel close) and refuse new ones.
                Err(_) => return,
            }
        }
    }

    fn apply(&mut self, command: Command) {
        match command {
            Command::Submit {
                prompt,
                settings,
                events,
                reply,
            } => {
                let was_idle = self.scheduler.is_idle();
                let sink = Box::new(EventSink(events));
                let submitted = self.scheduler.submit(prompt, &settings, sink);
                if self.hold && was_idle && submitted.is_ok() {
                    self.held = true;
                }
                let _ = reply.send(submitted);
            }
            Command::Cancel(id) => {
                self.scheduler.cancel(id);
            }
            Command::Release => self.releases += 1,
        }
    }

    fn observe(&mut self, step: Option<StepReport>) {
        if let Some(observer) = &mut self.observer {
            observer(&BatchState {
                step,
                running: self.scheduler.running(),
                waiting: self.scheduler.waiting(),
            });
        }
    }
}
