//! Marian's tokenizer, rebuilt from `source.spm`, `target.spm` and `vocab.json` to
//! give exactly what transformers' `MarianTokenizer` gives: special tokens split out
//! of the text first, a leading `>>lang<<` code kept whole, spm pieces looked up in
//! `vocab.json` (missing ones become `<unk>`), `</s>` appended; and on the way back,
//! ids to pieces through `vocab.json`, special tokens skipped, pieces joined with the
//! target spm's rules, `▁` turned into spaces and the ends trimmed.
//!
//! The converted source tokenizer is cached as a `tokenizers` JSON file (see
//! [`cache_path`]) that other tools can load; its tokens are spm pieces (its ids
//! are not the model's: `vocab.json` maps pieces to those).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use super::config::read_json;
use crate::engine::EngineError;
use crate::model::spm::{unigram_of, SpmModel, SpmSegmenter, SPACE_MARK};

/// The files a Marian tokenizer is built from.
#[derive(Debug, Clone)]
pub struct MarianTokenizerFiles {
    pub source_spm: PathBuf,
    pub target_spm: PathBuf,
    pub vocab: PathBuf,
    /// `target_vocab.json`, for models with separate vocabularies.
    pub target_vocab: Option<PathBuf>,
    pub tokenizer_config: Option<PathBuf>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct TokenizerConfig {
    #[serde(default)]
    separate_vocabs: bool,
    pub(crate) unk_token: Option<TokenText>,
    pub(crate) eos_token: Option<TokenText>,
    pub(crate) pad_token: Option<TokenText>,
    pub(crate) bos_token: Option<TokenText>,
    #[serde(default)]
    pub(crate) clean_up_tokenization_spaces: bool,
}

/// A special token as tokenizer configs write it: a string or an `AddedToken` object.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub(crate) enum TokenText {
    Plain(String),
    Added { content: String },
}

impl TokenText {
    pub(crate) fn text(self) -> String {
        match self {
            TokenText::Plain(text) | TokenText::Added { content: text } => text,
        }
    }
}

/// A loaded Marian tokenizer.
pub struct MarianTokenizer {
    segmenter: SpmSegmenter,
    target_spm: SpmModel,
    source_ids: HashMap<String, u32>,
    target_pieces: HashMap<u32, String>,
    /// `</s>`, `<unk>`, `<pad>` strings and their ids, longest string first.
    specials: Vec<(String, u32)>,
    unk_id: u32,
    eos_id: u32,
    clean_up_spaces: bool,
    /// Where the converted source tokenizer is cached, if it could be.
    pub cached_at: Option<PathBuf>,
    /// Whether this load read that cache instead of converting `source.spm`.
    pub from_cache: bool,
}

impl MarianTokenizer {
    /// Builds the tokenizer; `cache_dir` is where the converted source spm goes
    /// when the model's own directory cannot take it (see [`cache_path`]).
    pub fn load(
        files: &MarianTokenizerFiles,
        cache_dir: Option<&Path>,
    ) -> Result<Self, EngineError> {
        let config: TokenizerConfig = match &files.tokenizer_config {
            Some(path) => read_json(path)?,
            None => TokenizerConfig::default(),
        };
        let source_ids: HashMap<String, u32> = read_json(&files.vocab)?;
        let target_ids: HashMap<String, u32> = match (&files.target_vocab, config.separate_vocabs) {
            (Some(path), true) => read_json(path)?,
            (None, true) => {
                return Err(config_error(
                    &files.vocab,
                    "separate_vocabs is set but target_vocab.json is missing",
                ))
            }
            _ => source_ids.clone(),
        };
        let special_id = |token: &str| {
            source_ids.get(token).copied().ok_or_else(|| {
                config_error(
                    &files.vocab,
                    &format!("the special token {token} is not in the vocabulary"),
                )
            })
        };
        let unk = config
            .unk_token
            .map_or_else(|| "<unk>".into(), TokenText::text);
        let eos = config
            .eos_token
            .map_or_else(|| "</s>".into(), TokenText::text);
        let pad = config
            .pad_token
            .map_or_else(|| "<pad>".into(), TokenText::text);
        let mut specials = vec![
            (unk.clone(), special_id(&unk)?),
            (eos.clone(), special_id(&eos)?),
        ];
        specials.push((pad.clone(), special_id(&pad)?));
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()));

        let source_bytes = std::fs::read(&files.source_spm).map_err(|e| {
            config_error(
                &files.source_spm,
                &format!("unreadable ({e}); download the model again"),
            )
        })?;
        let (segmenter, cached_at, from_cache) =
            load_segmenter(&files.source_spm, &source_bytes, cache_dir)?;
        let target_spm = SpmModel::from_file(&files.target_spm)
            .map_err(|e| config_error(&files.target_spm, &e.to_string()))?;
        Ok(MarianTokenizer {
            segmenter,
            target_spm,
            unk_id: special_id(&unk)?,
            eos_id: special_id(&eos)?,
            target_pieces: target_ids
                .into_iter()
                .map(|(piece, id)| (id, piece))
                .collect(),
            source_ids,
            specials,
            clean_up_spaces: config.clean_up_tokenization_spaces,
            cached_at,
            from_cache,
        })
    }

    /// Source-side ids for `text`, ending with `</s>`, as `tokenizer(text)["input_ids"]`.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, EngineError> {
        let mut ids = Vec::new();
        for (chunk, special) in self.split_specials(text) {
            if let Some(id) = special {
                ids.push(id);
                continue;
            }
            let (code, rest) = split_language_code(chunk);
            if let Some(code) = code {
                ids.push(self.piece_id(code));
            }
            let pieces = self
                .segmenter
                .pieces(rest)
                .map_err(|e| EngineError::Config {
                    path: "source.spm".into(),
                    message: e,
                })?;
            ids.extend(pieces.iter().map(|piece| self.piece_id(piece)));
        }
        ids.push(self.eos_id);
        Ok(ids)
    }

    /// Text for target-side ids, special tokens skipped, as
    /// `decode(ids, skip_special_tokens=True)`.
    pub fn decode(&self, ids: &[u32]) -> String {
        let pieces: Vec<&str> = ids
            .iter()
            .filter(|id| !self.specials.iter().any(|(_, special)| special == *id))
            .map(|id| {
                self.target_pieces
                    .get(id)
                    .map_or(self.unk_piece(), String::as_str)
            })
            .collect();
        let text = self
            .target_spm
            .decode_pieces(&pieces)
            .replace(SPACE_MARK, " ");
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

    fn unk_piece(&self) -> &str {
        self.specials
            .iter()
            .find(|(_, id)| *id == self.unk_id)
            .map_or("<unk>", |(s, _)| s.as_str())
    }

    fn piece_id(&self, piece: &str) -> u32 {
        self.source_ids.get(piece).copied().unwrap_or(self.unk_id)
    }

    /// Splits `text` around literal special tokens, leftmost first and, at one
    /// position, longest first, as HF's added-token trie does.
    fn split_specials<'t>(&self, text: &'t str) -> Vec<(&'t str, Option<u32>)> {
        let mut parts = Vec::new();
        let mut rest = text;
        loop {
            let next = self
                .specials
                .iter()
                .filter_map(|(token, id)| {
                    rest.find(token.as_str()).map(|at| (at, token.len(), *id))
                })
                .min_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            match next {
                Some((at, len, id)) => {
                    if at > 0 {
                        parts.push((&rest[..at], None));
                    }
                    parts.push((&rest[at..at + len], Some(id)));
                    rest = &rest[at + len..];
                }
                None => {
                    if !rest.is_empty() {
                        parts.push((rest, None));
                    }
                    return parts;
                }
            }
        }
    }
}

/// `>>fra<<`-style target language codes stay one token, as in `remove_language_code`.
fn split_language_code(text: &str) -> (Option<&str>, &str) {
    if text.starts_with(">>") {
        if let Some(end) = text.find("<<") {
            return (Some(&text[..end + 2]), &text[end + 2..]);
        }
    }
    (None, text)
}

/// Python's `str.strip()` set: Unicode whitespace plus the ASCII separators 0x1c-0x1f.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// HF's `clean_up_tokenization`, for tokenizer configs that turn it on.
pub(crate) fn clean_up_tokenization(text: &str) -> String {
    [
        (" .", "."),
        (" ?", "?"),
        (" !", "!"),
        (" ,", ","),
        (" ' ", "'"),
        (" n't", "n't"),
    ]
    .into_iter()
    .chain([
        (" 'm", "'m"),
        (" 's", "'s"),
        (" 've", "'ve"),
        (" 're", "'re"),
    ])
    .fold(text.to_string(), |acc, (from, to)| acc.replace(from, to))
}

pub(crate) fn config_error(path: &Path, message: &str) -> EngineError {
    EngineError::Config {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}

/// Where the converted source tokenizer is cached, named by the hash of the exact
/// `source.spm` it came from: next to `source.spm` when that directory is writable
/// and not a Hugging Face cache snapshot (whose files are links into shared blobs),
/// else in `cache_dir/marian/`.
pub fn cache_path(source_spm: &Path, hash: &str, cache_dir: Option<&Path>) -> Option<PathBuf> {
    let name = format!("source-{}.tokenizer.json", &hash[..16.min(hash.len())]);
    let model_dir = source_spm.parent()?;
    let in_hf_cache = model_dir.components().any(|c| c.as_os_str() == "snapshots")
        && model_dir.ancestors().any(|a| {
            a.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("models--"))
        });
    let writable = std::fs::metadata(model_dir).is_ok_and(|m| !m.permissions().readonly());
    if writable && !in_hf_cache {
        Some(model_dir.join(name))
    } else {
        cache_dir.map(|dir| dir.join("marian").join(name))
    }
}

/// The source segmenter; its unigram model comes from the cache when it holds one,
/// else it is converted (and cached when possible). Also says whether the cache was used.
pub(crate) fn load_segmenter(
    source_spm: &Path,
    bytes: &[u8],
    cache_dir: Option<&Path>,
) -> Result<(SpmSegmenter, Option<PathBuf>, bool), EngineError> {
    let spm = SpmModel::from_bytes(bytes, &source_spm.display().to_string())
        .map_err(|e| config_error(source_spm, &e.to_string()))?;
    let hash = format!("{:x}", Sha256::digest(bytes));
    let cache = cache_path(source_spm, &hash, cache_dir);
    let cached = cache
        .as_deref()
        .and_then(|path| Tokenizer::from_file(path).ok())
        .and_then(|t| unigram_of(&t));
    if cached.is_some() {
        let segmenter = spm
            .segmenter(cached)
            .map_err(|e| config_error(source_spm, &e.to_string()))?;
        return Ok((segmenter, cache, true));
    }
    let segmenter = spm
        .segmenter(None)
        .map_err(|e| config_error(source_spm, &e.to_string()))?;
    // The cache only saves work; a directory that refuses the file changes nothing.
    let written = cache.filter(|path| {
        spm.to_tokenizer()
            .map_err(|e| e.to_string())
            .and_then(|t| write_cached(path, &t).map_err(|e| e.to_string()))
            .is_ok()
    });
    Ok((segmenter, written, false))
}

fn write_cached(
    path: &Path,
    tokenizer: &Tokenizer,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // Write then rename, so a reader never sees half a file.
    let partial = path.with_extension(format!("{}.partial", std::process::id()));
    std::fs::write(&partial, tokenizer.to_string(false)?)?;
    std::fs::rename(&partial, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_codes_split_only_at_the_start() {
        assert_eq!(
            split_language_code(">>fra<< bonjour"),
            (Some(">>fra<<"), " bonjour")
        );
        assert_eq!(split_language_code("a >>fra<<"), (None, "a >>fra<<"));
        assert_eq!(split_language_code(">>open"), (None, ">>open"));
    }

    #[test]
    fn special_tokens_may_be_strings_or_added_token_objects() {
        let json = r#"{"unk_token": "<unk>", "eos_token": {"content": "</s>", "lstrip": false}}"#;
        let config: TokenizerConfig = serde_json::from_str(json).unwrap();
        assert_eq!(
            config.unk_token.map(TokenText::text).as_deref(),
            Some("<unk>")
        );
        assert_eq!(
            config.eos_token.map(TokenText::text).as_deref(),
            Some("</s>")
        );
    }

    #[test]
    fn python_strip_set_includes_ascii_separators() {
        assert_eq!("\u{1f} a \u{a0}".trim_matches(is_python_space), "a");
    }

    #[test]
    fn hf_snapshots_are_never_written_into() {
        let spm = Path::new("/hf/hub/models--Helsinki-NLP--opus-mt-hi-en/snapshots/abc/source.spm");
        let path = cache_path(spm, &"f".repeat(64), Some(Path::new("/cache"))).unwrap();
        assert_eq!(
            path,
            Path::new("/cache/marian/source-ffffffffffffffff.tokenizer.json")
        );
        assert_eq!(cache_path(spm, &"f".repeat(64), None), None);
    }
}
