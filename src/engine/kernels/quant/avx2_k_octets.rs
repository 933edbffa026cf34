//! Prefill of the K-quants (Q4_K, Q5_K, Q6_K) on AVX2 with eight weight rows
//! interleaved per register, as `avx2_octets` does for the 32-element types.
//!
//! With one row's values along a register (`avx2_kquants`), every 32 values of every
//! output take a `maddubs` and then a `madd` that applies the sub-block's scale, and
//! Zen 1 issues both on one pipe. With eight rows' values across the lanes, a
//! sub-block's `maddubs` results stay in 16 bits until its scale is applied, so one
//! `madd` serves eight (Q4_K), four (Q5_K) or two (Q6_K) `maddubs`: as many as a 16-bit
//! lane holds without overflow, with activations within ±127.
//!
//! Per output and super-block the integer totals are exact and the float steps are
//! `avx2_k_totals::Finish`'s, so every value equals the row kernels' (and the scalar
//! reference's) bit for bit: the row count that picks this kernel changes no value.
//!
//! The weights are unpacked and interleaved per task into a per-thread buffer that
//! every activation tile reuses. Matrices held interleaved from load
//! (`avx2_k_resident`) take [`group_dots`] at every row count, through [`KGroup`].

use std::arch::x86_64::*;
use std::cell::RefCell;
use std::ops::Range;

use super::activations::Q8K;
use super::avx2_k_totals::{self, SuperBlock};
use super::avx2_kquants::{k4_chunk, q6k_half, K4Block};
use super::avx2_octets::{each_tile, quad, widen, with_buffer, WIDEST_TILE};
use super::blocks::{f16_to_f32, scale_min_k4, BlockQ4K, BlockQ5K, BlockQ6K, WeightBlock, QK_K};
use super::matmul::OCTET_ROWS as GROUP;

/// Registers of four values per row in a super-block.
const WORDS: usize = QK_K / 4;

/// A super-block as this kernel takes it, unpacked from one weight row.
pub(super) struct Unpacked {
    /// Unsigned, in element order.
    values: [u8; QK_K],
    /// Sub-block `s`'s scale (the first [`KPack::SUB`]).
    scales: [i16; 16],
    /// The coefficients of the activations' sums `bsums[2p]`, `bsums[2p + 1]`.
    offsets: [[i16; 2]; 8],
    d: f32,
    dmin: f32,
}

/// A K-quant block type as the interleaved kernel takes it.
pub(super) trait KPack: WeightBlock<Act = Q8K> + SuperBlock {
    /// Sub-blocks (each with a scale of its own) per super-block.
    const SUB: usize;
    /// The largest value.
    const MAX: i32;
    /// Registers whose `maddubs` results one 16-bit lane sums: `2 · RUN` products.
    const RUN: usize = {
        let run = 32767 / (2 * Self::MAX * 127);
        let per_sub = (WORDS / Self::SUB) as i32;
        // The largest divisor of a sub-block's registers that does not overflow.
        let mut r = if run < per_sub { run } else { per_sub };
        while per_sub % r != 0 {
            r -= 1;
        }
        r as usize
    };

    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn unpack(&self) -> Unpacked;
}

/// What Q4_K and Q5_K share: 8 sub-blocks, a scale and a min each.
#[target_feature(enable = "avx2,fma,f16c")]
fn unpack_k4<B: K4Block>(b: &B, d: [u8; 2], dmin: [u8; 2]) -> Unpacked {
    let mut values = [0u8; QK_K];
    for c in 0..4 {
        let (lo, hi) = k4_chunk(b, c);
        // SAFETY: 64c + 64 <= 256, so both 32-byte stores stay in `values`.
        unsafe {
            _mm256_storeu_si256(values.as_mut_ptr().add(64 * c).cast(), lo);
            _mm256_storeu_si256(values.as_mut_ptr().add(64 * c + 32).cast(), hi);
        }
    }
    let (mut scales, mut offsets) = ([0i16; 16], [[0i16; 2]; 8]);
    for j in 0..8 {
        let (scale, min) = scale_min_k4(j, b.scales());
        scales[j] = scale.into();
        // A sub-block's min multiplies both of its halves' sums.
        offsets[j] = [min.into(); 2];
    }
    Unpacked {
        values,
        scales,
        offsets,
        d: f16_to_f32(d),
        dmin: f16_to_f32(dmin),
    }
}

macro_rules! k4_pack {
    ($($block:ty: $max:literal),*) => {$(
        impl KPack for $block {
            const SUB: usize = 8;
            const MAX: i32 = $max;
            #[target_feature(enable = "avx2,fma,f16c")]
            unsafe fn unpack(&self) -> Unpacked {
                unpack_k4(self, self.d, self.dmin)
            }
        }
    )*};
}
k4_pack!(BlockQ4K: 15, BlockQ5K: 31);

impl KPack for BlockQ6K {
    const SUB: usize = 16;
    const MAX: i32 = 63;
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn unpack(&self) -> Unpacked {
        let mut values = [0u8; QK_K];
        for h in 0..2 {
            for (t, q) in q6k_half(self, h).into_iter().enumerate() {
                // SAFETY: 128h + 32t + 32 <= 256: the store stays in `values`.
                unsafe { _mm256_storeu_si256(values.as_mut_ptr().add(128 * h + 32 * t).cast(), q) };
            }
        }
        let scales = self.scales.map(i16::from);
        // The −32 offset: each group's scale times its sum (`Finish` multiplies by 32).
        let offsets = std::array::from_fn(|p| [scales[2 * p], scales[2 * p + 1]]);
        Unpacked {
            values,
            scales,
            offsets,
            d: f16_to_f32(self.d),
            dmin: 0.0,
        }
    }
}

/// Super-block `i` of eight weight rows: elements `4k..4k + 4` of row `j` in 32-bit
/// lane `j` of `qs[k]`; row `j`'s scale of sub-block `s` and its offset coefficients
/// in 16-bit lanes `2j`, `2j + 1` of `scales[s]` and `offsets[p]`.
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(super) struct Interleaved {
    qs: [[u32; GROUP]; WORDS],
    scales: [[i16; 2 * GROUP]; 16],
    offsets: [[i16; 2 * GROUP]; 8],
    d: [f32; GROUP],
    dmin: [f32; GROUP],
}

/// Bytes per weight row and super-block once interleaved, for sizing the tasks.
pub(super) const BLOCK_BYTES: usize = std::mem::size_of::<Interleaved>() / GROUP;

thread_local! {
    static PACKED: RefCell<Vec<Interleaved>> = const { RefCell::new(Vec::new()) };
}

/// Interleaves `rows` (a whole number of groups) of `w`, `per_row` super-blocks each.
#[target_feature(enable = "avx2,fma,f16c")]
fn pack<B: KPack>(w: &[B], per_row: usize, rows: Range<usize>, out: &mut Vec<Interleaved>) {
    debug_assert_eq!(rows.len() % GROUP, 0);
    out.clear();
    for first in rows.step_by(GROUP) {
        for i in 0..per_row {
            let mut packed = Interleaved::EMPTY;
            for j in 0..GROUP {
                // SAFETY: the caller checked the CPU features.
                let row = unsafe { w[(first + j) * per_row + i].unpack() };
                for (k, quad) in row.values.chunks_exact(4).enumerate() {
                    packed.qs[k][j] = u32::from_le_bytes([quad[0], quad[1], quad[2], quad[3]]);
                }
                for s in 0..B::SUB {
                    packed.scales[s][2 * j..2 * j + 2].fill(row.scales[s]);
                }
                for (p, pair) in row.offsets.iter().enumerate() {
                    packed.offsets[p][2 * j..2 * j + 2].copy_from_slice(pair);
                }
                packed.d[j] = row.d;
                packed.dmin[j] = row.dmin;
            }
            out.push(packed);
        }
    }
}

/// Super-block `i` of eight interleaved weight rows as [`group_dots`] reads it:
/// [`Interleaved`] here, or a matrix's own interleaved blocks (`avx2_k_resident`).
pub(super) trait KGroup {
    /// What [`scale`](Self::scale) and [`offset`](Self::offset) read, decoded once per
    /// super-block.
    type Scales;

    /// Register `k = 8Q + w`: elements `4k..4k + 4` of row `j`, unsigned, in 32-bit lane
    /// `j`. `Q` is a constant so that decoding does not branch: the kernel's loop over
    /// registers is too long for LLVM to unroll, and a jump table per register made a
    /// Q6_K product 1.7× slower than the row kernel.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn values<const Q: usize>(&self, w: usize) -> __m256i;

    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn scales(&self) -> Self::Scales;

    /// Row `j`'s scale of sub-block `s` in 16-bit lanes `2j` and `2j + 1`.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn scale(&self, scales: &Self::Scales, s: usize) -> __m256i;

    /// Row `j`'s coefficients of the activations' sums `bsums[2p]`, `bsums[2p + 1]` in
    /// 16-bit lanes `2j`, `2j + 1`.
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn offset(&self, scales: &Self::Scales, p: usize) -> __m256i;

    /// The eight rows' `d` and `dmin` (zero where the type has none).
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    unsafe fn weights(&self) -> (__m256, __m256);
}

impl KGroup for Interleaved {
    type Scales = ();

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn values<const Q: usize>(&self, w: usize) -> __m256i {
        // SAFETY: `qs[8Q + w]` is 32 bytes, 32-byte aligned with the struct.
        unsafe { _mm256_load_si256(self.qs[GROUP * Q + w].as_ptr().cast()) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scales(&self) {}

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn scale(&self, _: &(), s: usize) -> __m256i {
        // SAFETY: `scales[s]` is 32 bytes, 32-byte aligned with the struct.
        unsafe { _mm256_load_si256(self.scales[s].as_ptr().cast()) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn offset(&self, _: &(), p: usize) -> __m256i {
        // SAFETY: `offsets[p]` is 32 bytes, 32-byte aligned with the struct.
        unsafe { _mm256_load_si256(self.offsets[p].as_ptr().cast()) }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn weights(&self) -> (__m256, __m256) {
        // SAFETY: `d` and `dmin` are 8 f32s, 32-byte aligned with the struct.
        unsafe {
            (
                _mm256_load_ps(self.d.as_ptr()),
                _mm256_load_ps(self.dmin.as_ptr()),
            )
        }
    }
}

impl Interleaved {
    /// All zeros, for filling in.
    const EMPTY: Self = Interleaved {
        qs: [[0; GROUP]; WORDS],
        scales: [[0; 2 * GROUP]; 16],
        offsets: [[0; 2 * GROUP]; 8],
        d: [0.0; GROUP],
        dmin: [0.0; GROUP],
    };

    /// Super-block `i` of eight rows read from another interleaved layout
    /// (`avx2_k_resident`).
    ///
    /// # Safety
    /// The CPU must have AVX2, FMA and F16C.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(super) unsafe fn from_group<B: KPack, G: KGroup>(group: &G) -> Self {
        let mut block = Interleaved::EMPTY;
        // SAFETY: the caller checked the CPU features; every destination is 32 bytes.
        unsafe {
            let scales = group.scales();
            macro_rules! eighths {
                ($($q:literal)*) => {$(
                    for w in 0..GROUP {
                        let out = block.qs[GROUP * $q + w].as_mut_ptr().cast();
                        _mm256_storeu_si256(out, group.values::<$q>(w));
                    }
                )*};
            }
            eighths!(0 1 2 3 4 5 6 7);
            for (s, out) in block.scales[..B::SUB].iter_mut().enumerate() {
                _mm256_storeu_si256(out.as_mut_ptr().cast(), group.scale(&scales, s));
            }
            for (p, out) in block.offsets.iter_mut().enumerate() {
                _mm256_storeu_si256(out.as_mut_ptr().cast(), group.offset(&scales, p));
            }
            let (d, dmin) = group.weights();
            _mm256_storeu_ps(block.d.as_mut_ptr(), d);
            _mm256_storeu_ps(block.dmin.as_mut_ptr(), dmin);
        }
        block
    }
}

/// Registers `8Q..8Q + 8` of super-block `b` with `R` activation blocks, their scaled
/// sums added to `t`: a whole sub-block or two (Q6_K), so each scale is decoded once.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
#[inline]
unsafe fn eighth<B: KPack, G: KGroup, const R: usize, const Q: usize>(
    b: &G,
    scales: &G::Scales,
    blocks: &[&Q8K; R],
    t: &mut [__m256i; R],
) {
    let per_sub = WORDS / B::SUB;
    for sub in (0..GROUP).step_by(per_sub) {
        // SAFETY (both): the caller checked the CPU features.
        let scale = unsafe { b.scale(scales, (GROUP * Q + sub) / per_sub) };
        for run in (sub..sub + per_sub).step_by(B::RUN) {
            let mut sums = [_mm256_setzero_si256(); R];
            for w in run..run + B::RUN {
                let q = unsafe { b.values::<Q>(w) };
                for r in 0..R {
                    let products = _mm256_maddubs_epi16(q, quad(&blocks[r].qs, GROUP * Q + w));
                    sums[r] = _mm256_add_epi16(sums[r], products);
                }
            }
            for r in 0..R {
                t[r] = _mm256_add_epi32(t[r], _mm256_madd_epi16(sums[r], scale));
            }
        }
    }
}

/// One group's values with `R` activation rows: row `r`'s outputs in lanes of
/// `acc[r]` (weight rows 0..4, 4..8).
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) fn group_dots<B: KPack, G: KGroup, const R: usize>(
    w: &[G],
    acts: [&[Q8K]; R],
) -> [[f32; GROUP]; R] {
    assert!(acts.iter().all(|a| a.len() >= w.len()));
    let mut acc = [[_mm_set1_ps(-0.0); 2]; R];
    for (i, b) in w.iter().enumerate() {
        // SAFETY: the assert above makes every row at least as long as `w`.
        let blocks: [&Q8K; R] = std::array::from_fn(|r| unsafe { acts[r].get_unchecked(i) });
        // SAFETY: the caller checked the CPU features.
        let scales = unsafe { b.scales() };
        let mut t = [_mm256_setzero_si256(); R];
        macro_rules! eighths {
            ($($q:literal)*) => {$(
                // SAFETY: the caller checked the CPU features.
                unsafe { eighth::<B, G, R, $q>(b, &scales, &blocks, &mut t) };
            )*};
        }
        eighths!(0 1 2 3 4 5 6 7);
        let mut o = [_mm256_setzero_si256(); R];
        for p in 0..8 {
            // SAFETY: the caller checked the CPU features.
            let coef = unsafe { b.offset(&scales, p) };
            for r in 0..R {
                let sums = &blocks[r].bsums;
                let pair = (sums[2 * p] as u16 as u32) | ((sums[2 * p + 1] as u16 as u32) << 16);
                let a = _mm256_set1_epi32(pair as i32);
                o[r] = _mm256_add_epi32(o[r], _mm256_madd_epi16(coef, a));
            }
        }
        // SAFETY: the caller checked the CPU features.
        let (d, dmin) = unsafe { b.weights() };
        for half in 0..2 {
            let lane = |v: __m256i| match half {
                0 => _mm256_castsi256_si128(v),
                _ => _mm256_extracti128_si256::<1>(v),
            };
            let weights = match half {
                0 => (_mm256_castps256_ps128(d), _mm256_castps256_ps128(dmin)),
                _ => (
                    _mm256_extractf128_ps::<1>(d),
                    _mm256_extractf128_ps::<1>(dmin),
                ),
            };
            for r in 0..R {
                let act = _mm_set1_ps(blocks[r].d);
                // SAFETY: this function's target features are the ones `finish` needs.
                let share = unsafe { B::finish(lane(t[r]), lane(o[r]), weights, act) };
                acc[r][half] = _mm_add_ps(acc[r][half], share);
            }
        }
    }
    acc.map(|[low, high]| {
        let mut out = [0f32; GROUP];
        // SAFETY: `out` is 8 f32s.
        unsafe {
            _mm_storeu_ps(out.as_mut_ptr(), low);
            _mm_storeu_ps(out.as_mut_ptr().add(4), high);
        }
        out
    })
}

/// Activation rows per tile (then 2 and 1): each row keeps a 16-bit and a 32-bit sum
/// live beside the weights' register.
const TILE_ROWS: usize = WIDEST_TILE;

/// The products of weight rows `rows` (any number) with all `m` rows of `acts`
/// (`per_row` super-blocks each), given to `put(activation row, weight row, value)`:
/// whole groups of eight interleaved, the rows left over by the row kernel, whose bits
/// are the same.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn rows<B: KPack>(
    w: &[B],
    per_row: usize,
    rows: Range<usize>,
    acts: &[Q8K],
    m: usize,
    put: &mut impl FnMut(usize, usize, f32),
) {
    let whole = rows.start..rows.start + rows.len() / GROUP * GROUP;
    let fill = |packed: &mut Vec<Interleaved>| pack(w, per_row, whole.clone(), packed);
    // SAFETY: the caller checked the CPU features.
    unsafe {
        rows_from::<B>(fill, per_row, whole.start, acts, m, put);
        ggml_rows(w, per_row, whole.end..rows.end, acts, m, put);
    }
}

/// [`rows`] for groups `fill` interleaves into the per-thread buffer, `per_row`
/// super-blocks each, the first for weight row `first_row`.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn rows_from<B: KPack>(
    fill: impl FnOnce(&mut Vec<Interleaved>),
    per_row: usize,
    first_row: usize,
    acts: &[Q8K],
    m: usize,
    put: &mut impl FnMut(usize, usize, f32),
) {
    with_buffer(&PACKED, |packed| {
        fill(packed);
        // SAFETY: the caller checked the CPU features.
        unsafe { tiles::<B, _>(packed, per_row, first_row, acts, m, put) }
    });
}

/// The products of interleaved `groups` (`per_row` super-blocks each, the first for
/// weight row `first_row`) with all `m` rows of `acts`, tile by tile.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn tiles<B: KPack, G: KGroup>(
    groups: &[G],
    per_row: usize,
    first_row: usize,
    acts: &[Q8K],
    m: usize,
    put: &mut impl FnMut(usize, usize, f32),
) {
    let act = |t: usize| &acts[t * per_row..(t + 1) * per_row];
    each_tile(
        groups,
        per_row,
        first_row,
        m,
        TILE_ROWS,
        put,
        |group, r0, tile| match tile {
            4 => widen(group_dots::<B, G, 4>(
                group,
                std::array::from_fn(|t| act(r0 + t)),
            )),
            2 => widen(group_dots::<B, G, 2>(group, [act(r0), act(r0 + 1)])),
            _ => widen(group_dots::<B, G, 1>(group, [act(r0)])),
        },
    )
}

/// Weight rows `rows` in ggml's layout (those after a matrix's last whole group) with
/// the row kernel, whose bits are the interleaved kernel's.
///
/// # Safety
/// The CPU must have AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn ggml_rows<B: KPack>(
    w: &[B],
    per_row: usize,
    rows: Range<usize>,
    acts: &[Q8K],
    m: usize,
    put: &mut impl FnMut(usize, usize, f32),
) {
    let act = |t: usize| &acts[t * per_row..(t + 1) * per_row];
    for j in rows {
        for t in 0..m {
            // SAFETY: the caller checked the CPU features.
            let [v] = unsafe {
                avx2_k_totals::rows::<B, 1>(&w[j * per_row..(j + 1) * per_row], [act(t)])
            };
            put(t, j, v);
        }
    }
}
