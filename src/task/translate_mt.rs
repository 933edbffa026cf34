//! Translation with a dedicated MT model (Marian / opus-mt). Sentences go to the
//! model in padded batches that span the whole article; English sentences are kept
//! verbatim; lines and paragraphs come back in order.

use std::time::Instant;

use super::{Event, TaskError, Translation, TranslationPiece, Usage};
use crate::engine::marian::{MarianSettings, MarianTranslator};
use crate::model::ModelFiles;
use crate::text::{self, ChunkSettings, Script, TokenCounter};
use crate::Result;

/// True when `files` hold a Marian model (`config.json` says `model_type: marian`).
pub fn is_marian(files: &ModelFiles) -> bool {
    let Some(path) = &files.config else {
        return false;
    };
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|config| config.get("model_type")?.as_str().map(|t| t == "marian"))
        .unwrap_or(false)
}

/// Counts source tokens as the Marian tokenizer will, `</s>` included.
struct SourceTokens<'a>(&'a MarianTranslator);

impl TokenCounter for SourceTokens<'_> {
    fn count(&self, text: &str) -> usize {
        self.0.encode(text).map_or(usize::MAX, |ids| ids.len())
    }
}

/// Translates `article` (already prepared) sentence by sentence with `translator`.
pub fn translate_mt(
    translator: &MarianTranslator,
    article: &str,
    settings: &MarianSettings,
    events: &mut dyn FnMut(Event),
) -> Result<Translation> {
    let sentences = text::split_sentences(article);
    // Sentences longer than the model's positions are cut at clause marks, never truncated.
    let budget = ChunkSettings {
        max_tokens: translator.max_source_tokens(),
        overlap_sentences: 0,
    };
    let mut segments: Vec<(String, bool, &'static str)> = Vec::new();
    for (i, sentence) in sentences.iter().enumerate() {
        let source = sentence.content(article);
        let separator = sentence.boundary.separator();
        if sentence.script == Script::Latin || sentence.script == Script::NoLetters {
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
    let to_translate: Vec<&str> = segments
        .iter()
        .filter(|(_, verbatim, _)| !verbatim)
        .map(|(s, _, _)| s.as_str())
        .collect();
    let started = Instant::now();
    let mut translated = translator.translate(&to_translate, settings)?.into_iter();
    let secs = started.elapsed().as_secs_f64();
    let mut result = Translation {
        text: String::new(),
        pieces: Vec::new(),
        usage: Usage {
            calls: 1,
            ..Usage::default()
        },
    };
    for (source, verbatim, separator) in segments {
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
    // Encoder and decoder run interleaved across batches: report it all as decode time.
    result.usage.decode_secs = secs;
    Ok(result)
}
