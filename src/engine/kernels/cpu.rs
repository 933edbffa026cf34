//! Run-time CPU feature checks, so one binary uses AVX-512 or AVX2/FMA/F16C where the CPU has
//! them and a scalar path where it does not (never decided only at build time).

/// The SIMD features the kernels can use on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Features {
    pub avx2: bool,
    pub fma: bool,
    pub f16c: bool,
    /// AVX-512 F (what the f32 panels use).
    pub avx512f: bool,
    /// AVX-512 F, BW and VNNI together (what the AVX-512 quantized kernels use).
    pub avx512_bw_vnni: bool,
}

impl Features {
    /// Checked once per call; cheap (std caches the cpuid answer).
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx512f = std::arch::is_x86_feature_detected!("avx512f");
            Features {
                avx2: std::arch::is_x86_feature_detected!("avx2"),
                fma: std::arch::is_x86_feature_detected!("fma"),
                f16c: std::arch::is_x86_feature_detected!("f16c"),
                avx512f,
                avx512_bw_vnni: avx512f
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vnni"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Features::default()
        }
    }

    /// AVX2 with FMA: what the x86 fast paths need.
    pub fn avx2_fma(self) -> bool {
        self.avx2 && self.fma
    }

    /// AVX-512 BW + VNNI with everything the AVX2 paths need (which the AVX-512 kernels
    /// also call).
    pub fn avx512_vnni(self) -> bool {
        self.avx512_bw_vnni && self.avx2_fma() && self.f16c
    }
}
