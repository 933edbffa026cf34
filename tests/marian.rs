//! The Marian engine against transformers: tokenization, decoding, logits, greedy
//! and beam search on a tiny random MarianMTModel with real SentencePiece models.
//! Expectations come from scripts/parity/make_marian_fixtures.py (run by hand).

use std::path::{Path, PathBuf};

use saar::engine::marian::{EarlyStopping, MarianSettings, MarianTranslator, Translation};
use saar::engine::{EngineError, Placement, StopReason};
use saar::model::{ModelFiles, Weights};
use serde_json::Value;

#[path = "support/device.rs"]
mod device;

const FIXTURE: &str = "tests/fixtures/marian";

fn expected() -> Value {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[derive(Clone, Copy)]
enum Format {
    Safetensors,
    Bin,
}

/// A copy of the fixture model in a temporary directory, so the tokenizer cache the
/// engine writes next to the model never lands in the repository.
struct Model {
    dir: tempfile::TempDir,
}

impl Model {
    fn copy() -> Model {
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(Path::new(FIXTURE).join("tiny")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
        }
        Model { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn files(&self, format: Format) -> ModelFiles {
        let weights = match format {
            Format::Safetensors => Weights::Safetensors(vec![self.path("model.safetensors")]),
            Format::Bin => Weights::PytorchBin(self.path("pytorch_model.bin")),
        };
        let mut files = ModelFiles {
            kind: saar::model::ModelKind::Marian,
            config: Some(self.path("config.json")),
            generation_config: Some(self.path("generation_config.json")),
            tokenizer_config: Some(self.path("tokenizer_config.json")),
            ..ModelFiles::new("tiny-marian", weights)
        };
        for name in ["source.spm", "target.spm", "vocab.json"] {
            files.other.insert(name.to_string(), self.path(name));
        }
        files
    }

    fn load(&self, format: Format) -> MarianTranslator {
        let placement = device::test_placement(candle_core::DType::F32);
        MarianTranslator::load_with_cache(&self.files(format), &placement, None).unwrap()
    }
}

fn translator() -> (Model, MarianTranslator) {
    let model = Model::copy();
    let translator = model.load(Format::Safetensors);
    (model, translator)
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u32)
        .collect()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap()
}

/// HF's `generate` output is `[start, tokens..., eos, pad...]`; saar returns the
/// tokens and says whether EOS ended them.
fn generated(row: &Value) -> (Vec<u32>, StopReason) {
    let sequence = ids(&row["ids"]);
    let (eos, pad) = (0, *sequence.first().unwrap());
    let tokens: Vec<u32> = sequence[1..]
        .iter()
        .copied()
        .take_while(|&t| t != eos && t != pad)
        .collect();
    let stop = if sequence[1..].contains(&eos) {
        StopReason::Eos
    } else {
        StopReason::MaxNewTokens
    };
    (tokens, stop)
}

fn assert_matches(got: &Translation, row: &Value, what: &str) {
    let (tokens, stop) = generated(row);
    assert_eq!(got.tokens, tokens, "{what}: token ids");
    assert_eq!(got.stop, stop, "{what}: stop reason");
    assert_eq!(got.text, text(&row["text"]), "{what}: text");
}

fn greedy() -> MarianSettings {
    MarianSettings {
        beams: Some(1),
        batch_size: 1,
        ..Default::default()
    }
}

fn beam() -> MarianSettings {
    MarianSettings {
        batch_size: 1,
        ..Default::default()
    }
}

#[test]
fn source_ids_match_marian_tokenizer() {
    let (_model, translator) = translator();
    let expected = expected();
    let cases = expected["tokenized"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        assert_eq!(
            translator.encode(text(&case["text"])).unwrap(),
            ids(&case["ids"]),
            "{:?}",
            case["text"]
        );
    }
}

#[test]
fn decoded_text_matches_marian_tokenizer() {
    let (_model, translator) = translator();
    for case in expected()["decoded"].as_array().unwrap() {
        assert_eq!(
            translator.decode(&ids(&case["ids"])),
            text(&case["text"]),
            "{:?}",
            case["ids"]
        );
    }
}

fn assert_logits_close(got: &[f32], want: &Value, what: &str) {
    let want: Vec<f64> = want
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got.len(), want.len(), "{what}: vocabulary");
    let worst = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (f64::from(*g) - w).abs())
        .fold(0.0, f64::max);
    assert!(
        worst < 2e-3,
        "{what}: logits differ from HF by up to {worst}"
    );
}

#[test]
fn teacher_forced_logits_match_hf_at_every_position_of_a_padded_pair() {
    let (_model, translator) = translator();
    let expected = expected();
    let forced = &expected["teacher_forced"];
    let sources: Vec<Vec<u32>> = forced["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| translator.encode(text(t)).unwrap())
        .collect();
    assert_ne!(
        sources[0].len(),
        sources[1].len(),
        "the pair must need padding"
    );
    let decoder: Vec<Vec<u32>> = forced["decoder_input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(ids)
        .collect();
    // All positions at once (the encoder-like path), and one position at a time as
    // generation runs them (KV cache; on a CPU, saar's decode attention kernel).
    for stepwise in [false, true] {
        let logits = match stepwise {
            false => translator.teacher_forced_logits(&sources, &decoder),
            true => translator.stepwise_logits(&sources, &decoder),
        };
        let logits = logits.unwrap().to_vec3::<f32>().unwrap();
        for (row, (got_row, want_row)) in logits
            .iter()
            .zip(forced["logits"].as_array().unwrap())
            .enumerate()
        {
            for (position, (got, want)) in
                got_row.iter().zip(want_row.as_array().unwrap()).enumerate()
            {
                let what = format!("stepwise {stepwise}, row {row} position {position}");
                assert_logits_close(got, want, &what);
            }
        }
    }
    let first = &expected["first_step_logits"];
    let source = translator.encode(text(&first["text"])).unwrap();
    let start = translator.generation_defaults().decoder_start_token_id;
    let logits = translator
        .teacher_forced_logits(&[source], &[vec![start]])
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    assert_logits_close(&logits[0][0], &first["logits"], "first step");
}

#[test]
fn greedy_translations_match_hf() {
    let (_model, translator) = translator();
    let expected = expected();
    let cases = expected["greedy"].as_array().unwrap();
    let sources: Vec<&str> = cases.iter().map(|c| text(&c["source"])).collect();
    let got = translator.translate(&sources, &greedy()).unwrap();
    for (got, case) in got.iter().zip(cases) {
        assert_matches(got, case, &format!("greedy {:?}", case["source"]));
        assert_eq!(got.score, None);
    }
    assert!(
        got.iter()
            .any(|t| t.stop == StopReason::Eos && !t.tokens.is_empty()),
        "some stop early at EOS"
    );
    assert!(got.iter().any(|t| t.tokens.len() > 10), "some run long");
}

#[test]
fn beam_translations_match_hf() {
    let (_model, translator) = translator();
    assert_eq!(
        translator.generation_defaults().num_beams,
        4,
        "beam width comes from generation_config.json"
    );
    let expected = expected();
    let cases = expected["beam"].as_array().unwrap();
    let sources: Vec<&str> = cases.iter().map(|c| text(&c["source"])).collect();
    let got = translator.translate(&sources, &beam()).unwrap();
    for (got, case) in got.iter().zip(cases) {
        assert_matches(got, case, &format!("beam {:?}", case["source"]));
        assert!(got.score.is_some_and(f32::is_finite));
    }
}

#[test]
fn padded_batches_match_hf_and_the_sentences_alone() {
    let (_model, translator) = translator();
    let expected = expected();
    let batch = &expected["batch"];
    let texts: Vec<&str> = batch["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let lengths: Vec<usize> = texts
        .iter()
        .map(|t| translator.encode(t).unwrap().len())
        .collect();
    assert!(
        lengths.iter().min() < lengths.iter().max(),
        "the batch must need padding"
    );
    for (settings, key) in [(greedy(), "greedy"), (beam(), "beam")] {
        let together = MarianSettings {
            batch_size: texts.len(),
            ..settings.clone()
        };
        let batched = translator.translate(&texts, &together).unwrap();
        let alone = translator.translate(&texts, &settings).unwrap();
        for (b, a) in batched.iter().zip(&alone) {
            assert_eq!(
                (&b.tokens, &b.text, b.stop),
                (&a.tokens, &a.text, a.stop),
                "{key}: batch against one by one"
            );
            // Padded matmuls round differently in the last bits; the search does not care.
            let (b, a) = (b.score.unwrap_or(0.0), a.score.unwrap_or(0.0));
            assert!((b - a).abs() < 1e-4, "{key}: scores {b} and {a}");
        }
        for (got, row) in batched.iter().zip(batch[key].as_array().unwrap()) {
            assert_matches(got, row, &format!("{key} batch"));
        }
    }
}

/// HF `generate` keyword arguments as saar settings.
fn settings_from_hf(kwargs: &Value) -> MarianSettings {
    let mut settings = MarianSettings {
        batch_size: 4,
        ..Default::default()
    };
    for (key, value) in kwargs.as_object().unwrap() {
        match key.as_str() {
            "num_beams" => settings.beams = value.as_u64().map(|v| v as usize),
            "length_penalty" => settings.length_penalty = value.as_f64(),
            "early_stopping" => {
                settings.early_stopping = Some(match value {
                    Value::Bool(true) => EarlyStopping::True,
                    Value::Bool(false) => EarlyStopping::False,
                    _ => EarlyStopping::Never,
                })
            }
            "no_repeat_ngram_size" => {
                settings.no_repeat_ngram_size = value.as_u64().map(|v| v as usize)
            }
            "renormalize_logits" => settings.renormalize_logits = value.as_bool(),
            "max_new_tokens" => settings.max_new_tokens = value.as_u64().map(|v| v as usize),
            "min_length" => settings.min_length = value.as_u64().map(|v| v as usize),
            "repetition_penalty" => settings.repetition_penalty = value.as_f64().map(|v| v as f32),
            other => panic!("no saar setting for {other}"),
        }
    }
    settings
}

#[test]
fn search_settings_beyond_the_defaults_match_hf() {
    let (_model, translator) = translator();
    let expected = expected();
    let scenarios = expected["scenarios"].as_array().unwrap();
    assert!(scenarios.len() >= 6);
    let mut lengths = std::collections::BTreeSet::new();
    for scenario in scenarios {
        let name = text(&scenario["name"]);
        let settings = settings_from_hf(&scenario["settings"]);
        let texts: Vec<&str> = scenario["texts"]
            .as_array()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        let got = translator.translate(&texts, &settings).unwrap();
        for (got, row) in got.iter().zip(scenario["outputs"].as_array().unwrap()) {
            assert_matches(got, row, name);
            lengths.insert(got.tokens.len());
        }
        if let Some(limit) = settings.max_new_tokens {
            assert!(
                got.iter().all(|t| t.tokens.len() < limit),
                "{name}: max_new_tokens counts the EOS"
            );
        }
        if let Some(min) = settings.min_length {
            assert!(
                got.iter().all(|t| t.tokens.len() + 1 >= min),
                "{name}: min_length counts the start token"
            );
        }
    }
    assert!(
        lengths.len() >= 6,
        "translations of many lengths make length penalties matter: {lengths:?}"
    );
}

#[test]
fn pytorch_bin_and_safetensors_give_the_same_model() {
    let model = Model::copy();
    let from_safetensors = model.load(Format::Safetensors);
    let from_bin = model.load(Format::Bin);
    let expected = expected();
    let texts: Vec<&str> = expected["batch"]["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let sources: Vec<Vec<u32>> = texts.iter().map(|t| from_bin.encode(t).unwrap()).collect();
    let start = from_bin.generation_defaults().decoder_start_token_id;
    let decoder = vec![vec![start, 5, 9]; sources.len()];
    let a = from_safetensors
        .teacher_forced_logits(&sources, &decoder)
        .unwrap();
    let b = from_bin.teacher_forced_logits(&sources, &decoder).unwrap();
    let difference = (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert_eq!(difference, 0.0);
    assert_eq!(
        from_safetensors.translate(&texts, &beam()).unwrap(),
        from_bin.translate(&texts, &beam()).unwrap()
    );
}

#[test]
fn sources_longer_than_the_positions_are_a_typed_error() {
    let (_model, translator) = translator();
    let long = "सरकार की ".repeat(40);
    let tokens = translator.encode(&long).unwrap().len();
    assert!(tokens > translator.max_source_tokens());
    let error = translator
        .translate(&["छोटा", &long], &greedy())
        .unwrap_err();
    match error {
        EngineError::ContextOverflow {
            tokens: got,
            context,
        } => {
            assert_eq!((got, context), (tokens, translator.max_source_tokens()));
        }
        other => panic!("expected ContextOverflow, got {other}"),
    }
}

#[test]
fn the_converted_source_tokenizer_is_cached_next_to_the_model() {
    let model = Model::copy();
    let first = model.load(Format::Safetensors);
    let cached = first
        .tokenizer()
        .cached_at
        .clone()
        .expect("a writable model directory takes the cache");
    assert_eq!(cached.parent().unwrap(), model.dir.path());
    assert!(!first.tokenizer().from_cache);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&cached).unwrap()).unwrap();
    assert_eq!(json["model"]["type"], "Unigram");
    assert!(
        tokenizers::Tokenizer::from_file(&cached).is_ok(),
        "the cache is a loadable tokenizer.json"
    );

    let second = model.load(Format::Safetensors);
    assert_eq!(
        second.tokenizer().cached_at.as_deref(),
        Some(cached.as_path())
    );
    assert!(
        second.tokenizer().from_cache,
        "the second load reads the cache"
    );
    let text = "सरकार ने किसानों के लिए नई योजना की घोषणा की है।";
    assert_eq!(first.encode(text).unwrap(), second.encode(text).unwrap());
}

#[test]
fn missing_family_files_are_named_in_the_error() {
    let model = Model::copy();
    let mut files = model.files(Format::Safetensors);
    files.other.remove("target.spm");
    let placement = Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    let error = MarianTranslator::load_with_cache(&files, &placement, None)
        .err()
        .unwrap();
    assert!(error.to_string().contains("target.spm"), "{error}");
}

#[test]
fn settings_that_leave_no_room_are_refused() {
    let (_model, translator) = translator();
    for settings in [
        MarianSettings {
            beams: Some(0),
            ..Default::default()
        },
        MarianSettings {
            batch_size: 0,
            ..Default::default()
        },
        MarianSettings {
            max_length: Some(1),
            ..Default::default()
        },
    ] {
        assert!(matches!(
            translator.translate(&["नमस्ते"], &settings),
            Err(EngineError::Config { .. })
        ));
    }
}
