//! Tokenizers rebuilt from GGUF metadata alone against the tokenizer.json they were
//! written from: SentencePiece vocabularies (Llama 2 and Gemma conventions) and
//! byte-level BPEs under several pre-tokenizers, as vocab-only GGUF files the way
//! llama.cpp's `ggml-vocab-*.gguf` test files are. Same ids on probe strings (Hindi,
//! mixed scripts, digits, whitespace runs, emoji, special tokens), same decoding.

use std::path::Path;

use saar::model::tokenizer::ModelTokenizer;
use saar::model::{ModelFiles, Weights};
use saar::synth::{build_bpe_tokenizer, build_spm_tokenizer, write_vocab_gguf, BpeStyle, SpmStyle};
use serde_json::Value;
use tokenizers::Tokenizer;

const PROBES: &[&str] = &[
    "सोमवार को नए अस्पताल का उद्घाटन हुआ।",
    "प्रधानमंत्री ने कहा कि 2024 में 35% अधिक मरीज आए।",
    "Delhi में बारिश, IMD ने alert जारी किया",
    "1234567 voters, 3.14159 and ₹45,000 crore",
    "  leading spaces and   runs   inside  ",
    "tabs\tand\nnew\n\nlines\r\n",
    "emoji 🦙🙂 and 👍🏽 here",
    "क़ानून, ज़िंदगी, ड़, ॐ, ्",
    "Hello world! It's done, isn't it? I'll see.",
    "",
    " ",
    "\n",
    "a",
    "ÄÖÜ naïve café",
];

fn files(path: &Path) -> ModelFiles {
    ModelFiles {
        name: "vocab".into(),
        repo: None,
        revision: None,
        weights: Weights::Gguf(path.to_path_buf()),
        kind: saar::model::ModelKind::Llm,
        config: None,
        generation_config: None,
        tokenizer: None,
        tokenizer_config: None,
        chat_template: None,
        context_length: None,
        other: Default::default(),
    }
}

/// Writes `tokenizer` as a vocab-only GGUF and loads it back through saar.
fn rebuilt(tokenizer: &Tokenizer, config: &Value, pre: Option<&str>) -> ModelTokenizer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vocab.gguf");
    let json: Value = serde_json::from_str(&tokenizer.to_string(false).unwrap()).unwrap();
    write_vocab_gguf(&json, config, pre, &path).unwrap();
    let loaded = ModelTokenizer::load(&files(&path)).unwrap();
    drop(dir);
    loaded
}

fn ids(tokenizer: &Tokenizer, text: &str, special: bool) -> Vec<u32> {
    tokenizer.encode(text, special).unwrap().get_ids().to_vec()
}

/// Same ids with and without added special tokens, and the same decoding.
fn assert_same(reference: &Tokenizer, rebuilt: &ModelTokenizer, texts: &[String], what: &str) {
    for text in texts {
        for special in [false, true] {
            let expected = ids(reference, text, special);
            assert_eq!(
                rebuilt.encode(text, special).unwrap(),
                expected,
                "{what}: {text:?} (special tokens {special})"
            );
            assert_eq!(
                rebuilt.decode(&expected).unwrap(),
                reference.decode(&expected, true).unwrap(),
                "{what}: decoding {text:?}"
            );
        }
    }
}

fn probes(specials: &[&str]) -> Vec<String> {
    let mut texts: Vec<String> = PROBES.iter().map(|s| s.to_string()).collect();
    for special in specials {
        texts.push(format!("{special}नमस्ते{special} world {special}"));
    }
    texts
}

#[test]
fn sentencepiece_vocabularies_rebuild_exactly() {
    for style in [SpmStyle::Llama2, SpmStyle::Gemma] {
        let (reference, config) = build_spm_tokenizer(style).unwrap();
        let tok = rebuilt(&reference, &config, None);
        let specials: &[&str] = match style {
            SpmStyle::Llama2 => &["<s>", "</s>"],
            SpmStyle::Gemma => &["<start_of_turn>", "<end_of_turn>", "<eos>"],
        };
        assert_same(&reference, &tok, &probes(specials), &format!("{style:?}"));
        // Every probe without special tokens decodes back to itself (byte fallback
        // covers what the pieces do not).
        for text in PROBES {
            let ids = tok.encode(text, false).unwrap();
            assert_eq!(tok.decode(&ids).unwrap(), *text, "{style:?} round trip");
        }
    }
}

#[test]
fn llama2_convention_adds_bos_and_a_space_prefix_after_special_tokens() {
    let (reference, config) = build_spm_tokenizer(SpmStyle::Llama2).unwrap();
    let tok = rebuilt(&reference, &config, None);
    let bos = tok.token_to_id("<s>").unwrap();
    let eos = tok.token_to_id("</s>").unwrap();
    let ids = tok.encode("hello", true).unwrap();
    assert_eq!(ids[0], bos);
    let first = tok.inner().id_to_token(ids[1]).unwrap();
    assert!(first.starts_with('\u{2581}'), "{first}");
    // A stretch of text after a special token gets its own `▁`, as llama.cpp adds it.
    let ids = tok.encode("</s>hello", false).unwrap();
    assert_eq!(ids[0], eos);
    assert_eq!(ids[1..], tok.encode("hello", false).unwrap()[..]);
    assert_eq!(tok.eos_token_ids(), [eos]);
    assert_eq!(
        tok.decode(&tok.encode("hello", true).unwrap()).unwrap(),
        "hello"
    );
}

#[test]
fn gemma_convention_has_no_space_prefix_and_ends_turns() {
    let (reference, config) = build_spm_tokenizer(SpmStyle::Gemma).unwrap();
    let tok = rebuilt(&reference, &config, None);
    let bos = tok.token_to_id("<bos>").unwrap();
    let turn = tok.token_to_id("<start_of_turn>").unwrap();
    let end = tok.token_to_id("<end_of_turn>").unwrap();
    let ids = tok.encode("<start_of_turn>user\nhi", true).unwrap();
    assert_eq!(ids[..2], [bos, turn]);
    let piece = tok.inner().id_to_token(ids[2]).unwrap();
    assert!(!piece.starts_with('\u{2581}'), "{piece}");
    // llama.cpp stops on `<end_of_turn>` by its name, besides EOS.
    assert!(tok.eos_token_ids().contains(&end));
    assert!(tok
        .eos_token_ids()
        .contains(&tok.token_to_id("<eos>").unwrap()));
    // Special tokens are skipped when decoding; text between them is kept exactly.
    let text = "<start_of_turn>user\n नमस्ते  दुनिया<end_of_turn>";
    let decoded = tok.decode(&tok.encode(text, true).unwrap()).unwrap();
    assert_eq!(decoded, "user\n नमस्ते  दुनिया");
}

#[test]
fn byte_level_bpe_rebuilds_under_each_pre_tokenizer() {
    for (style, names) in [
        (BpeStyle::Gpt2, &["gpt-2", "phi-2", "olmo", "mpt"][..]),
        (
            BpeStyle::Digits,
            &["smollm", "starcoder", "refact", "command-r"][..],
        ),
        (BpeStyle::DeepseekCoder, &["deepseek-coder"][..]),
        (BpeStyle::Qwen2, &["qwen2", "deepseek-r1-qwen"][..]),
    ] {
        let (reference, config) = build_bpe_tokenizer(style).unwrap();
        for name in names {
            let tok = rebuilt(&reference, &config, Some(name));
            let specials = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"];
            assert_same(&reference, &tok, &probes(&specials), name);
            for text in PROBES {
                let ids = tok.encode(text, true).unwrap();
                assert_eq!(tok.decode(&ids).unwrap(), *text, "{name} round trip");
            }
        }
    }
}

#[test]
fn the_pre_tokenizer_name_decides_the_splits() {
    // The test above would pass for any pre-tokenizer if names were ignored: check
    // that the name matters where the splits differ.
    // Qwen's split lets a vowel sign lead the next letters, so its vocabulary holds
    // merges GPT-2's split never reaches.
    let (reference, config) = build_bpe_tokenizer(BpeStyle::Qwen2).unwrap();
    let qwen = rebuilt(&reference, &config, Some("qwen2"));
    let gpt2 = rebuilt(&reference, &config, Some("gpt-2"));
    let text = PROBES[0];
    assert_eq!(
        qwen.encode(text, false).unwrap(),
        ids(&reference, text, false)
    );
    assert_ne!(
        qwen.encode(text, false).unwrap(),
        gpt2.encode(text, false).unwrap()
    );
}

#[test]
fn an_unknown_pre_tokenizer_is_refused_by_name() {
    let (reference, config) = build_bpe_tokenizer(BpeStyle::Gpt2).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vocab.gguf");
    let json: Value = serde_json::from_str(&reference.to_string(false).unwrap()).unwrap();
    write_vocab_gguf(&json, &config, Some("kimi-k2"), &path).unwrap();
    let err = ModelTokenizer::load(&files(&path)).unwrap_err().to_string();
    assert!(
        err.contains("kimi-k2") && err.contains("tokenizer.json"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
}
