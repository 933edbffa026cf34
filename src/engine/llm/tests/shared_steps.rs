//! A decoding sequence's logits do not depend on what shares its step. With
//! [`PrefillPolicy::Shared`](crate::engine::batch::PrefillPolicy) a joining sequence's
//! prompt chunk runs in the same forward as the others' decode rows: a step of 41 rows,
//! which takes the quantized kernels' prefill tiles where a lone decode step takes
//! their one-row path. Every logit must come out bit for bit as it does alone, so
//! greedy and sampled outputs cannot drift with how requests happen to meet.

use super::*;
use crate::engine::batch::{BatchedLm, Segment, SequenceCache};
use crate::synth::{Arch, GgufQuant, Shape};

/// Runs one step of `(cache, ids)` segments, every one wanting logits; each segment's
/// logits as bits.
fn step(lm: &mut dyn BatchedLm, parts: &mut [(&mut SequenceCache, &[u32])]) -> Vec<Vec<u32>> {
    let mut segments: Vec<Segment<'_>> = parts
        .iter_mut()
        .map(|(cache, ids)| Segment {
            cache,
            ids,
            wants_logits: true,
        })
        .collect();
    let logits = lm.forward_batch(&mut segments).unwrap().unwrap();
    let rows = logits.to_vec2::<f32>().unwrap();
    rows.iter()
        .map(|row| row.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// Asserts two steps' logits are the same bits, naming how many differ where not.
fn assert_same(got: &[u32], want: &[u32], what: &str) {
    let differing = got.iter().zip(want).filter(|(a, b)| a != b).count();
    assert!(
        got.len() == want.len() && differing == 0,
        "{what}: {differing} of {} logits differ from the sequence alone",
        want.len()
    );
}

#[test]
fn decode_logits_are_the_same_with_a_prompt_in_the_step() {
    let first: Vec<u32> = (0..5).map(|t| t * 7 + 3).collect();
    let joining: Vec<u32> = (0..40).map(|t| (t * 13 + 1) % 100).collect();
    let (next, joining_next) = ([17u32, 19, 23], [29u32, 31]);
    // Rows of ten 32-element blocks (Q4_K_M's fall back to Q5_0/Q8_0), and 256-wide
    // rows that take real K-quants.
    let wide = wide_small_blocks;
    let files = [
        (wide(Arch::Qwen2), GgufQuant::Q8_0),
        (wide(Arch::Qwen2), GgufQuant::Q4KM),
        (wide(Arch::Llama), GgufQuant::IQ4NL),
        (Shape::tiny_kquant(Arch::Qwen3), GgufQuant::Q4KM),
    ];
    for (shape, quant) in files {
        let (_dir, files) = gguf_model(&shape, quant, 5);
        let mut model = load_cpu(&files).unwrap();
        let lm = model.batched().unwrap();
        let label = format!("{:?} {}", shape.arch, quant.name());

        // Each sequence alone: its prompt, then one token per step.
        let alone = |lm: &mut dyn BatchedLm, prompt: &[u32], tokens: &[u32]| {
            let mut cache = lm.new_sequence();
            let mut out = step(lm, &mut [(&mut cache, prompt)]);
            for t in tokens {
                out.extend(step(lm, &mut [(&mut cache, std::slice::from_ref(t))]));
            }
            out
        };
        let first_alone = alone(lm, &first, &next);
        let joining_alone = alone(lm, &joining, &joining_next);

        // Together: the joining prompt shares the first sequence's second step.
        let (mut a, mut b) = (lm.new_sequence(), lm.new_sequence());
        let got = step(lm, &mut [(&mut a, &first)]);
        assert_same(
            &got[0],
            &first_alone[0],
            &format!("{label}: the first prompt"),
        );
        let got = step(lm, &mut [(&mut a, &next[..1]), (&mut b, &joining)]);
        assert_same(
            &got[0],
            &first_alone[1],
            &format!("{label}: a decode row beside a prompt"),
        );
        assert_same(
            &got[1],
            &joining_alone[0],
            &format!("{label}: a prompt beside a decode row"),
        );
        for i in 1..next.len() {
            let got = step(
                lm,
                &mut [(&mut a, &next[i..i + 1]), (&mut b, &joining_next[i - 1..i])],
            );
            assert_same(
                &got[0],
                &first_alone[i + 1],
                &format!("{label}: decode step {i}"),
            );
            assert_same(
                &got[1],
                &joining_alone[i],
                &format!("{label}: the joined one's step {i}"),
            );
        }
    }
}
