//! SentencePiece models (`source.spm`, `target.spm`, `spiece.model`) read with the
//! `sentencepiece-model` crate and run without sentencepiece, for repos that ship no
//! `tokenizer.json`.
//!
//! [`SpmSegmenter`] gives exactly what spm's `encode(text, out_type=str)` gives: spm's
//! normalizer ported in [`normalizer`], then a Viterbi unigram (the `tokenizers`
//! model) over the pieces spm can match: normal and user-defined ones; control,
//! unknown, unused and byte pieces are never matched by spm, so they are left out.
//! Runs of characters no piece covers come back as one piece holding the normalized
//! text. [`SpmModel::to_tokenizer`] writes the same segmentation as a `tokenizers`
//! pipeline (a `tokenizer.json` other tools can load), whose `Precompiled` normalizer
//! differs from spm only on rare graphemes (see [`normalizer`]).
//!
//! Because unmatched pieces are left out, ids of the unigram model are not spm ids:
//! callers work with piece strings, which is what Marian's `vocab.json` maps.

mod decode;
pub mod normalizer;

use std::path::Path;

pub use normalizer::SpmNormalizer;
use sentencepiece_model::{ModelType, SentencePieceModel, Type};
use tokenizers::decoders::metaspace::{Metaspace as MetaspaceDecoder, PrependScheme};
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::{Precompiled, Prepend, Replace, Sequence};
use tokenizers::{Model, ModelWrapper, NormalizerWrapper, Tokenizer};

/// spm's whitespace marker.
pub const SPACE_MARK: char = '▁';

/// Errors from reading or converting a SentencePiece model.
#[derive(Debug, thiserror::Error)]
pub enum SpmError {
    #[error("SentencePiece model {path}: {message}; download the model files again")]
    Unreadable { path: String, message: String },
    #[error("SentencePiece model {path} uses {feature}, which saar does not support")]
    Unsupported { path: String, feature: String },
    #[error("SentencePiece model {path} could not be converted: {message}")]
    Conversion { path: String, message: String },
}

/// What spm does with a piece when it meets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceKind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

/// A parsed SentencePiece unigram model: its pieces and its normalizer settings.
#[derive(Debug, Clone)]
pub struct SpmModel {
    origin: String,
    pieces: Vec<(String, f32, PieceKind)>,
    kinds: std::collections::HashMap<String, PieceKind>,
    unk_piece: String,
    unk_surface: String,
    charsmap: Vec<u8>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    byte_fallback: bool,
}

impl SpmModel {
    /// Reads a `.spm` / `.model` file.
    pub fn from_file(path: &Path) -> Result<Self, SpmError> {
        let bytes = std::fs::read(path).map_err(|e| SpmError::Unreadable {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Parses the protobuf bytes of a model; `origin` names it in errors.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, SpmError> {
        let unreadable = |message: String| SpmError::Unreadable {
            path: origin.to_string(),
            message,
        };
        let unsupported = |feature: &str| SpmError::Unsupported {
            path: origin.to_string(),
            feature: feature.to_string(),
        };
        let model = SentencePieceModel::from_slice(bytes).map_err(|e| unreadable(e.to_string()))?;
        if model.pieces().is_empty() {
            return Err(unreadable("it holds no pieces".into()));
        }
        let trainer = model.trainer();
        if let Some(trainer) = trainer {
            if trainer.model_type() != ModelType::Unigram {
                return Err(unsupported(&format!(
                    "the {:?} algorithm",
                    trainer.model_type()
                )));
            }
            if trainer.treat_whitespace_as_suffix() {
                return Err(unsupported("whitespace as a suffix"));
            }
        }
        let normalizer = model.normalizer();
        if normalizer.is_some_and(|n| !n.escape_whitespaces()) {
            return Err(unsupported("unescaped whitespace"));
        }
        let pieces: Vec<(String, f32, PieceKind)> = model
            .pieces()
            .iter()
            .map(|p| (p.piece().to_string(), p.score(), kind_of(p.r#type())))
            .collect();
        let unk_piece = pieces
            .iter()
            .find(|p| p.2 == PieceKind::Unknown)
            .map(|p| p.0.clone())
            .ok_or_else(|| unreadable("it has no unknown piece".into()))?;
        let kinds = pieces
            .iter()
            .map(|(piece, _, kind)| (piece.clone(), *kind))
            .collect();
        Ok(SpmModel {
            origin: origin.to_string(),
            pieces,
            kinds,
            unk_piece,
            unk_surface: trainer
                .map_or(" \u{2047} ", |t| t.unk_surface())
                .to_string(),
            charsmap: normalizer
                .map(|n| n.precompiled_charsmap().to_vec())
                .unwrap_or_default(),
            add_dummy_prefix: normalizer.is_none_or(|n| n.add_dummy_prefix()),
            remove_extra_whitespaces: normalizer.is_none_or(|n| n.remove_extra_whitespaces()),
            byte_fallback: trainer.is_some_and(|t| t.byte_fallback()),
        })
    }

    /// How spm treats `piece`; `None` for a string that is not one of its pieces.
    pub fn kind(&self, piece: &str) -> Option<PieceKind> {
        self.kinds.get(piece).copied()
    }

    /// Number of pieces in the model.
    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// spm's normalizer for this model.
    pub fn normalizer(&self) -> Result<SpmNormalizer, SpmError> {
        let user_defined = self
            .pieces
            .iter()
            .filter(|p| p.2 == PieceKind::UserDefined)
            .map(|p| p.0.clone())
            .collect();
        SpmNormalizer::new(
            &self.charsmap,
            user_defined,
            self.add_dummy_prefix,
            self.remove_extra_whitespaces,
        )
        .ok_or_else(|| SpmError::Unreadable {
            path: self.origin.clone(),
            message: "its precompiled charsmap is malformed".into(),
        })
    }

    /// The unigram model over the pieces spm can match (see the module docs).
    pub fn unigram(&self) -> Result<Unigram, SpmError> {
        let (vocab, unk_id) = self.matchable_vocab();
        Unigram::from(vocab, Some(unk_id), self.byte_fallback).map_err(|e| SpmError::Conversion {
            path: self.origin.clone(),
            message: e.to_string(),
        })
    }

    /// Segments text as spm does; `unigram` may come from a cached `tokenizer.json`.
    pub fn segmenter(&self, unigram: Option<Unigram>) -> Result<SpmSegmenter, SpmError> {
        let unigram = match unigram {
            Some(unigram) => unigram,
            None => self.unigram()?,
        };
        Ok(SpmSegmenter {
            normalizer: self.normalizer()?,
            unigram,
        })
    }

    /// The same segmentation as a `tokenizers` pipeline (see the module docs).
    pub fn to_tokenizer(&self) -> Result<Tokenizer, SpmError> {
        let conversion = |message: String| SpmError::Conversion {
            path: self.origin.clone(),
            message,
        };
        let mut steps: Vec<NormalizerWrapper> = Vec::new();
        if !self.charsmap.is_empty() {
            let precompiled =
                Precompiled::from(&self.charsmap).map_err(|e| conversion(e.to_string()))?;
            steps.push(precompiled.into());
        }
        let replace =
            |pattern: &str, content: &str, regex: bool| -> Result<NormalizerWrapper, SpmError> {
                let pattern = if regex {
                    tokenizers::normalizers::replace::ReplacePattern::Regex(pattern.to_string())
                } else {
                    tokenizers::normalizers::replace::ReplacePattern::String(pattern.to_string())
                };
                Replace::new(pattern, content)
                    .map(Into::into)
                    .map_err(|e| conversion(e.to_string()))
            };
        if self.remove_extra_whitespaces {
            steps.push(replace(" {2,}", " ", true)?);
            steps.push(replace(r"\A | \z", "", true)?);
        }
        steps.push(replace(" ", "▁", false)?);
        if self.add_dummy_prefix {
            steps.push(Prepend::new(SPACE_MARK.to_string()).into());
        }

        let (vocab, unk_id) = self.matchable_vocab();
        let unigram = Unigram::from(vocab, Some(unk_id), self.byte_fallback)
            .map_err(|e| conversion(e.to_string()))?;
        let mut tokenizer = Tokenizer::new(unigram);
        tokenizer.with_normalizer(Some(Sequence::new(steps)));
        let prepend = if self.add_dummy_prefix {
            PrependScheme::Always
        } else {
            PrependScheme::Never
        };
        tokenizer.with_decoder(Some(MetaspaceDecoder::new(SPACE_MARK, prepend, false)));
        Ok(tokenizer)
    }

    /// The pieces spm's Viterbi search can use, with the scores it gives them, and the
    /// unknown piece first. Its score is the lowest normal score, so that adding it
    /// leaves the unknown-character penalty (lowest score - 10) where spm puts it.
    fn matchable_vocab(&self) -> (Vec<(String, f64)>, usize) {
        let normal_scores = self
            .pieces
            .iter()
            .filter(|p| p.2 == PieceKind::Normal)
            .map(|p| p.1);
        let min_score = normal_scores.clone().fold(f32::INFINITY, f32::min);
        let max_score = normal_scores.fold(f32::NEG_INFINITY, f32::max);
        let min_score = if min_score.is_finite() {
            min_score
        } else {
            0.0
        };
        let max_score = if max_score.is_finite() {
            max_score
        } else {
            0.0
        };
        let mut vocab = vec![(self.unk_piece.clone(), f64::from(min_score))];
        for (piece, score, kind) in &self.pieces {
            let score = match kind {
                PieceKind::Normal => *score,
                // spm prefers user-defined pieces over any split of the same text.
                PieceKind::UserDefined => piece.len() as f32 * max_score - 0.1,
                PieceKind::Byte if self.byte_fallback => *score,
                _ => continue,
            };
            vocab.push((piece.clone(), f64::from(score)));
        }
        (vocab, 0)
    }
}

/// spm's encoder: normalizer then unigram Viterbi.
#[derive(Clone)]
pub struct SpmSegmenter {
    normalizer: SpmNormalizer,
    unigram: Unigram,
}

impl SpmSegmenter {
    /// The pieces spm's `encode(text, out_type=str)` returns.
    pub fn pieces(&self, text: &str) -> Result<Vec<String>, String> {
        let normalized = self.normalizer.normalize(text);
        let tokens = self
            .unigram
            .tokenize(&normalized)
            .map_err(|e| e.to_string())?;
        Ok(tokens.into_iter().map(|token| token.value).collect())
    }
}

/// The unigram model inside a converted tokenizer, to reuse it from a cache.
pub fn unigram_of(tokenizer: &Tokenizer) -> Option<Unigram> {
    match tokenizer.get_model() {
        ModelWrapper::Unigram(unigram) => Some(unigram.clone()),
        _ => None,
    }
}

fn kind_of(kind: Type) -> PieceKind {
    match kind {
        Type::Normal => PieceKind::Normal,
        Type::Unknown => PieceKind::Unknown,
        Type::Control => PieceKind::Control,
        Type::UserDefined => PieceKind::UserDefined,
        Type::Unused => PieceKind::Unused,
        Type::Byte => PieceKind::Byte,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_a_readable_error_not_a_panic() {
        let error = SpmModel::from_bytes(&[0xff, 0x01, 0x02], "bad.spm").unwrap_err();
        assert!(error.to_string().contains("bad.spm"), "{error}");
    }
}
