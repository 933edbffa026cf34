//! Reading the parity fixtures (tests/fixtures/parity/<family>/) and the comparisons
//! tests/parity.rs makes with them; kept apart so the test file reads as a list of claims.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::DType;
use saar::engine::{self, generate, CausalLm, GenerationSettings, StopReason};
use saar::model::{ModelFiles, Weights};
use saar::synth::{convert_safetensors_to_gguf, GgufQuant};
use serde::Deserialize;

#[path = "../support/device.rs"]
mod device;
use device::test_placement;

/// Max abs logit difference allowed between saar in f32 and transformers in f32.
pub const F32_TOLERANCE: f32 = 1e-4;

/// What transformers computed for one family (written by make_llm_fixtures.py).
#[derive(Debug, Deserialize)]
pub struct Expected {
    pub eos_token_ids: Vec<u32>,
    pub date_string: String,
    pub prompts: Vec<PromptCase>,
    pub chat_strings: Vec<ChatCase>,
}

#[derive(Debug, Deserialize)]
pub struct PromptCase {
    pub name: String,
    pub text: String,
    pub add_special_tokens: bool,
    pub ids: Vec<u32>,
    pub first_logits: Vec<f32>,
    pub greedy_no_eos: Vec<u32>,
    pub greedy_no_eos_margins: Vec<f32>,
    pub greedy_no_eos_last_logits: Vec<f32>,
    pub greedy_eos: Vec<u32>,
    pub greedy_eos_stopped: bool,
    pub decoded_prompt: String,
}

#[derive(Debug, Deserialize)]
pub struct ChatCase {
    pub name: String,
    pub messages: Vec<serde_json::Value>,
    pub add_generation_prompt: bool,
    pub template_kwargs: BTreeMap<String, serde_json::Value>,
    pub text: String,
    pub ids: Vec<u32>,
}

/// Under the package root cargo names at run time, else the one it named at build time:
/// scripts/gpu/run.sh runs this test binary from another checkout, on a GPU machine.
pub fn fixture_dir(family: &str) -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/fixtures/parity")
        .join(family)
}

pub fn expected(family: &str) -> Expected {
    let path = fixture_dir(family).join("expected.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The fixture's files, with `weights` in place of its model.safetensors.
pub fn files_with(family: &str, weights: Weights) -> ModelFiles {
    let dir = fixture_dir(family);
    ModelFiles {
        config: Some(dir.join("config.json")),
        generation_config: Some(dir.join("generation_config.json")),
        tokenizer: Some(dir.join("tokenizer.json")),
        tokenizer_config: Some(dir.join("tokenizer_config.json")),
        ..ModelFiles::new(format!("parity/{family}"), weights)
    }
}

pub fn safetensors_files(family: &str) -> ModelFiles {
    files_with(
        family,
        Weights::Safetensors(vec![fixture_dir(family).join("model.safetensors")]),
    )
}

/// A bare GGUF file, as a user would pass `--model model.gguf`.
pub fn gguf_files(path: &Path) -> ModelFiles {
    ModelFiles::new(
        path.display().to_string(),
        Weights::Gguf(path.to_path_buf()),
    )
}

/// Converts the family's fixture to GGUF in a fresh temporary directory.
pub fn convert_to_gguf(family: &str, quant: GgufQuant) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join(format!("{family}.gguf"));
    convert_safetensors_to_gguf(&fixture_dir(family), &path, quant)
        .unwrap_or_else(|e| panic!("converting {family} to GGUF {quant:?}: {e}"));
    (dir, path)
}

/// The model on the test device (the CPU unless `SAAR_TEST_DEVICE`
/// names a GPU), computing in `dtype`.
pub fn load_on_test_device(files: &ModelFiles, dtype: DType) -> Box<dyn CausalLm> {
    engine::llm::load(files, &test_placement(dtype))
        .unwrap_or_else(|e| panic!("loading {}: {e}", files.name))
}

fn forward(model: &mut dyn CausalLm, ids: &[u32], pos: usize) -> Vec<f32> {
    let logits = model.forward(ids, pos).expect("forward");
    logits
        .to_vec1::<f32>()
        .expect("logits are a 1-D f32 tensor")
}

pub fn max_abs_diff(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(
        got.len(),
        want.len(),
        "logit vector lengths (vocab sizes) differ"
    );
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0, f32::max)
}

fn greedy(max_new_tokens: usize, eos_token_ids: Vec<u32>) -> GenerationSettings {
    GenerationSettings {
        eos_token_ids,
        ..GenerationSettings::greedy(max_new_tokens)
    }
}

fn run_greedy(
    model: &mut dyn CausalLm,
    ids: &[u32],
    settings: &GenerationSettings,
) -> (Vec<u32>, StopReason) {
    model.reset();
    let run = generate(model, ids, settings, &mut |_| true).expect("generate");
    (run.tokens, run.stop)
}

/// Logit differences seen in one model check, collected so one failure report
/// names every mismatch at once.
#[derive(Default)]
pub struct Report {
    pub failures: Vec<String>,
    pub worst_logit_diff: f32,
}

impl Report {
    fn logits(&mut self, what: String, got: &[f32], want: &[f32], tolerance: f32) {
        let diff = max_abs_diff(got, want);
        self.worst_logit_diff = self.worst_logit_diff.max(diff);
        if diff > tolerance {
            self.failures.push(format!(
                "{what}: max |logit diff| {diff:.3e} > {tolerance:.0e}"
            ));
        }
    }

    fn tokens(&mut self, what: String, got: &[u32], want: &[u32]) {
        if got != want {
            self.failures
                .push(format!("{what}: saar {got:?} != HF {want:?}"));
        }
    }

    pub fn assert_ok(&self, model: &str) {
        assert!(
            self.failures.is_empty(),
            "{model} differs from HF transformers:\n  {}",
            self.failures.join("\n  ")
        );
    }
}

/// Logits at each of the greedy steps, decoding with the KV cache and fed HF's tokens
/// (teacher forcing), so every step is compared even where a model would diverge.
fn teacher_forced_steps(model: &mut dyn CausalLm, case: &PromptCase) -> Vec<Vec<f32>> {
    model.reset();
    let mut steps = vec![forward(model, &case.ids, 0)];
    let fed = &case.greedy_no_eos[..case.greedy_no_eos.len() - 1];
    for (i, &token) in fed.iter().enumerate() {
        steps.push(forward(model, &[token], case.ids.len() + i));
    }
    steps
}

fn argmax(logits: &[f32]) -> u32 {
    let best =
        logits.iter().enumerate().fold(
            (0, f32::MIN),
            |best, (i, &x)| if x > best.1 { (i, x) } else { best },
        );
    best.0 as u32
}

/// Logits checks that hold for any weight format within `tolerance`: the first step
/// (in one prefill and in two chunks) and the last of the cached decode steps; and at
/// every step where HF's winning margin exceeds twice the tolerance, the same argmax.
/// Returns how many steps had their argmax compared.
pub fn check_logits(
    model: &mut dyn CausalLm,
    exp: &Expected,
    tolerance: f32,
    report: &mut Report,
) -> usize {
    let mut compared = 0;
    for case in &exp.prompts {
        let name = &case.name;
        let steps = teacher_forced_steps(model, case);
        report.logits(
            format!("{name}: first-step logits"),
            &steps[0],
            &case.first_logits,
            tolerance,
        );
        let what = format!(
            "{name}: logits after {} cached decode steps",
            steps.len() - 1
        );
        report.logits(
            what,
            &steps[steps.len() - 1],
            &case.greedy_no_eos_last_logits,
            tolerance,
        );
        for (i, logits) in steps.iter().enumerate() {
            if case.greedy_no_eos_margins[i] > 2.0 * tolerance {
                compared += 1;
                let (got, want) = (argmax(logits), case.greedy_no_eos[i]);
                if got != want {
                    report.failures.push(format!(
                        "{name}: step {i} (teacher-forced) argmax {got}, HF {want}"
                    ));
                }
            }
        }

        model.reset();
        let split = case.ids.len() / 2;
        forward(model, &case.ids[..split], 0);
        let chunked = forward(model, &case.ids[split..], split);
        let what = format!("{name}: first-step logits, prefill in two chunks");
        report.logits(what, &chunked, &case.first_logits, tolerance);
    }
    compared
}

/// Greedy continuations must equal HF's exactly: all steps with EOS off, and with
/// the real EOS ids the same tokens up to the stop (saar leaves the EOS out).
pub fn check_greedy(model: &mut dyn CausalLm, exp: &Expected, report: &mut Report) {
    for case in &exp.prompts {
        let name = &case.name;
        let steps = case.greedy_no_eos.len();
        let (tokens, stop) = run_greedy(model, &case.ids, &greedy(steps, vec![]));
        report.tokens(
            format!("{name}: greedy, EOS off"),
            &tokens,
            &case.greedy_no_eos,
        );
        if stop != StopReason::MaxNewTokens {
            report
                .failures
                .push(format!("{name}: greedy with EOS off stopped with {stop:?}"));
        }

        let (tokens, stop) =
            run_greedy(model, &case.ids, &greedy(steps, exp.eos_token_ids.clone()));
        let (want, want_stop) = if case.greedy_eos_stopped {
            (
                &case.greedy_eos[..case.greedy_eos.len() - 1],
                StopReason::Eos,
            )
        } else {
            (&case.greedy_eos[..], StopReason::MaxNewTokens)
        };
        report.tokens(format!("{name}: greedy, real EOS"), &tokens, want);
        if stop != want_stop {
            report.failures.push(format!(
                "{name}: greedy with real EOS stopped with {stop:?}, HF {want_stop:?}"
            ));
        }
    }
}

/// The full f32 claim: logits within [`F32_TOLERANCE`] at every check and greedy
/// continuations equal to HF's, with and without EOS.
pub fn assert_matches_hf_exactly(model: &mut dyn CausalLm, exp: &Expected, label: &str) {
    let mut report = Report::default();
    check_logits(model, exp, F32_TOLERANCE, &mut report);
    check_greedy(model, exp, &mut report);
    report.assert_ok(label);
}

/// For a quantized model: its free-running greedy tokens of every prompt must follow
/// HF's until they part at a step whose HF margin is within `2 · tolerance` (where a
/// model within `tolerance` may rightly choose the runner-up); parting at any other
/// step fails. Returns how many steps with a decided HF choice matched before that.
pub fn check_decided_greedy(
    model: &mut dyn CausalLm,
    exp: &Expected,
    tolerance: f32,
    report: &mut Report,
) -> usize {
    let mut compared = 0;
    for case in &exp.prompts {
        let want = &case.greedy_no_eos;
        let (tokens, _) = run_greedy(model, &case.ids, &greedy(want.len(), vec![]));
        for (i, (&got, &hf)) in tokens.iter().zip(want).enumerate() {
            let decided = case.greedy_no_eos_margins[i] > 2.0 * tolerance;
            if got != hf {
                if decided {
                    report.failures.push(format!(
                        "{}: free-running step {i} chose {got}, HF {hf} by a margin of {}",
                        case.name, case.greedy_no_eos_margins[i]
                    ));
                }
                break;
            }
            compared += usize::from(decided);
        }
    }
    compared
}
