//! GGUF block-quantized weights times f32 activations: saar's own CPU kernels for the
//! quantized matrix products (llama.cpp's approach: activations quantized to 8 bits once
//! per product, integer dot products per block, several activation rows per weight
//! block). The weights' raw ggml blocks are read from the file at load time and owned
//! here. The block types and their GGUF ids are one table, [`QuantKind`].
//!
//! - [`blocks`]: the weight block layouts and the scalar reference per type;
//!   [`blocks_low_k`] for Q2_K and Q3_K, [`blocks_iq4`] for IQ4_NL and IQ4_XS (with
//!   their quantizers: candle has none).
//! - [`activations`]: the Q8_0-style and Q8_K activation blocks and their quantizer.
//! - `avx2_small`, `avx2_kquants`, `avx2_low_k`, `avx2_iq4`: the AVX2 dot products
//!   (x86_64 only, chosen at run time);
//!   `avx512_kquants`: Q4_K, Q5_K and Q6_K on AVX-512 BW + VNNI where the CPU has them;
//!   `avx512_small`: Q4_0, Q5_0 and Q8_0 prefill tiles on AVX-512, two weight rows at once;
//!   `avx2_lanes`: the 32-element types on AVX2 with eight weight rows' outputs in
//!   lanes, read in place (small row counts), or `avx2_octets`: interleaved per
//!   register first (prefill); both give a row the same bits at any row count;
//!   `avx2_k_octets`: the same interleaving for Q4_K, Q5_K and Q6_K prefill, with the
//!   row kernels' bits; `avx2_resident`: the 32-element types' matrices held interleaved
//!   from load on AVX2 machines, so every product takes the interleaved kernel (same
//!   bits); `avx2_k_resident`: the same for Q4_K, Q5_K and Q6_K.
//! - [`matmul`]: tiling and threading.
//! - [`candle_op`]: the bridge to candle tensors (linear layers, embeddings).

pub mod activations;
#[cfg(target_arch = "x86_64")]
mod avx2_iq4;
#[cfg(target_arch = "x86_64")]
mod avx2_k_octets;
#[cfg(target_arch = "x86_64")]
mod avx2_k_resident;
#[cfg(target_arch = "x86_64")]
mod avx2_k_totals;
#[cfg(target_arch = "x86_64")]
mod avx2_kquants;
#[cfg(target_arch = "x86_64")]
mod avx2_lanes;
#[cfg(target_arch = "x86_64")]
mod avx2_low_k;
#[cfg(target_arch = "x86_64")]
mod avx2_octets;
#[cfg(target_arch = "x86_64")]
mod avx2_resident;
#[cfg(target_arch = "x86_64")]
mod avx2_small;
#[cfg(target_arch = "x86_64")]
mod avx512_kquants;
#[cfg(target_arch = "x86_64")]
mod avx512_small;
pub mod blocks;
pub mod blocks_iq4;
pub mod blocks_low_k;
pub mod candle_op;
pub mod matmul;
#[cfg(test)]
mod row_tests;
#[cfg(test)]
mod tests;

use candle_core::quantized::{GgmlDType, QTensor};

use super::cpu::Features;
use blocks::{
    BlockQ4K, BlockQ4_0, BlockQ4_1, BlockQ5K, BlockQ5_0, BlockQ5_1, BlockQ6K, BlockQ8_0,
    WeightBlock,
};
use blocks_iq4::{BlockIQ4NL, BlockIQ4XS};
use blocks_low_k::{BlockQ2K, BlockQ3K};

#[derive(Debug, thiserror::Error)]
pub enum QuantError {
    #[error("quantized weights: {0}")]
    Shape(String),
    #[error("quantized weights: cannot read the tensor's blocks: {0}")]
    Data(String),
}

/// Declares [`QuantKind`] from one table, a row per block type: its name, its block
/// struct (which fixes its size and its kernels) and its GGUF type id, and the
/// dispatch from a kind to code generic over its block type.
macro_rules! quant_kinds {
    // `$d` is a literal `$` for the inner macro's own variables.
    ($d:tt $($kind:ident = $block:ty, $id:literal, $candle:expr;)*) => {
        /// The GGUF block types these kernels run.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum QuantKind {
            $($kind,)*
        }

        impl QuantKind {
            pub const ALL: &[QuantKind] = &[$(QuantKind::$kind,)*];

            /// The kind for a GGUF tensor type id (ggml's `ggml_type`), or `None`
            /// for types these kernels leave to others (F16, BF16, F32) or cannot run.
            pub fn from_gguf_type(id: u32) -> Option<Self> {
                match id {
                    $($id => Some(Self::$kind),)*
                    _ => None,
                }
            }

            /// ggml's `ggml_type` id.
            pub const fn gguf_type(self) -> u32 {
                match self {
                    $(Self::$kind => $id,)*
                }
            }

            /// The type as candle knows it, where candle has it.
            pub fn candle(self) -> Option<GgmlDType> {
                match self {
                    $(Self::$kind => $candle,)*
                }
            }

            /// Elements per block.
            pub fn block_size(self) -> usize {
                match self {
                    $(Self::$kind => <$block as WeightBlock>::SIZE,)*
                }
            }

            /// Bytes per block.
            pub fn block_bytes(self) -> usize {
                match self {
                    $(Self::$kind => std::mem::size_of::<$block>(),)*
                }
            }
        }

        /// Runs `body` with `B` the block type of a kind.
        macro_rules! with_block {
            ($d which:expr, $d B:ident => $d body:expr) => {
                match $d which {
                    $(QuantKind::$kind => {
                        type $d B = $block;
                        $d body
                    })*
                }
            };
        }
    };
}

quant_kinds! {
    $
    Q4_0 = BlockQ4_0, 2, Some(GgmlDType::Q4_0);
    Q4_1 = BlockQ4_1, 3, Some(GgmlDType::Q4_1);
    Q5_0 = BlockQ5_0, 6, Some(GgmlDType::Q5_0);
    Q5_1 = BlockQ5_1, 7, Some(GgmlDType::Q5_1);
    Q8_0 = BlockQ8_0, 8, Some(GgmlDType::Q8_0);
    Q2K = BlockQ2K, 10, Some(GgmlDType::Q2K);
    Q3K = BlockQ3K, 11, Some(GgmlDType::Q3K);
    Q4K = BlockQ4K, 12, Some(GgmlDType::Q4K);
    Q5K = BlockQ5K, 13, Some(GgmlDType::Q5K);
    Q6K = BlockQ6K, 14, Some(GgmlDType::Q6K);
    IQ4NL = BlockIQ4NL, 20, None;
    IQ4XS = BlockIQ4XS, 23, None;
}

impl QuantKind {
    /// The kind for a candle dtype, or `None` for types left to candle (F16…).
    pub fn from_ggml(dtype: GgmlDType) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.candle() == Some(dtype))
    }
}

/// Which dot products run: the fastest the CPU has (AVX-512 for the types that have
/// such a kernel, else AVX2), AVX2 even where AVX-512 is there, or the scalar reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simd {
    Auto,
    Avx2,
    Scalar,
}

impl Simd {
    fn isa(self) -> matmul::Isa {
        let f = Features::detect();
        match self {
            Simd::Auto if f.avx512_vnni() => matmul::Isa::Avx512,
            Simd::Auto | Simd::Avx2 if f.avx2_fma() && f.f16c => matmul::Isa::Avx2,
            _ => matmul::Isa::Scalar,
        }
    }
}

/// A quantized weight matrix `W` of `rows × cols` (`out × in`), as ggml blocks row by
/// row, or on AVX2 machines (every type but Q2_K, Q3_K and IQ4_XS) interleaved eight
/// rows at a time (`avx2_resident`, `avx2_k_resident`), in the same bytes.
pub struct QuantMatrix {
    kind: QuantKind,
    rows: usize,
    cols: usize,
    data: Vec<u8>,
    interleaved: bool,
}

impl std::fmt::Debug for QuantMatrix {
    // Not derived: the blocks are megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantMatrix")
            .field("kind", &self.kind)
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish_non_exhaustive()
    }
}

/// Views `data` as blocks of `W` (alignment 1, so any byte slice of the right length is valid).
fn as_blocks<W: WeightBlock>(data: &[u8]) -> &[W] {
    let count = data.len() / std::mem::size_of::<W>();
    // SAFETY: W is repr(C) of byte arrays only (alignment 1, every bit pattern valid)
    // and `count` blocks fit inside `data`.
    unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<W>(), count) }
}

impl QuantMatrix {
    /// Takes raw ggml blocks: `rows` rows of `cols / block_size` blocks each (held
    /// interleaved from here on where `avx2_resident` or `avx2_k_resident` has the type
    /// and the CPU's kernels are AVX2's).
    pub fn from_raw(
        kind: QuantKind,
        rows: usize,
        cols: usize,
        data: Vec<u8>,
    ) -> Result<Self, QuantError> {
        if cols == 0 || cols % kind.block_size() != 0 {
            return Err(QuantError::Shape(format!(
                "{kind:?} rows of {cols} values are not whole blocks of {}",
                kind.block_size()
            )));
        }
        let expected = rows * cols / kind.block_size() * kind.block_bytes();
        if data.len() != expected {
            return Err(QuantError::Shape(format!(
                "{kind:?} {rows}×{cols} needs {expected} bytes, got {}",
                data.len()
            )));
        }
        let mut matrix = Self {
            kind,
            rows,
            cols,
            data,
            interleaved: false,
        };
        if Simd::Auto.isa() == matmul::Isa::Avx2 {
            matrix.interleaved = matrix.interleave();
        }
        Ok(matrix)
    }

    /// Interleaves the rows where the kernel table gives the type a resident layout.
    fn interleave(&mut self) -> bool {
        let per_row = self.cols / self.kind.block_size();
        with_block!(self.kind, B => <B as matmul::Kernel>::interleave_avx2(&mut self.data, per_row))
    }

    /// Row `row`'s bytes in ggml's layout.
    fn row_bytes(&self, row: usize) -> std::borrow::Cow<'_, [u8]> {
        let per_row = self.cols / self.kind.block_size();
        if self.interleaved {
            let data = &self.data;
            return with_block!(self.kind, B => std::borrow::Cow::Owned(
                <B as matmul::Kernel>::ggml_row(data, per_row, row)
            ));
        }
        let row_bytes = per_row * self.kind.block_bytes();
        std::borrow::Cow::Borrowed(&self.data[row * row_bytes..(row + 1) * row_bytes])
    }

    /// Copies a 2-D CPU `QTensor`'s blocks, or `None` when its type or device is not
    /// one these kernels run (the caller keeps candle's path then).
    pub fn from_qtensor(tensor: &QTensor) -> Result<Option<Self>, QuantError> {
        let Some(kind) = QuantKind::from_ggml(tensor.dtype()) else {
            return Ok(None);
        };
        if !tensor.device().is_cpu() {
            return Ok(None);
        }
        let (rows, cols) = match tensor.shape().dims() {
            &[rows, cols] => (rows, cols),
            _ => return Ok(None),
        };
        let data = tensor.data().map_err(|e| QuantError::Data(e.to_string()))?;
        Self::from_raw(kind, rows, cols, data.into_owned()).map(Some)
    }

    pub fn kind(&self) -> QuantKind {
        self.kind
    }

    /// Output features (`W`'s rows).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Input features (`W`'s columns).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Bytes of weights held.
    pub fn size_in_bytes(&self) -> usize {
        self.data.len()
    }

    /// `y (m × rows) = x (m × cols) @ W^T`, with `x` and `y` row-major.
    pub fn matmul(&self, x: &[f32], m: usize, y: &mut [f32]) -> Result<(), QuantError> {
        self.matmul_with(x, m, y, Simd::Auto)
    }

    /// [`matmul`](Self::matmul) with the dot products chosen by `simd`.
    pub fn matmul_with(
        &self,
        x: &[f32],
        m: usize,
        y: &mut [f32],
        simd: Simd,
    ) -> Result<(), QuantError> {
        if x.len() != m * self.cols || y.len() != m * self.rows {
            return Err(QuantError::Shape(format!(
                "a {}×{} product got {} inputs and {} outputs for {m} rows",
                self.rows,
                self.cols,
                x.len(),
                y.len()
            )));
        }
        let (n, k, isa) = (self.rows, self.cols, simd.isa());
        if self.interleaved && isa != matmul::Isa::Avx2 {
            // Another instruction set asked for (tests, forced kernels): ggml's layout.
            let data: Vec<u8> = (0..n)
                .flat_map(|row| self.row_bytes(row).into_owned())
                .collect();
            with_block!(self.kind, B => matmul::matmul::<B>(as_blocks(&data), (n, k), x, m, y, (isa, false)));
            return Ok(());
        }
        let data = &self.data;
        let layout = (isa, self.interleaved);
        with_block!(self.kind, B => matmul::matmul::<B>(as_blocks(data), (n, k), x, m, y, layout));
        Ok(())
    }

    /// Dequantizes row `row` (one embedding) into `out` (`cols` values).
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) -> Result<(), QuantError> {
        if row >= self.rows || out.len() != self.cols {
            return Err(QuantError::Shape(format!(
                "row {row} of {} rows into {} values (expected {})",
                self.rows,
                out.len(),
                self.cols
            )));
        }
        let bytes = self.row_bytes(row);
        with_block!(self.kind, B => dequantize::<B>(&bytes, out));
        Ok(())
    }
}

fn dequantize<W: WeightBlock>(bytes: &[u8], out: &mut [f32]) {
    for (block, values) in as_blocks::<W>(bytes)
        .iter()
        .zip(out.chunks_exact_mut(W::SIZE))
    {
        block.dequantize(values);
    }
}
