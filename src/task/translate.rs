//! Full translation with an LLM. The article is cut into runs of sentences that share
//! a line; English (Latin-script) runs are kept verbatim and the rest is translated
//! chunk by chunk under the model's budget. Lines and paragraphs come back in order.

use std::ops::Range;

use super::{Event, LlmSession, TaskError, TaskSettings, Usage};
use crate::engine::GenerationSettings;
use crate::prompt::{PromptVars, Task};
use crate::text::{self, Boundary, ChunkSettings, Script, Sentence, TokenCounter};
use crate::Result;

/// A translated article: the text, and each source piece with its translation.
#[derive(Debug, Clone)]
pub struct Translation {
    pub text: String,
    pub pieces: Vec<TranslationPiece>,
    pub usage: Usage,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TranslationPiece {
    pub source: String,
    pub output: String,
    /// True when the source was already English and was kept as it is.
    pub verbatim: bool,
}

/// Translates `article` (already prepared) into English, streaming the output.
pub fn translate(
    session: &mut LlmSession,
    article: &str,
    settings: &TaskSettings,
    events: &mut dyn FnMut(Event),
) -> Result<Translation> {
    let sentences = text::split_sentences(article);
    let generation = &raised_budget(session, article, &sentences, settings, events);
    let max_new = generation.max_new_tokens;
    let input_budget = session.text_budget(Task::Translate, &PromptVars::new(""), max_new)?;
    // A chunk's translation must fit in max_new_tokens, as the chunk must fit the context.
    let budget = input_budget.min(max_new);
    if budget == 0 {
        return Err(TaskError::ContextTooSmall {
            max_new_tokens: settings.generation.max_new_tokens,
        }
        .into());
    }
    let mut translation = Translation {
        text: String::new(),
        pieces: Vec::new(),
        usage: Usage::default(),
    };
    let emit = |translation: &mut Translation, events: &mut dyn FnMut(Event), text: &str| {
        events(Event::Output(text));
        translation.text.push_str(text);
    };
    for run in runs(&sentences) {
        let source = &article[sentences[run.sentences.start].range.start
            ..sentences[run.sentences.end - 1].range.end];
        if run.verbatim {
            emit(&mut translation, events, source.trim_end());
            translation.pieces.push(TranslationPiece {
                source: source.trim_end().into(),
                output: source.trim_end().into(),
                verbatim: true,
            });
        } else {
            let chunking = ChunkSettings {
                max_tokens: budget,
                overlap_sentences: 0,
            };
            let run_sentences = &sentences[run.sentences.clone()];
            for (i, chunk) in text::chunk(article, run_sentences, session.tokenizer(), chunking)?
                .iter()
                .enumerate()
            {
                if i > 0 {
                    emit(&mut translation, events, " ");
                }
                let chunk_text = article[chunk.range.clone()].trim();
                let vars = PromptVars::new(chunk_text);
                let done = session.complete(
                    Task::Translate,
                    &vars,
                    generation,
                    &settings.stop,
                    &mut |p| events(Event::Output(p)),
                )?;
                translation.text.push_str(&done.text);
                translation.usage.add(&done.usage);
                translation.pieces.push(TranslationPiece {
                    source: chunk_text.into(),
                    output: done.text,
                    verbatim: false,
                });
            }
        }
        emit(&mut translation, events, run.boundary.separator());
    }
    Ok(translation)
}

/// The generation settings for translating `article`: `--max-new-tokens` raised, when
/// it is below what the longest sentence to translate needs, to that sentence's token
/// count, with one warning. A smaller budget would cut sentences into words and
/// translate the fragments (307 calls on one- or two-word pieces at 8 tokens); a
/// sentence longer than the context still goes in pieces cut at its clause marks.
fn raised_budget(
    session: &LlmSession,
    article: &str,
    sentences: &[Sentence],
    settings: &TaskSettings,
    events: &mut dyn FnMut(Event),
) -> GenerationSettings {
    let mut generation = settings.generation.clone();
    let given = generation.max_new_tokens;
    let longest = sentences
        .iter()
        .filter(|sentence| sentence.script != Script::Latin)
        // Counted as the chunker counts it, trailing whitespace included.
        .map(|sentence| session.tokenizer().count(&article[sentence.range.clone()]))
        .max()
        .unwrap_or(0);
    if longest > given {
        events(Event::Warning(format!(
            "--max-new-tokens {given} is less than whole sentences need (up to {longest} tokens): translating with up to {longest} new tokens per call rather than cutting sentences into fragments"
        )));
        generation.max_new_tokens = longest;
    }
    generation
}

/// Consecutive sentences on one line that are either all kept verbatim (English) or
/// all translated, and what follows the last of them.
struct Run {
    /// Indices into the article's sentences.
    sentences: Range<usize>,
    verbatim: bool,
    boundary: Boundary,
}

fn runs(sentences: &[Sentence]) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for (index, sentence) in sentences.iter().enumerate() {
        let verbatim = sentence.script == Script::Latin;
        match runs.last_mut() {
            Some(run) if run.verbatim == verbatim && run.boundary == Boundary::Inline => {
                run.sentences.end = index + 1;
                run.boundary = sentence.boundary;
            }
            _ => runs.push(Run {
                sentences: index..index + 1,
                verbatim,
                boundary: sentence.boundary,
            }),
        }
    }
    runs
}
