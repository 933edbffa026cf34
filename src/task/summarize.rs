//! Summaries. An article that fits the model's context is summarized in one call;
//! a longer one goes map-reduce: each chunk is summarized, then the partial summaries
//! are combined with the `combine` prompt, in rounds until one call can hold them.
//! On a shared (batched) session the chunks of a round are decoded together.

use super::{defaults, Completion, Event, LlmSession, TaskError, TaskSettings, Usage};
use crate::prompt::{PromptVars, Task};
use crate::text::{self, Chunk, ChunkSettings, TokenCounter};
use crate::Result;

/// A finished summary and what it cost.
#[derive(Debug, Clone)]
pub struct Summary {
    pub text: String,
    pub usage: Usage,
    /// How many chunks the article was cut into (1 when it fit).
    pub chunks: usize,
    /// Combine rounds after the map step (0 when it fit).
    pub combine_rounds: usize,
}

/// Summarizes `article` (already prepared). Only the final call streams its output.
pub fn summarize(
    session: &mut LlmSession,
    article: &str,
    settings: &TaskSettings,
    events: &mut dyn FnMut(Event),
) -> Result<Summary> {
    let generation = &settings.generation;
    let stop = &settings.stop;
    let max_new = generation.max_new_tokens;
    let styled = |vars: PromptVars| vars.with_lang(settings.lang).with_length(settings.length);
    let budget = summary_budget(session, settings)?;
    if budget == 0 {
        return Err(TaskError::ContextTooSmall {
            max_new_tokens: max_new,
        }
        .into());
    }
    let chunks = summary_chunks(article, session.tokenizer(), budget)?;
    if chunks.len() == 1 {
        let vars = styled(PromptVars::new(article));
        let done = session.complete(Task::Summarize, &vars, generation, stop, &mut |p| {
            events(Event::Output(p))
        })?;
        return Ok(Summary {
            text: done.text,
            usage: done.usage,
            chunks: 1,
            combine_rounds: 0,
        });
    }
    let chunks: Vec<&str> = chunks.iter().map(|c| c.text(article).trim()).collect();
    check_chunk_count(chunks.len(), settings.max_chunks, events)?;
    let mut usage = Usage::default();
    let inputs: Vec<PromptVars> = chunks.iter().map(|c| styled(PromptVars::new(*c))).collect();
    let total = chunks.len();
    let mut step = |i: usize| {
        // On a batched session every chunk starts at once; the bar then jumps.
        events(Event::Progress { done: i, total });
        events(Event::Step(format!(
            "summarizing chunk {}/{}",
            i + 1,
            total
        )))
    };
    let done = session.complete_each(Task::Summarize, &inputs, generation, stop, &mut step)?;
    events(Event::Progress { done: total, total });
    let mut partials = texts(done, &mut usage);
    let combine_budget = session.text_budget(
        Task::Combine,
        &styled(PromptVars::combine(Vec::new())),
        max_new,
    )?;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let groups = group_to_budget(session, partials, combine_budget);
        if groups.len() == 1 {
            events(Event::Step(format!(
                "combining {} partial summaries",
                groups[0].len()
            )));
            let vars = styled(PromptVars::combine(groups.into_iter().flatten().collect()));
            let done = session.complete(Task::Combine, &vars, generation, stop, &mut |p| {
                events(Event::Output(p))
            })?;
            usage.add(&done.usage);
            return Ok(Summary {
                text: done.text,
                usage,
                chunks: chunks.len(),
                combine_rounds: rounds,
            });
        }
        if groups.iter().all(|group| group.len() == 1) {
            // No group holds two partials: another round would not shrink anything.
            return Err(TaskError::ContextTooSmall {
                max_new_tokens: max_new,
            }
            .into());
        }
        let inputs: Vec<PromptVars> = groups
            .into_iter()
            .map(|group| styled(PromptVars::combine(group)))
            .collect();
        let mut step = |i: usize| {
            events(Event::Step(format!(
                "combine round {rounds}: group {}",
                i + 1
            )))
        };
        let done = session.complete_each(Task::Combine, &inputs, generation, stop, &mut step)?;
        partials = texts(done, &mut usage);
    }
}

/// The texts of `done`, in order, their usage added to `usage`.
fn texts(done: Vec<Completion>, usage: &mut Usage) -> Vec<String> {
    (done.into_iter())
        .map(|done| {
            usage.add(&done.usage);
            done.text
        })
        .collect()
}

/// Refuses more than `limit` chunks, and warns from [`defaults::WARN_CHUNKS`] on,
/// before any model call: a huge text is hours of model time.
fn check_chunk_count(chunks: usize, limit: usize, events: &mut dyn FnMut(Event)) -> Result<()> {
    // One call per chunk and at least one to combine them.
    let calls = chunks + 1;
    if chunks > limit {
        return Err(TaskError::TooManyChunks {
            chunks,
            calls,
            limit,
        }
        .into());
    }
    if chunks >= defaults::WARN_CHUNKS {
        events(Event::Warning(format!(
            "a long text: {chunks} chunks, {calls} model calls at least; this will take a while"
        )));
    }
    Ok(())
}

/// How many tokens of article text one summarize call holds with `settings`.
pub fn summary_budget(session: &LlmSession, settings: &TaskSettings) -> Result<usize> {
    let vars = PromptVars::new("")
        .with_lang(settings.lang)
        .with_length(settings.length);
    session.text_budget(Task::Summarize, &vars, settings.generation.max_new_tokens)
}

/// The pieces of `article` that summarize's calls are given: the whole article when it
/// fits `budget` tokens (one call), else chunks of whole sentences that each fit (one
/// call per chunk, then the combine step). `saar split --chunks` prints these.
pub fn summary_chunks(
    article: &str,
    counter: &dyn TokenCounter,
    budget: usize,
) -> Result<Vec<Chunk>> {
    let sentences = text::split_sentences(article);
    let tokens = counter.count(article);
    if tokens <= budget {
        return Ok(vec![Chunk {
            range: 0..article.len(),
            overlap: 0..0,
            tokens,
            sentences: 0..sentences.len(),
            boundary: text::Boundary::EndOfText,
        }]);
    }
    let settings = ChunkSettings {
        max_tokens: budget,
        overlap_sentences: 0,
    };
    Ok(text::chunk(article, &sentences, counter, settings)?)
}

/// Packs consecutive partial summaries into groups whose joined text fits `budget`
/// tokens. A partial that alone exceeds the budget forms its own group.
fn group_to_budget(session: &LlmSession, partials: Vec<String>, budget: usize) -> Vec<Vec<String>> {
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut used = 0;
    for partial in partials {
        // Each part costs its own tokens plus the tags the combine template puts around it.
        let cost = session.tokenizer().count(&partial) + PART_OVERHEAD_TOKENS;
        match groups.last_mut() {
            Some(group) if used + cost <= budget => group.push(partial),
            _ => {
                groups.push(vec![partial]);
                used = 0;
            }
        }
        used += cost;
    }
    groups
}

/// A generous allowance for the `<summary part="N">` tags around each partial summary.
const PART_OVERHEAD_TOKENS: usize = 16;
