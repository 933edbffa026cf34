//! Scratch check against HF transformers fixtures (tests/fixtures/parity/<family>/):
//! first-step logits within 1e-4 and identical greedy continuations.

use super::*;
use crate::engine::{generate, GenerationSettings, StopReason};

fn fixtures_root() -> Option<PathBuf> {
    let root = std::env::var_os("SAAR_PARITY_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity"));
    root.is_dir().then_some(root)
}

fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn greedy(max_new_tokens: usize, eos_token_ids: Vec<u32>) -> GenerationSettings {
    GenerationSettings {
        max_new_tokens,
        temperature: 0.0,
        top_k: None,
        top_p: None,
        seed: 0,
        repeat_penalty: 1.0,
        repeat_last_n: 0,
        eos_token_ids,
    }
}

fn check_family(dir: &Path, weights_dir: &Path) -> Result<(), String> {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(weights_dir.join("expected.json")).unwrap())
            .unwrap();
    let weights = if dir.join("model.safetensors").exists() {
        Weights::Safetensors(vec![dir.join("model.safetensors")])
    } else {
        Weights::PytorchBin(dir.join("pytorch_model.bin"))
    };
    let mut files = model_files(weights_dir, weights);
    files.name = dir.display().to_string();
    let mut model = load_cpu(&files).map_err(|e| e.to_string())?;
    let eos = ids_of(&expected["eos_token_ids"]);
    for prompt in expected["prompts"].as_array().unwrap() {
        let name = prompt["name"].as_str().unwrap();
        let ids = ids_of(&prompt["ids"]);
        let got = logits(model.as_mut(), &ids, 0);
        let diff = max_abs_diff(&got, &floats(&prompt["first_logits"]));
        if diff > 1e-4 {
            return Err(format!("{name}: first logits differ by {diff}"));
        }
        let want = ids_of(&prompt["greedy_no_eos"]);
        let run = generate(
            model.as_mut(),
            &ids,
            &greedy(want.len(), vec![]),
            &mut |_| true,
        )
        .map_err(|e| e.to_string())?;
        if run.tokens != want {
            return Err(format!("{name}: greedy {:?} != HF {:?}", run.tokens, want));
        }
        let mut with_eos = ids_of(&prompt["greedy_eos"]);
        let run = generate(
            model.as_mut(),
            &ids,
            &greedy(want.len(), eos.clone()),
            &mut |_| true,
        )
        .map_err(|e| e.to_string())?;
        let stopped = prompt["greedy_eos_stopped"].as_bool().unwrap();
        if stopped {
            with_eos.pop();
        }
        if run.tokens != with_eos || (run.stop == StopReason::Eos) != stopped {
            return Err(format!(
                "{name}: greedy with EOS {:?} ({:?}) != HF {with_eos:?}",
                run.tokens, run.stop
            ));
        }
    }
    Ok(())
}

#[test]
fn hf_parity_fixtures() {
    let Some(root) = fixtures_root() else {
        eprintln!("no parity fixtures");
        return;
    };
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let family = dir.file_name().unwrap().to_string_lossy().to_string();
        let weights_dir = if dir.join("expected.json").exists() {
            dir.clone()
        } else {
            root.join(family.split('-').next().unwrap())
        };
        if !weights_dir.join("expected.json").exists() {
            continue;
        }
        match check_family(&dir, &weights_dir) {
            Ok(()) => eprintln!("parity {family}: pass"),
            Err(e) => failures.push(format!("{family}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
