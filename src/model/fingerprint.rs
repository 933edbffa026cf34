//! A local model's stand-in for a revision. Files in a user's folder change without
//! anything to say so (weights overwritten in place), and `saar batch` and `saar
//! compare` reuse work whose model is unchanged; so a local model is named by a
//! fingerprint of its files: each file's name, size and modification time, and a
//! SHA-256 of its first MiB (where safetensors and GGUF keep their headers) or of the
//! whole file when it is small enough to read in a moment.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use super::{ModelError, ModelFiles};

/// Files up to this size are hashed whole (config, tokenizer, tiny or test models).
const FULL_HASH_BYTES: u64 = 16 << 20;
/// Of a larger file, the head is hashed: a weight file's header and first tensors.
const HEAD_BYTES: u64 = 1 << 20;
/// Hex digits kept: enough to tell versions of one folder apart.
const KEPT_HEX: usize = 16;

/// `local-<hex>`: the fingerprint of every file `files` uses.
pub(crate) fn fingerprint(files: &ModelFiles) -> Result<String, ModelError> {
    let mut paths = files.paths();
    paths.sort();
    paths.dedup();
    let mut hasher = Sha256::new();
    for path in paths {
        describe(path, &mut hasher)?;
    }
    let hex = format!("{:x}", hasher.finalize());
    Ok(format!("local-{}", &hex[..KEPT_HEX]))
}

/// Feeds one file's name, size, modification time and content hash to `hasher`.
fn describe(path: &Path, hasher: &mut Sha256) -> Result<(), ModelError> {
    let io = |e| ModelError::io(path, e);
    let meta = std::fs::metadata(path).map_err(io)?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |since| since.as_nanos());
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    hasher.update(format!("{name}\0{}\0{modified}\0", meta.len()).as_bytes());
    let limit = if meta.len() <= FULL_HASH_BYTES {
        meta.len()
    } else {
        HEAD_BYTES
    };
    let mut content = Sha256::new();
    std::io::copy(&mut File::open(path).map_err(io)?.take(limit), &mut content).map_err(io)?;
    hasher.update(content.finalize());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Weights;

    fn model(dir: &Path) -> ModelFiles {
        ModelFiles {
            config: Some(dir.join("config.json")),
            ..ModelFiles::new(
                "m",
                Weights::Safetensors(vec![dir.join("model.safetensors")]),
            )
        }
    }

    #[test]
    fn changes_with_the_weights_or_config_and_not_otherwise() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.json"), "{}").expect("write");
        std::fs::write(dir.path().join("model.safetensors"), b"weights one").expect("write");
        let files = model(dir.path());
        let first = fingerprint(&files).expect("fingerprint");
        assert!(first.starts_with("local-") && first.len() == 6 + KEPT_HEX);
        assert_eq!(fingerprint(&files).expect("again"), first, "unchanged");

        // Same size, same modification time: the content hash still tells them apart.
        let weights = dir.path().join("model.safetensors");
        let time = std::fs::metadata(&weights)
            .and_then(|m| m.modified())
            .expect("mtime");
        std::fs::write(&weights, b"weights two").expect("overwrite");
        File::options()
            .write(true)
            .open(&weights)
            .and_then(|f| f.set_modified(time))
            .expect("set mtime");
        let second = fingerprint(&files).expect("fingerprint");
        assert_ne!(second, first);

        std::fs::write(dir.path().join("config.json"), "{ }").expect("write");
        assert_ne!(fingerprint(&files).expect("fingerprint"), second);
    }

    #[test]
    fn a_large_file_is_known_by_its_head_size_and_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("config.json"), "{}").expect("write");
        let weights = dir.path().join("model.safetensors");
        let file = File::create(&weights).expect("create");
        file.set_len(FULL_HASH_BYTES + 1).expect("sparse file");
        let files = model(dir.path());
        let before = fingerprint(&files).expect("fingerprint");
        file.set_len(FULL_HASH_BYTES + 2).expect("grow");
        assert_ne!(fingerprint(&files).expect("fingerprint"), before);
        let missing = ModelFiles::new("m", Weights::Gguf(dir.path().join("gone.gguf")));
        assert!(matches!(fingerprint(&missing), Err(ModelError::Io { .. })));
    }
}
