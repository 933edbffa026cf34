//! Deterministic sharding: document ids map to shards by SHA-256, so N independent
//! jobs (a Slurm array, a Kubernetes indexed job) split one corpus with no coordination,
//! on any machine and any Rust version (std's hasher is neither stable nor portable).

use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::BatchError;

/// One of `count` shards, numbered from 0 (the numbering Slurm arrays and Kubernetes
/// indexed jobs hand out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// True when the document `id` belongs to this shard.
    pub fn contains(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index
    }
}

impl FromStr for Shard {
    type Err = BatchError;

    fn from_str(spec: &str) -> Result<Self, BatchError> {
        let bad = || BatchError::BadShard(spec.to_string());
        let (k, n) = spec.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// The shard (0..count) of a document id: the first 8 bytes of SHA-256(id), big-endian,
/// modulo `count`. `count` 0 is treated as 1.
pub fn shard_of(id: &str, count: u64) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % count.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<String> {
        (0..3000)
            .map(|i| format!("news/{}/article-{i}.txt", i % 17))
            .collect()
    }

    #[test]
    fn every_id_is_in_exactly_one_shard() {
        for count in [1, 2, 3, 7, 16] {
            let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
            for id in ids() {
                let owners = shards.iter().filter(|s| s.contains(&id)).count();
                assert_eq!(owners, 1, "{id} with {count} shards");
            }
        }
    }

    #[test]
    fn shards_are_roughly_even_and_stable() {
        let count = 4;
        let mut sizes = [0usize; 4];
        for id in ids() {
            sizes[shard_of(&id, count) as usize] += 1;
        }
        for size in sizes {
            assert!((600..900).contains(&size), "{sizes:?}");
        }
        // Pinned: a change of hash would silently reshuffle running jobs' corpora.
        assert_eq!(shard_of("a", 1_000_000_007), stable_a());
    }

    fn stable_a() -> u64 {
        // SHA-256("a") starts ca978112ca1bbdca.
        0xca97_8112_ca1b_bdca % 1_000_000_007
    }

    #[test]
    fn parses_k_of_n() {
        assert_eq!(
            "2/5".parse::<Shard>().ok(),
            Some(Shard { index: 2, count: 5 })
        );
        for bad in ["5/5", "1/0", "x/2", "3", "-1/2", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
