//! ModelTokenizer tests: EOS ids and special tokens from HF config files, chat
//! template sources, GGUF-only models, and streaming decode of Devanagari.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::LazyLock;

use candle_core::quantized::gguf_file;
use proptest::prelude::*;
use saar::model::tokenizer::{ModelTokenizer, TokenizerError};
use saar::model::Weights;
use saar::prompt::{PromptError, SpecialTokens};
use saar::text::TokenCounter;
use serde_json::json;
use unicode_segmentation::UnicodeSegmentation;

use super::support::{
    hindi_tokenizer, metaspace_tokenizer, model_files, write_json, SENTENCES, SPECIAL,
};

/// A model directory with tokenizer.json and the given config files.
fn model_dir(
    tokenizer_config: Option<serde_json::Value>,
    generation: Option<serde_json::Value>,
) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    hindi_tokenizer(600)
        .save(dir.path().join("tokenizer.json"), false)
        .unwrap();
    if let Some(cfg) = tokenizer_config {
        write_json(&dir.path().join("tokenizer_config.json"), &cfg);
    }
    if let Some(gen) = generation {
        write_json(&dir.path().join("generation_config.json"), &gen);
    }
    dir
}

fn load(dir: &Path) -> Result<ModelTokenizer, TokenizerError> {
    ModelTokenizer::load(&model_files(dir, Weights::Safetensors(vec![])))
}

#[test]
fn eos_ids_are_the_union_of_generation_and_tokenizer_config() {
    let dir = model_dir(
        Some(
            json!({"eos_token": {"__type": "AddedToken", "content": "<|im_end|>", "special": true},
                    "bos_token": null, "pad_token": "<|endoftext|>"}),
        ),
        Some(json!({"eos_token_id": [0, 2], "bos_token_id": 1})),
    );
    let tok = load(dir.path()).unwrap();
    let im_end = tok.token_to_id("<|im_end|>").unwrap();
    let endoftext = tok.token_to_id("<|endoftext|>").unwrap();
    let expected: BTreeSet<u32> = [0, 2, im_end].into_iter().collect();
    assert_eq!(
        tok.eos_token_ids().iter().copied().collect::<BTreeSet<_>>(),
        expected
    );
    assert!(
        tok.eos_token_ids().windows(2).all(|w| w[0] < w[1]),
        "sorted, no repeats"
    );
    assert_eq!(tok.special_tokens().eos.as_deref(), Some("<|im_end|>"));
    assert_eq!(tok.special_tokens().pad.as_deref(), Some("<|endoftext|>"));
    assert_eq!(tok.special_tokens().bos, None);
    assert_ne!(endoftext, im_end);

    let single = model_dir(
        Some(json!({"eos_token": "<|endoftext|>"})),
        Some(json!({"eos_token_id": 2})),
    );
    let tok = load(single.path()).unwrap();
    let mut expected = vec![2, tok.token_to_id("<|endoftext|>").unwrap()];
    expected.sort();
    expected.dedup();
    assert_eq!(tok.eos_token_ids(), expected);
}

#[test]
fn chat_template_sources_follow_hf_precedence() {
    let cfg = json!({"bos_token": {"content": "<|im_start|>"}, "chat_template": "{{ bos_token }}from-config"});
    let dir = model_dir(Some(cfg), None);
    let tok = load(dir.path()).unwrap();
    let rendered = tok.chat_template().unwrap().render(&[]).unwrap();
    assert_eq!(
        rendered, "<|im_start|>from-config",
        "AddedToken dict bos reaches the template"
    );

    std::fs::write(dir.path().join("chat_template.jinja"), "from-file").unwrap();
    let tok = load(dir.path()).unwrap();
    assert_eq!(
        tok.chat_template().unwrap().render(&[]).unwrap(),
        "from-file"
    );
    assert!(tok
        .chat_template()
        .unwrap()
        .origin()
        .ends_with("chat_template.jinja"));

    let bare = model_dir(Some(json!({"eos_token": "<|im_end|>"})), None);
    let err = load(bare.path()).unwrap().chat_template().unwrap_err();
    assert!(matches!(err, PromptError::NoChatTemplate { .. }));
    let msg = err.to_string();
    assert!(msg.contains("test-model"), "{msg}");
    assert!(
        msg.contains("saar generate") && msg.contains("--chat-template FILE"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");
}

#[test]
fn missing_or_broken_tokenizer_files_are_clear_errors() {
    let empty = tempfile::tempdir().unwrap();
    let err = load(empty.path()).unwrap_err().to_string();
    assert!(
        err.contains("tokenizer.json") && err.contains("test-model"),
        "{err}"
    );

    let dir = model_dir(None, None);
    std::fs::write(dir.path().join("tokenizer_config.json"), "{not json").unwrap();
    let err = load(dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("tokenizer_config.json") && !err.contains('\n'),
        "{err}"
    );
}

#[test]
fn counting_uses_the_model_tokens() {
    let tok = load(model_dir(None, None).path()).unwrap();
    let text = SENTENCES[1];
    assert_eq!(tok.count(text), tok.encode(text, false).unwrap().len());
    assert!(tok.count(text) < text.len(), "merges were learned");
}

/// Streams `ids` one at a time and returns the pieces.
fn stream_pieces(tok: &ModelTokenizer, ids: &[u32]) -> Vec<String> {
    let mut stream = tok.stream();
    let mut pieces: Vec<String> = ids.iter().filter_map(|&id| stream.push(id)).collect();
    pieces.extend(stream.finish());
    pieces
}

fn assert_pieces_are_clean(pieces: &[String], full: &str) {
    assert_eq!(pieces.concat(), full);
    let boundaries: BTreeSet<usize> = full
        .grapheme_indices(true)
        .map(|(i, _)| i)
        .chain([full.len()])
        .collect();
    let mut end = 0;
    for piece in pieces {
        assert!(!piece.is_empty());
        end += piece.len();
        assert!(
            boundaries.contains(&end),
            "piece {piece:?} ends inside a grapheme cluster of {full:?}"
        );
    }
}

#[test]
fn streaming_devanagari_gives_decode_and_whole_clusters() {
    let tok = load(model_dir(None, None).path()).unwrap();
    let text = SENTENCES.join("\n");
    let ids = tok.encode(&text, false).unwrap();
    let full = tok.decode(&ids).unwrap();
    assert_eq!(full, text);
    let split_chars = ids
        .iter()
        .filter(|&&id| tok.decode(&[id]).unwrap().contains('\u{FFFD}'))
        .count();
    assert!(
        split_chars > 0,
        "the test tokenizer must split some characters across tokens"
    );
    let pieces = stream_pieces(&tok, &ids);
    assert!(pieces.len() > 10);
    assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')));
    assert_pieces_are_clean(&pieces, &full);

    // Special tokens are skipped, as in decode.
    let mut with_special = vec![tok.token_to_id(SPECIAL[1]).unwrap()];
    with_special.extend(&ids[..5]);
    assert_eq!(
        stream_pieces(&tok, &with_special).concat(),
        tok.decode(&with_special).unwrap()
    );
}

static RANDOM_TOKENIZERS: LazyLock<[ModelTokenizer; 2]> = LazyLock::new(|| {
    [hindi_tokenizer(600), metaspace_tokenizer(300)]
        .map(|t| ModelTokenizer::from_tokenizer(t, SpecialTokens::default(), &[], None))
});

#[test]
fn streaming_with_a_first_token_aware_decoder_matches_decode() {
    let tok = &RANDOM_TOKENIZERS[1];
    let text = SENTENCES.join(" ");
    let ids = tok.encode(&text, false).unwrap();
    let full = tok.decode(&ids).unwrap();
    assert!(!full.starts_with(' ') && full.contains(' '), "{full:?}");
    assert!(
        ids.len() > 40,
        "long enough to settle past the decode context"
    );
    assert_pieces_are_clean(&stream_pieces(tok, &ids), &full);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Ids past the vocabulary included: they must be skipped, not panic.
    #[test]
    fn random_ids_never_panic_and_join_to_decode(
        ids in prop::collection::vec(0u32..700, 0..80),
        which in 0usize..2,
    ) {
        let tok = &RANDOM_TOKENIZERS[which];
        let pieces = stream_pieces(tok, &ids);
        let full = tok.decode(&ids).unwrap();
        assert_pieces_are_clean(&pieces, &full);
    }
}

/// Writes a GGUF file holding only tokenizer metadata taken from `tokenizer`.
fn write_gguf(
    path: &Path,
    tokenizer: &tokenizers::Tokenizer,
    model: &str,
    pre: &str,
    extra: &[(&str, gguf_file::Value)],
) {
    let spec: serde_json::Value =
        serde_json::from_str(&tokenizer.to_string(false).unwrap()).unwrap();
    let vocab = spec["model"]["vocab"].as_object().unwrap();
    let mut tokens = vec![String::new(); vocab.len()];
    for (token, id) in vocab {
        tokens[id.as_u64().unwrap() as usize] = token.clone();
    }
    let merges: Vec<gguf_file::Value> = spec["model"]["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match m {
            serde_json::Value::String(s) => gguf_file::Value::String(s.clone()),
            pair => gguf_file::Value::String(format!(
                "{} {}",
                pair[0].as_str().unwrap(),
                pair[1].as_str().unwrap()
            )),
        })
        .collect();
    let types: Vec<gguf_file::Value> = tokens
        .iter()
        .map(|t| gguf_file::Value::I32(if SPECIAL.contains(&t.as_str()) { 3 } else { 1 }))
        .collect();
    let tokens: Vec<gguf_file::Value> = tokens.into_iter().map(gguf_file::Value::String).collect();
    let mut md: Vec<(&str, gguf_file::Value)> = vec![
        (
            "tokenizer.ggml.model",
            gguf_file::Value::String(model.into()),
        ),
        ("tokenizer.ggml.pre", gguf_file::Value::String(pre.into())),
        ("tokenizer.ggml.tokens", gguf_file::Value::Array(tokens)),
        ("tokenizer.ggml.merges", gguf_file::Value::Array(merges)),
        ("tokenizer.ggml.token_type", gguf_file::Value::Array(types)),
    ];
    md.extend(extra.iter().cloned());
    let refs: Vec<(&str, &gguf_file::Value)> = md.iter().map(|(k, v)| (*k, v)).collect();
    let mut file = std::fs::File::create(path).unwrap();
    gguf_file::write(&mut file, &refs, &[]).unwrap();
}

#[test]
fn gguf_without_tokenizer_json_rebuilds_the_byte_level_bpe() {
    let original = hindi_tokenizer(600);
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("model.gguf");
    let eos = original.token_to_id("<|im_end|>").unwrap();
    let extra = [
        ("tokenizer.ggml.eos_token_id", gguf_file::Value::U32(eos)),
        (
            "tokenizer.chat_template",
            gguf_file::Value::String("{{ eos_token }}|gguf".into()),
        ),
    ];
    write_gguf(&gguf, &original, "gpt2", "gpt2", &extra);
    let tok = ModelTokenizer::load(&model_files(dir.path(), Weights::Gguf(gguf.clone()))).unwrap();
    let text = format!("{}<|im_start|>user\n{}", SENTENCES[0], SENTENCES[5]);
    let expected = original
        .encode(text.as_str(), false)
        .unwrap()
        .get_ids()
        .to_vec();
    assert_eq!(tok.encode(&text, false).unwrap(), expected);
    assert_eq!(
        tok.decode(&expected).unwrap(),
        original.decode(&expected, true).unwrap()
    );
    // `<|endoftext|>` ends generation too: llama.cpp stops on it by name.
    let endoftext = original.token_to_id("<|endoftext|>").unwrap();
    let mut expected_eos = vec![eos, endoftext];
    expected_eos.sort_unstable();
    assert_eq!(tok.eos_token_ids(), expected_eos);
    assert_eq!(
        tok.chat_template().unwrap().render(&[]).unwrap(),
        "<|im_end|>|gguf"
    );

    // tokenizer.json beside the file wins over the metadata, the template still comes from it.
    original
        .save(dir.path().join("tokenizer.json"), false)
        .unwrap();
    let tok = ModelTokenizer::load(&model_files(dir.path(), Weights::Gguf(gguf))).unwrap();
    assert_eq!(tok.encode(&text, false).unwrap(), expected);
    assert_eq!(tok.chat_template_source(), Some("{{ eos_token }}|gguf"));
}

#[test]
fn gguf_with_an_unsupported_tokenizer_asks_for_tokenizer_json() {
    let dir = tempfile::tempdir().unwrap();
    for (model, pre) in [("t5", "default"), ("gpt2", "some-new-pre")] {
        let gguf = dir.path().join(format!("{model}-{pre}.gguf"));
        write_gguf(&gguf, &hindi_tokenizer(300), model, pre, &[]);
        let err = ModelTokenizer::load(&model_files(dir.path(), Weights::Gguf(gguf))).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, TokenizerError::UnsupportedGguf { .. }),
            "{msg}"
        );
        assert!(
            msg.contains("tokenizer.json") && msg.contains(model),
            "{msg}"
        );
        assert!(model == "t5" || msg.contains(pre), "{msg}");
    }
}
