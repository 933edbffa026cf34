//! Translation with a dedicated MT model (Marian / opus-mt, IndicTrans2). Sentences go to the
//! model in padded batches that span the whole article; English sentences are kept
//! verbatim; lines and paragraphs come back in order.

use std::time::Instant;

use super::{Event, TaskError, Translation, TranslationPiece, Usage};
use crate::engine::marian::{self, MarianSettings};
use crate::engine::translator::SentenceTranslator;
use crate::text::{self, ChunkSettings, Script, TokenCounter};
use crate::Result;

/// Counts source tokens as the Marian tokenizer will, `</s>` included.
struct SourceTokens<'a>(&'a dyn SentenceTranslator);

impl TokenCounter for SourceTokens<'_> {
    fn count(&self, text: &str) -> usize {
        self.0.encode(text).map_or(usize::MAX, |ids| ids.len())
    }
}

/// Translates `article` (already prepared) sentence by sentence with `translator`.
pub fn translate_mt(
    translator: &dyn SentenceTranslator,
    article: &str,
    settings: &MarianSettings,
    events: &mut dyn FnMut(Event),
) -> Result<Translation> {
    let plan = MtPlan::new(translator, article)?;
    let started = Instant::now();
    let translated = translator.translate(&plan.sources(), settings)?;
    // Encoder and decoder run interleaved across batches: report it all as decode time.
    plan.assemble(translated, started.elapsed().as_secs_f64(), events)
}

/// An article cut into what the model translates and what is kept verbatim, with the
/// separators that put it back together. Made once per article; the model's work on
/// [`MtPlan::sources`] may happen in batches shared with other articles (`saar batch`).
#[derive(Debug, Clone)]
pub struct MtPlan {
    /// Each segment's text, whether it is kept verbatim, and what follows it.
    segments: Vec<(String, bool, &'static str)>,
}

impl MtPlan {
    /// Splits `article` (already prepared) into sentences; those already in the target
    /// language (English, for a model into English) and letterless ones are kept verbatim, and sentences longer than the model's positions are cut at
    /// clause marks, never truncated.
    pub fn new(translator: &dyn SentenceTranslator, article: &str) -> Result<Self> {
        let sentences = text::split_sentences(article);
        let budget = ChunkSettings {
            max_tokens: translator.max_source_tokens(),
            overlap_sentences: 0,
        };
        let mut segments: Vec<(String, bool, &'static str)> = Vec::new();
        for (i, sentence) in sentences.iter().enumerate() {
            let source = sentence.content(article);
            let separator = sentence.boundary.separator();
            // What is already in the target language stays as written.
            let in_target = match translator.from_english() {
                false => sentence.script == Script::Latin,
                true => matches!(sentence.script, Script::Devanagari | Script::Other),
            };
            if in_target || sentence.script == Script::NoLetters {
                segments.push((source.to_string(), true, separator));
                continue;
            }
            let pieces = text::chunk(
                article,
                &sentences[i..=i],
                &SourceTokens(translator),
                budget,
            )?;
            let last = pieces.len().saturating_sub(1);
            for (j, piece) in pieces.iter().enumerate() {
                let gap = if j == last { separator } else { " " };
                segments.push((article[piece.range.clone()].trim().to_string(), false, gap));
            }
        }
        Ok(Self { segments })
    }

    /// The segments the model must translate, in order.
    pub fn sources(&self) -> Vec<&str> {
        self.segments
            .iter()
            .filter(|(_, verbatim, _)| !verbatim)
            .map(|(s, _, _)| s.as_str())
            .collect()
    }

    /// Puts the article back together from the model's outputs for
    /// [`MtPlan::sources`] (in that order), which took `model_secs` of model time.
    pub fn assemble(
        self,
        translated: Vec<marian::Translation>,
        model_secs: f64,
        events: &mut dyn FnMut(Event),
    ) -> Result<Translation> {
        let mut translated = translated.into_iter();
        let mut result = Translation {
            text: String::new(),
            pieces: Vec::new(),
            usage: Usage {
                calls: 1,
                decode_secs: model_secs,
                ..Usage::default()
            },
        };
        for (source, verbatim, separator) in self.segments {
            let output = if verbatim {
                source.clone()
            } else {
                let done = translated.next().ok_or(TaskError::MissingTranslation)?;
                result.usage.prompt_tokens += done.source_tokens;
                result.usage.generated_tokens += done.tokens.len();
                done.text
            };
            events(Event::Output(&output));
            events(Event::Output(separator));
            result.text.push_str(&output);
            result.text.push_str(separator);
            result.pieces.push(TranslationPiece {
                source,
                output,
                verbatim,
            });
        }
        Ok(result)
    }
}
