//! The IndicTrans2 engine against the reference code: tokenization, decoding, logits,
//! greedy and beam search on a tiny random IndicTransForConditionalGeneration with
//! real SentencePiece models and fairseq dictionaries. Expectations come from
//! scripts/parity/make_indictrans_fixtures.py (run by hand with the reference code).

use std::path::{Path, PathBuf};

use saar::engine::indictrans::IndicTransTranslator;
use saar::engine::marian::MarianSettings;
use saar::engine::{EngineError, Placement, StopReason};
use saar::model::{ModelFiles, Weights};
use serde_json::Value;

#[path = "indictrans/processor.rs"]
mod processor;

const FIXTURE: &str = "tests/fixtures/indictrans";
const EOS: u32 = 2;
const PAD: u32 = 1;

fn expected() -> Value {
    let text = std::fs::read_to_string(Path::new(FIXTURE).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
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

    fn files(&self, weights: Weights) -> ModelFiles {
        let mut files = ModelFiles {
            config: Some(self.path("config.json")),
            generation_config: Some(self.path("generation_config.json")),
            tokenizer_config: Some(self.path("tokenizer_config.json")),
            ..ModelFiles::new("tiny-indictrans", weights)
        };
        for name in ["model.SRC", "model.TGT", "dict.SRC.json", "dict.TGT.json"] {
            files.other.insert(name.to_string(), self.path(name));
        }
        files
    }

    fn load(&self, weights: Weights) -> Result<IndicTransTranslator, EngineError> {
        self.load_as(weights, None)
    }

    fn load_as(
        &self,
        weights: Weights,
        dtype: Option<candle_core::DType>,
    ) -> Result<IndicTransTranslator, EngineError> {
        let placement = Placement {
            device: candle_core::Device::Cpu,
            dtype,
        };
        IndicTransTranslator::load_with_cache(&self.files(weights), &placement, None)
    }

    fn safetensors(&self) -> Weights {
        Weights::Safetensors(vec![self.path("model.safetensors")])
    }
}

fn translator() -> (Model, IndicTransTranslator) {
    let model = Model::copy();
    let translator = model.load(model.safetensors()).unwrap();
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

/// The reference's `generate` output is `[start, tokens..., eos, pad...]` (its start
/// token is EOS itself); saar returns the tokens and says whether EOS ended them.
fn generated(row: &Value) -> (Vec<u32>, StopReason) {
    let sequence = ids(&row["ids"]);
    assert_eq!(sequence[0], EOS, "decoding starts from </s>");
    let tokens: Vec<u32> = sequence[1..]
        .iter()
        .copied()
        .take_while(|&t| t != EOS && t != PAD)
        .collect();
    let stop = if sequence[1..].contains(&EOS) {
        StopReason::Eos
    } else {
        StopReason::MaxNewTokens
    };
    (tokens, stop)
}

fn settings(beams: usize, batch_size: usize) -> MarianSettings {
    MarianSettings {
        beams: Some(beams),
        batch_size,
        ..Default::default()
    }
}

/// Translates tagged sources and checks ids, stop reasons and texts against `rows`.
fn assert_generates(
    translator: &IndicTransTranslator,
    sources: &[&str],
    rows: &[Value],
    settings: &MarianSettings,
    what: &str,
) {
    let encoded: Vec<Vec<u32>> = sources
        .iter()
        .map(|s| translator.tokenizer().encode_tagged(s).unwrap())
        .collect();
    let hypotheses = translator.generate(&encoded, settings).unwrap();
    assert_eq!(hypotheses.len(), rows.len());
    for ((hypothesis, row), source) in hypotheses.iter().zip(rows).zip(sources) {
        let (tokens, stop) = generated(row);
        assert_eq!(hypothesis.tokens, tokens, "{what}: ids for {source:?}");
        assert_eq!(hypothesis.stop, stop, "{what}: stop for {source:?}");
        assert_eq!(
            translator.decode(&hypothesis.tokens),
            text(&row["text"]),
            "{what}: text for {source:?}"
        );
    }
}

fn column<'v>(rows: &'v Value, field: &str) -> Vec<&'v str> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|row| text(&row[field]))
        .collect()
}

#[test]
fn source_ids_match_the_reference_tokenizer_on_every_probe() {
    let (_model, translator) = translator();
    let expected = expected();
    let cases = expected["tokenized"].as_array().unwrap();
    assert!(cases.len() >= 20, "20 probes or more");
    for case in cases {
        assert_eq!(
            translator
                .tokenizer()
                .encode_tagged(text(&case["text"]))
                .unwrap(),
            ids(&case["ids"]),
            "{:?}",
            case["text"]
        );
    }
}

#[test]
fn decoded_text_matches_the_reference_tokenizer() {
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

#[test]
fn untagged_or_unknown_tags_are_refused_with_a_hint() {
    let (_model, translator) = translator();
    let tokenizer = translator.tokenizer();
    let missing = tokenizer.encode_tagged("आज बारिश").unwrap_err().to_string();
    assert!(missing.contains("two language tags"), "{missing}");
    let unknown = tokenizer
        .encode("hin_Deva", "xx_Latn", "आज")
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("xx_Latn"), "{unknown}");
    assert!(translator.with_languages("eng_Latn", "klingon").is_err());
}

/// The largest distance from the reference's teacher-forced logits, over every
/// position of a padded pair: all positions at once, then one at a time.
fn worst_logit_distance(translator: &IndicTransTranslator) -> [f64; 2] {
    let expected = expected();
    let forced = &expected["teacher_forced"];
    // The reference pads sources on the left; saar's batches pad on the right.
    let sources: Vec<Vec<u32>> = forced["input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| ids(row).into_iter().skip_while(|&t| t == PAD).collect())
        .collect();
    assert_ne!(
        sources[0].len(),
        sources[1].len(),
        "the pair must need padding"
    );
    for (source, tagged) in sources.iter().zip(forced["texts"].as_array().unwrap()) {
        assert_eq!(
            source,
            &translator.tokenizer().encode_tagged(text(tagged)).unwrap()
        );
    }
    let decoder: Vec<Vec<u32>> = forced["decoder_input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(ids)
        .collect();
    let want: Vec<f64> = forced["logits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter())
        .flat_map(|step| step.as_array().unwrap().iter())
        .map(|v| v.as_f64().unwrap())
        .collect();
    [
        translator.teacher_forced_logits(&sources, &decoder),
        translator.stepwise_logits(&sources, &decoder),
    ]
    .map(|logits| {
        let got: Vec<f32> = logits.unwrap().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(got.len(), want.len());
        got.iter()
            .zip(&want)
            .map(|(g, w)| (f64::from(*g) - w).abs())
            .fold(0.0, f64::max)
    })
}

#[test]
fn teacher_forced_logits_match_the_reference_within_1e_4_at_every_position() {
    let (_model, translator) = translator();
    let [all, stepwise] = worst_logit_distance(&translator);
    assert!(all < 1e-4, "all positions: logits differ by up to {all}");
    assert!(
        stepwise < 1e-4,
        "step by step: logits differ by up to {stepwise}"
    );
}

/// f16 and bf16 weights run on candle's path (its cache in their own dtype); their
/// rounding moves the logits by about 0.01 (f16) and 0.03 (bf16) here, where a wrong
/// network moves them by whole units.
#[test]
fn half_precision_weights_stay_close_to_the_reference_logits() {
    let model = Model::copy();
    for (dtype, bound) in [
        (candle_core::DType::F16, 0.05),
        (candle_core::DType::BF16, 0.15),
    ] {
        let translator = model.load_as(model.safetensors(), Some(dtype)).unwrap();
        assert_eq!(translator.info().dtype, format!("{dtype:?}").to_lowercase());
        let [all, stepwise] = worst_logit_distance(&translator);
        assert!(
            all < bound && stepwise < bound,
            "{dtype:?}: {all}, {stepwise}"
        );
    }
}

#[test]
fn greedy_translations_match_the_reference_one_by_one() {
    let (_model, translator) = translator();
    let expected = expected();
    let rows = expected["greedy"].as_array().unwrap();
    assert!(rows.len() >= 10);
    let sources = column(&expected["greedy"], "source");
    assert_generates(&translator, &sources, rows, &settings(1, 1), "greedy");
}

#[test]
fn beam_4_translations_match_the_reference_one_by_one() {
    let (_model, translator) = translator();
    let expected = expected();
    let rows = expected["beam"].as_array().unwrap();
    let sources = column(&expected["beam"], "source");
    assert_generates(&translator, &sources, rows, &settings(4, 1), "beam 4");
}

#[test]
fn beam_5_as_the_reference_examples_run_it_matches() {
    let (_model, translator) = translator();
    let expected = expected();
    let rows = expected["beam5"].as_array().unwrap();
    let sources = column(&expected["beam5"], "source");
    let settings = MarianSettings {
        min_length: Some(0),
        ..settings(5, 2)
    };
    assert_generates(&translator, &sources, rows, &settings, "beam 5");
}

#[test]
fn a_padded_batch_gives_what_the_reference_batch_and_single_sentences_give() {
    let (_model, translator) = translator();
    let expected = expected();
    let batch = &expected["batch"];
    let sources: Vec<&str> = batch["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    for (beams, field) in [(1, "greedy"), (4, "beam")] {
        let rows = batch[field].as_array().unwrap();
        let what = format!("batch {field}");
        assert_generates(
            &translator,
            &sources,
            rows,
            &settings(beams, sources.len()),
            &what,
        );
        assert_generates(
            &translator,
            &sources,
            rows,
            &settings(beams, 1),
            "one by one",
        );
    }
}

#[test]
fn translate_tags_sources_as_hindi_to_english_and_pytorch_bin_loads_the_same() {
    let model = Model::copy();
    let from_bin = model
        .load(Weights::PytorchBin(model.path("pytorch_model.bin")))
        .unwrap();
    let expected = expected();
    let row = &expected["greedy"][0];
    let source = text(&row["source"]);
    let untagged = source
        .strip_prefix("hin_Deva eng_Latn ")
        .expect("the first probe is Hindi to English");
    assert_eq!(from_bin.languages(), ("hin_Deva", "eng_Latn"));
    let out = from_bin
        .translate_preprocessed(&[untagged], &settings(1, 1))
        .unwrap();
    let (tokens, stop) = generated(row);
    assert_eq!((out[0].tokens.clone(), out[0].stop), (tokens, stop));
    assert_eq!(out[0].text, text(&row["text"]));
    assert_eq!(
        out[0].source_tokens,
        from_bin.encode_preprocessed(untagged).unwrap().len()
    );
}

#[test]
fn the_shown_model_input_is_what_the_model_encodes() {
    let (_model, translator) = translator();
    let source = "सूचना https://example.org/a पर 12:30 बजे दी गई।";
    let shown = translator.model_input(source);
    // Tags first, then the reference's pre-processing: the URL is a placeholder.
    assert!(shown.starts_with("hin_Deva eng_Latn "), "{shown}");
    assert!(!shown.contains("example.org"), "{shown}");
    assert_eq!(
        translator.tokenizer().encode_tagged(&shown).unwrap(),
        translator.encode(source).unwrap()
    );
}
