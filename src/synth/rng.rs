//! A small seeded generator for random weights. Each tensor (and each chunk of a
//! large one) gets its own stream derived from the seed and the tensor's name, so
//! the values never depend on the order or the number of threads that make them.

/// SplitMix64: tiny, fast, and good enough for random weights.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1], never 0 so its logarithm is finite.
    fn next_open_unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Fills `out` with normal samples of mean 0 and deviation `std` (Box-Muller).
    pub fn fill_normal(&mut self, out: &mut [f32], std: f32) {
        for pair in out.chunks_mut(2) {
            let radius = (-2.0 * self.next_open_unit().ln()).sqrt();
            let angle = std::f64::consts::TAU * self.next_open_unit();
            pair[0] = (radius * angle.cos()) as f32 * std;
            if let Some(second) = pair.get_mut(1) {
                *second = (radius * angle.sin()) as f32 * std;
            }
        }
    }
}

/// `count` token ids drawn uniformly from `0..below` (prompts for benchmarks and tests).
pub fn random_token_ids(count: usize, below: u32, seed: u64) -> Vec<u32> {
    let mut rng = SplitMix64::new(stream_seed(seed, "token_ids", 0));
    let below = u64::from(below.max(1));
    (0..count)
        .map(|_| (rng.next_u64() % below) as u32)
        .collect()
}

/// A stream seed for (`seed`, `name`, `chunk`): FNV-1a over the name, mixed.
pub fn stream_seed(seed: u64, name: &str, chunk: u64) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    let mut mixer =
        SplitMix64::new(seed ^ hash.rotate_left(17) ^ chunk.wrapping_mul(0xA24B_AED4_963E_E407));
    mixer.next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_samples_have_the_requested_spread() {
        let mut values = vec![0f32; 20_001];
        SplitMix64::new(7).fill_normal(&mut values, 0.02);
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!(mean.abs() < 0.001, "mean {mean}");
        assert!((var.sqrt() - 0.02).abs() < 0.001, "std {}", var.sqrt());
    }

    #[test]
    fn token_ids_stay_below_the_bound() {
        let ids = random_token_ids(1000, 37, 5);
        assert!(ids.iter().all(|&id| id < 37));
        assert!(ids.contains(&36) && ids.contains(&0));
        assert_eq!(ids, random_token_ids(1000, 37, 5));
    }

    #[test]
    fn streams_differ_by_seed_name_and_chunk() {
        let base = stream_seed(1, "a.weight", 0);
        assert_eq!(base, stream_seed(1, "a.weight", 0));
        assert_ne!(base, stream_seed(2, "a.weight", 0));
        assert_ne!(base, stream_seed(1, "b.weight", 0));
        assert_ne!(base, stream_seed(1, "a.weight", 1));
    }
}
