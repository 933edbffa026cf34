//! Shared pieces of the prompt tests: a byte-level BPE tokenizer trained here on
//! Hindi and English sentences written for saar, and model files on disk.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use saar::model::{ModelFiles, Weights};
use serde_json::json;
use tokenizers::models::bpe::BpeTrainerBuilder;
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

/// Written for these tests; not taken from any news source.
pub const SENTENCES: &[&str] = &[
    "नगर निगम ने शनिवार को नई बस सेवा शुरू की।",
    "मुख्यमंत्री ने कहा कि किसानों को 5 करोड़ रुपये की सहायता दी जाएगी।",
    "पुलिस के अनुसार दुर्घटना में दो लोग घायल हुए।",
    "विद्यालय में विज्ञान प्रदर्शनी का आयोजन किया गया, जिसमें 120 छात्रों ने भाग लिया।",
    "प्रधानमंत्री ने क्षेत्रीय सम्मेलन में स्वास्थ्य और शिक्षा पर ज़ोर दिया।",
    "The city council opened a new bus route on Saturday.",
    "क्रिकेट टीम ने श्रृंखला 3-1 से जीत ली; कप्तान ने खिलाड़ियों की प्रशंसा की।",
    "राज्य सरकार ने ग्रामीण सड़कों के लिए ₹250 करोड़ स्वीकृत किए।",
];

/// Control tokens of the test tokenizer, ChatML-style.
pub const SPECIAL: &[&str] = &["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// A byte-level BPE (GPT-2 pre-tokenizer) trained on [`SENTENCES`]; its small
/// vocabulary splits most Devanagari characters across tokens.
pub fn hindi_tokenizer(vocab_size: usize) -> Tokenizer {
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": true});
    train(vocab_size, byte_level.clone(), byte_level)
}

/// A SentencePiece-style BPE (`▁` for spaces, the first one dropped when decoding),
/// whose decoder treats the first token differently from the others.
pub fn metaspace_tokenizer(vocab_size: usize) -> Tokenizer {
    let metaspace =
        json!({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true});
    train(vocab_size, metaspace.clone(), metaspace)
}

fn train(
    vocab_size: usize,
    pre_tokenizer: serde_json::Value,
    decoder: serde_json::Value,
) -> Tokenizer {
    let byte_level = pre_tokenizer["type"] == "ByteLevel";
    let spec = json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": null,
        "decoder": decoder,
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
                  "ignore_merges": false, "vocab": {}, "merges": []},
    });
    let mut tokenizer = Tokenizer::from_str(&spec.to_string()).expect("tokenizer spec");
    let specials = SPECIAL.iter().map(|t| AddedToken::from(*t, true)).collect();
    let mut builder = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(specials);
    if byte_level {
        builder = builder.initial_alphabet(ByteLevel::alphabet().into_iter().collect());
    }
    let mut trainer: TrainerWrapper = builder.build().into();
    tokenizer
        .train(&mut trainer, SENTENCES.iter().map(|s| s.to_string()))
        .expect("training");
    tokenizer
}

/// Model files with only the tokenizer side filled in.
pub fn model_files(dir: &Path, weights: Weights) -> ModelFiles {
    let present = |name: &str| -> Option<PathBuf> {
        let path = dir.join(name);
        path.exists().then_some(path)
    };
    ModelFiles {
        name: "test-model".into(),
        repo: None,
        revision: None,
        weights,
        kind: saar::model::ModelKind::Llm,
        config: None,
        generation_config: present("generation_config.json"),
        tokenizer: present("tokenizer.json"),
        tokenizer_config: present("tokenizer_config.json"),
        chat_template: present("chat_template.jinja"),
        context_length: None,
        other: Default::default(),
    }
}

pub fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).expect("json")).expect("write");
}
