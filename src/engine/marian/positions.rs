//! Sinusoidal position vectors as each model family computes and numbers them:
//! Marian's table indexed from 0, and fairseq's (IndicTrans2), whose positions start
//! past the padding id and skip padding tokens, so a token's vector does not depend
//! on how much padding its row carries.

use candle_core::{DType, Device, Tensor};

use super::layout::Positions;

/// A position table and the rule that picks its rows.
#[derive(Debug, Clone)]
pub struct PositionTable {
    table: Tensor,
    kind: Positions,
}

impl PositionTable {
    /// A table for sequences of up to `max_positions` tokens.
    pub fn new(
        kind: Positions,
        max_positions: usize,
        dim: usize,
        dtype: DType,
        device: &Device,
    ) -> candle_core::Result<Self> {
        let table = match kind {
            Positions::Marian => sinusoidal_positions(max_positions, dim, dtype, device)?,
            Positions::Fairseq { padding_idx } => {
                let rows = max_positions + padding_idx as usize + 2;
                fairseq_positions(rows, dim, padding_idx, dtype, device)?
            }
        };
        Ok(PositionTable { table, kind })
    }

    /// Position vectors `(rows, len, dim)` for `ids` `(rows, len)`, whose first token
    /// sits after `past` positions already run.
    pub fn lookup(&self, ids: &Tensor, past: usize) -> candle_core::Result<Tensor> {
        let (rows, len) = ids.dims2()?;
        match self.kind {
            Positions::Marian => self.table.narrow(0, past, len)?.unsqueeze(0),
            Positions::Fairseq { padding_idx } => {
                let ids = ids.to_vec2::<u32>()?;
                let numbers: Vec<u32> = ids
                    .iter()
                    .flat_map(|row| fairseq_numbers(row, past, padding_idx))
                    .collect();
                let numbers = Tensor::from_vec(numbers, rows * len, self.table.device())?;
                let dim = self.table.dims()[1];
                self.table
                    .index_select(&numbers, 0)?
                    .reshape((rows, len, dim))
            }
        }
    }
}

/// fairseq's `make_positions` as HF's IndicTrans2 runs it with a cache: the `k`-th
/// non-padding token of this call is at `padding_idx + past + k`; padding stays at
/// `padding_idx`, the zero row.
fn fairseq_numbers(ids: &[u32], past: usize, padding_idx: u32) -> Vec<u32> {
    let mut count = 0;
    ids.iter()
        .map(|&id| {
            if id == padding_idx {
                padding_idx
            } else {
                count += 1;
                padding_idx + (past + count) as u32
            }
        })
        .collect()
}

/// HF's `MarianSinusoidalPositionalEmbedding`: sines in the first half of each
/// vector, cosines in the second (not interleaved), computed in f64 like numpy.
pub fn sinusoidal_positions(
    positions: usize,
    dim: usize,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let sines = dim.div_ceil(2);
    let mut table = vec![0f32; positions * dim];
    for pos in 0..positions {
        let row = &mut table[pos * dim..(pos + 1) * dim];
        for j in 0..dim {
            let angle = pos as f64 / 10000f64.powf((2 * (j / 2)) as f64 / dim as f64);
            if j % 2 == 0 {
                row[j / 2] = angle.sin() as f32;
            } else {
                row[sines + j / 2] = angle.cos() as f32;
            }
        }
    }
    Tensor::from_vec(table, (positions, dim), device)?.to_dtype(dtype)
}

/// fairseq's `get_embedding`: frequencies `exp(-i · ln(10000) / (half - 1))`, sines
/// then cosines, a zero column for odd sizes, the padding row zero; in f32 as torch
/// computes it, so the vectors match the reference's to the last bits that matter.
pub fn fairseq_positions(
    rows: usize,
    dim: usize,
    padding_idx: u32,
    dtype: DType,
    device: &Device,
) -> candle_core::Result<Tensor> {
    let half = dim / 2;
    let step = -((10000f64.ln() / (half as f64 - 1.0)) as f32);
    let frequencies: Vec<f32> = (0..half).map(|i| (i as f32 * step).exp()).collect();
    let mut table = vec![0f32; rows * dim];
    for (pos, row) in table.chunks_mut(dim).enumerate() {
        if pos == padding_idx as usize {
            continue;
        }
        for (i, frequency) in frequencies.iter().enumerate() {
            let angle = pos as f32 * frequency;
            row[i] = angle.sin();
            row[half + i] = angle.cos();
        }
    }
    Tensor::from_vec(table, (rows, dim), device)?.to_dtype(dtype)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_put_sines_first_and_cosines_second() {
        let table = sinusoidal_positions(3, 4, DType::F32, &Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(table[0], vec![0.0, 0.0, 1.0, 1.0]);
        let expected = [
            1f64.sin(),
            (1.0 / 100f64).sin(),
            1f64.cos(),
            (1.0 / 100f64).cos(),
        ];
        for (got, want) in table[1].iter().zip(expected) {
            assert!((f64::from(*got) - want).abs() < 1e-7, "{got} vs {want}");
        }
    }

    #[test]
    fn fairseq_positions_skip_padding_and_start_past_it() {
        assert_eq!(fairseq_numbers(&[5, 6, 7], 0, 1), vec![2, 3, 4]);
        assert_eq!(fairseq_numbers(&[1, 1, 5, 6], 0, 1), vec![1, 1, 2, 3]);
        assert_eq!(fairseq_numbers(&[9], 4, 1), vec![6]);
        assert_eq!(fairseq_numbers(&[1], 4, 1), vec![1]);
    }

    #[test]
    fn fairseq_table_has_a_zero_padding_row_and_sines_first() {
        let table = fairseq_positions(4, 6, 1, DType::F32, &Device::Cpu)
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        assert_eq!(table[1], vec![0.0; 6]);
        assert_eq!(table[0], vec![0.0, 0.0, 0.0, 1.0, 1.0, 1.0]);
        // half = 3: frequencies 1, 10000^-0.5, 10000^-1.
        let expected = [2f64.sin(), 0.02f64.sin(), 0.0002f64.sin(), 2f64.cos()];
        for (got, want) in table[2].iter().zip(expected) {
            assert!((f64::from(*got) - want).abs() < 1e-6, "{got} vs {want}");
        }
    }
}
