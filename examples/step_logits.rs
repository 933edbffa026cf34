//! The full logits of a model along a given token path, one f32 vector of the
//! vocabulary per step, for comparing saar's model code with another runtime's on the
//! same file (scripts/realweights/compare_logits.py runs it beside libllama's).
//!
//! ```text
//! cargo run --release --example step_logits -- MODEL OUT.f32 PROMPT_IDS FORCED_IDS STEPS
//! ```
//! `PROMPT_IDS` are comma-separated ids (prefilled in one call); `FORCED_IDS` the ids
//! fed after each step (`-` for none: the greedy choice is fed, as it is past their
//! end). Each step's argmax is printed, comma-separated, on stdout.

#[path = "common/mod.rs"]
#[allow(dead_code)] // shared with the other examples
mod common;

use std::io::Write;

use saar::engine::Placement;

fn ids(list: &str) -> common::AnyResult<Vec<u32>> {
    if list == "-" {
        return Ok(Vec::new());
    }
    Ok(list.split(',').map(str::parse).collect::<Result<_, _>>()?)
}

fn main() -> common::AnyResult<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, out, prompt, forced, steps] = args.as_slice() else {
        return Err("usage: step_logits MODEL OUT.f32 PROMPT_IDS FORCED_IDS STEPS".into());
    };
    let (prompt, forced, steps) = (ids(prompt)?, ids(forced)?, steps.parse::<usize>()?);
    let files = common::model_files(std::slice::from_ref(model), &[])?.remove(0);
    let placement = Placement {
        device: candle_core::Device::Cpu,
        dtype: None,
    };
    let mut lm = saar::engine::llm::load(&files, &placement)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut chosen = Vec::new();
    let (mut input, mut pos) = (prompt.clone(), 0);
    for step in 0..steps {
        let logits: Vec<f32> = lm.forward(&input, pos)?.to_vec1()?;
        for value in &logits {
            out.write_all(&value.to_le_bytes())?;
        }
        let best = (0..logits.len()).fold(0, |b, i| if logits[i] > logits[b] { i } else { b });
        chosen.push(best.to_string());
        pos += input.len();
        input = vec![forced.get(step).copied().unwrap_or(best as u32)];
    }
    out.flush()?;
    println!("{}", chosen.join(","));
    Ok(())
}
