//! IndicTrans2's tokenizer, rebuilt from `model.SRC` and the fairseq dictionaries to
//! give exactly what the reference's `IndicTransTokenizer` gives: the text starts
//! with two language tags (`hin_Deva eng_Latn …`) that stay whole, the rest goes
//! through the source spm, pieces are looked up in `dict.SRC.json` (missing ones
//! become `<unk>`), `</s>` is appended. On the way back ids become pieces through
//! `dict.TGT.json`, special tokens are skipped, and the pieces are joined with `▁`
//! turned into spaces: the reference never asks the target spm to decode.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::engine::marian::config::read_json;
use crate::engine::marian::tokenizer::{
    clean_up_tokenization, config_error, is_python_space, load_segmenter, TokenText,
    TokenizerConfig,
};
use crate::engine::EngineError;
use crate::model::spm::{SpmSegmenter, SPACE_MARK};

/// The language tags the reference tokenizer accepts (FLORES-200 codes).
pub const LANGUAGE_TAGS: [&str; 34] = [
    "asm_Beng", "awa_Deva", "ben_Beng", "bho_Deva", "brx_Deva", "doi_Deva", "eng_Latn", "gom_Deva",
    "gon_Deva", "guj_Gujr", "hin_Deva", "hne_Deva", "kan_Knda", "kas_Arab", "kas_Deva", "kha_Latn",
    "lus_Latn", "mag_Deva", "mai_Deva", "mal_Mlym", "mar_Deva", "mni_Beng", "mni_Mtei", "npi_Deva",
    "ory_Orya", "pan_Guru", "san_Deva", "sat_Olck", "snd_Arab", "snd_Deva", "tam_Taml", "tel_Telu",
    "urd_Arab", "unr_Deva",
];

/// The files an IndicTrans2 tokenizer is built from.
#[derive(Debug, Clone)]
pub struct IndicTransTokenizerFiles {
    pub source_spm: PathBuf,
    pub source_dict: PathBuf,
    pub target_dict: PathBuf,
    pub tokenizer_config: Option<PathBuf>,
}

/// A loaded IndicTrans2 tokenizer.
pub struct IndicTransTokenizer {
    segmenter: SpmSegmenter,
    source_ids: HashMap<String, u32>,
    target_pieces: HashMap<u32, String>,
    /// Ids of `<s>`, `<pad>`, `</s>`, `<unk>`: never decoded.
    special_ids: Vec<u32>,
    unk_id: u32,
    eos_id: u32,
    clean_up_spaces: bool,
}

impl IndicTransTokenizer {
    /// Builds the tokenizer; `cache_dir` is where the converted source spm goes when
    /// the model's own directory cannot take it (as for Marian).
    pub fn load(
        files: &IndicTransTokenizerFiles,
        cache_dir: Option<&Path>,
    ) -> Result<Self, EngineError> {
        let config: TokenizerConfig = match &files.tokenizer_config {
            Some(path) => read_json(path)?,
            None => TokenizerConfig::default(),
        };
        let source_ids: HashMap<String, u32> = read_json(&files.source_dict)?;
        let target_ids: HashMap<String, u32> = read_json(&files.target_dict)?;
        let special_id = |token: Option<TokenText>, default: &str| {
            let token = token.map_or_else(|| default.to_string(), TokenText::text);
            source_ids.get(&token).copied().ok_or_else(|| {
                config_error(
                    &files.source_dict,
                    &format!("the special token {token} is not in the dictionary"),
                )
            })
        };
        let unk_id = special_id(config.unk_token, "<unk>")?;
        let eos_id = special_id(config.eos_token, "</s>")?;
        let special_ids = vec![
            special_id(config.bos_token, "<s>")?,
            special_id(config.pad_token, "<pad>")?,
            eos_id,
            unk_id,
        ];
        let bytes = std::fs::read(&files.source_spm).map_err(|e| {
            config_error(
                &files.source_spm,
                &format!("unreadable ({e}); download the model again"),
            )
        })?;
        let (segmenter, _, _) = load_segmenter(&files.source_spm, &bytes, cache_dir)?;
        Ok(IndicTransTokenizer {
            segmenter,
            source_ids,
            target_pieces: target_ids.into_iter().map(|(p, id)| (id, p)).collect(),
            special_ids,
            unk_id,
            eos_id,
            clean_up_spaces: config.clean_up_tokenization_spaces,
        })
    }

    /// Source ids for `text` translated from `source_lang` to `target_lang`
    /// (FLORES-200 tags such as `hin_Deva`), ending with `</s>`.
    pub fn encode(
        &self,
        source_lang: &str,
        target_lang: &str,
        text: &str,
    ) -> Result<Vec<u32>, EngineError> {
        for tag in [source_lang, target_lang] {
            if !LANGUAGE_TAGS.contains(&tag) {
                return Err(EngineError::Config {
                    path: "language tags".into(),
                    message: format!(
                        "`{tag}` is not an IndicTrans2 language tag; use one such as hin_Deva or eng_Latn"
                    ),
                });
            }
        }
        let pieces = self
            .segmenter
            .pieces(text)
            .map_err(|e| EngineError::Config {
                path: "model.SRC".into(),
                message: e,
            })?;
        let mut ids = vec![self.piece_id(source_lang), self.piece_id(target_lang)];
        ids.extend(pieces.iter().map(|piece| self.piece_id(piece)));
        ids.push(self.eos_id);
        Ok(ids)
    }

    /// Source ids for text that starts with its two tags, as the reference takes it:
    /// `"hin_Deva eng_Latn आज बारिश हुई।"` (split at the first two single spaces).
    pub fn encode_tagged(&self, tagged: &str) -> Result<Vec<u32>, EngineError> {
        let mut parts = tagged.splitn(3, ' ');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(source), Some(target), Some(text)) => self.encode(source, target, text),
            _ => Err(EngineError::Config {
                path: "source text".into(),
                message: "IndicTrans2 input starts with two language tags, as in `hin_Deva eng_Latn text`".into(),
            }),
        }
    }

    /// Target text for generated ids, special tokens skipped, as the reference's
    /// `decode(ids, skip_special_tokens=True)`.
    pub fn decode(&self, ids: &[u32]) -> String {
        let joined: String = ids
            .iter()
            .filter(|id| !self.special_ids.contains(id))
            .filter_map(|id| self.target_pieces.get(id).map(String::as_str))
            .collect();
        let text = joined.replace(SPACE_MARK, " ");
        let text = text.trim_matches(is_python_space);
        if self.clean_up_spaces {
            clean_up_tokenization(text)
        } else {
            text.to_string()
        }
    }

    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    fn piece_id(&self, piece: &str) -> u32 {
        self.source_ids.get(piece).copied().unwrap_or(self.unk_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_tag_list_holds_hindi_and_english() {
        assert!(LANGUAGE_TAGS.contains(&"hin_Deva") && LANGUAGE_TAGS.contains(&"eng_Latn"));
        let mut sorted = LANGUAGE_TAGS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), LANGUAGE_TAGS.len());
    }
}
