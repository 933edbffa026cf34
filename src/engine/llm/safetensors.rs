//! Reads safetensors files tensor by tensor with positioned reads instead of a memory
//! map. A map keeps every page it touched resident next to the tensors copied out of
//! it, so loading peaked at twice the file; reading each tensor straight into its own
//! buffer keeps the peak at the model's size (the page cache is the kernel's, not ours).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use half::{bf16, f16};

/// Where one tensor lies in the file and what it holds.
#[derive(Debug, Clone)]
struct Entry {
    dtype: DType,
    shape: Vec<usize>,
    /// Byte range in the file.
    start: u64,
    end: u64,
}

/// One open safetensors file: its header parsed, its data read on demand.
pub struct SafetensorsFile {
    file: File,
    tensors: HashMap<String, Entry>,
}

/// Headers larger than this are not safetensors files (the format caps them at 100 MB).
const MAX_HEADER: u64 = 100_000_000;

#[derive(serde::Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (u64, u64),
}

impl SafetensorsFile {
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        let file_len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut len_bytes = [0u8; 8];
        read_exact_at(&file, &mut len_bytes, 0)
            .map_err(|_| "too short to be a safetensors file".to_string())?;
        let header_len = u64::from_le_bytes(len_bytes);
        if header_len > MAX_HEADER || 8 + header_len > file_len {
            return Err(format!(
                "header length {header_len} does not fit the file; re-download it"
            ));
        }
        let mut header = vec![0u8; header_len as usize];
        read_exact_at(&file, &mut header, 8).map_err(|e| format!("cannot read the header: {e}"))?;
        let raw: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&header).map_err(|e| format!("bad header: {e}"))?;
        let data_start = 8 + header_len;
        let mut tensors = HashMap::with_capacity(raw.len());
        for (name, value) in raw {
            if name == "__metadata__" {
                continue;
            }
            let entry: HeaderEntry = serde_json::from_value(value)
                .map_err(|e| format!("bad header entry `{name}`: {e}"))?;
            let dtype = parse_dtype(&entry.dtype)
                .ok_or_else(|| format!("tensor `{name}` has unsupported dtype {}", entry.dtype))?;
            let (start, end) = entry.data_offsets;
            let bytes = entry.shape.iter().product::<usize>() * dtype.size_in_bytes();
            if start > end || end - start != bytes as u64 || data_start + end > file_len {
                return Err(format!(
                    "tensor `{name}` lies outside the file or has the wrong size; re-download it"
                ));
            }
            let (start, end) = (data_start + start, data_start + end);
            tensors.insert(
                name,
                Entry {
                    dtype,
                    shape: entry.shape,
                    start,
                    end,
                },
            );
        }
        Ok(SafetensorsFile { file, tensors })
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.tensors.keys()
    }

    /// Reads tensor `name` into a new CPU tensor of its stored dtype.
    pub fn load(&self, name: &str) -> Result<Tensor, String> {
        let entry = self
            .tensors
            .get(name)
            .ok_or_else(|| format!("tensor `{name}` is missing"))?;
        let shape = entry.shape.clone();
        let count = shape.iter().product::<usize>();
        let tensor = match entry.dtype {
            DType::F32 => Tensor::from_vec(self.read::<f32>(entry, count)?, shape, &Device::Cpu),
            DType::F16 => Tensor::from_vec(self.read::<f16>(entry, count)?, shape, &Device::Cpu),
            DType::BF16 => Tensor::from_vec(self.read::<bf16>(entry, count)?, shape, &Device::Cpu),
            DType::F64 => Tensor::from_vec(self.read::<f64>(entry, count)?, shape, &Device::Cpu),
            other => return Err(format!("tensor `{name}` has unsupported dtype {other:?}")),
        };
        tensor.map_err(|e| e.to_string())
    }

    fn read<T: Plain>(&self, entry: &Entry, count: usize) -> Result<Vec<T>, String> {
        let mut values = vec![T::default(); count];
        let bytes_len = (entry.end - entry.start) as usize;
        // SAFETY: `T` is a plain number type (every bit pattern is a value) and the
        // buffer holds exactly `count * size_of::<T>() == bytes_len` bytes.
        let bytes =
            unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), bytes_len) };
        read_exact_at(&self.file, bytes, entry.start)
            .map_err(|e| format!("cannot read tensor data: {e}"))?;
        if cfg!(target_endian = "big") {
            values.iter_mut().for_each(Plain::from_little_endian);
        }
        Ok(values)
    }
}

/// A positioned read: Unix has one that leaves no shared cursor behind; elsewhere a
/// seek and a read do the same for this single-threaded reader.
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = file;
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }
}

fn parse_dtype(name: &str) -> Option<DType> {
    Some(match name {
        "F32" => DType::F32,
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "F64" => DType::F64,
        _ => return None,
    })
}

/// Number types whose every bit pattern is a value, stored little-endian on disk.
trait Plain: Copy + Default {
    fn from_little_endian(&mut self);
}

impl Plain for f32 {
    fn from_little_endian(&mut self) {
        *self = f32::from_bits(u32::from_le(self.to_bits()));
    }
}

impl Plain for f64 {
    fn from_little_endian(&mut self) {
        *self = f64::from_bits(u64::from_le(self.to_bits()));
    }
}

impl Plain for f16 {
    fn from_little_endian(&mut self) {
        *self = f16::from_bits(u16::from_le(self.to_bits()));
    }
}

impl Plain for bf16 {
    fn from_little_endian(&mut self) {
        *self = bf16::from_bits(u16::from_le(self.to_bits()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_read_back_as_candle_saved_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let a = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 3))
            .unwrap();
        let b = a.to_dtype(DType::BF16).unwrap();
        let tensors: HashMap<String, Tensor> =
            [("a".to_string(), a.clone()), ("b".to_string(), b)].into();
        candle_core::safetensors::save(&tensors, &path).unwrap();
        let file = SafetensorsFile::open(&path).unwrap();
        assert_eq!(file.load("b").unwrap().dtype(), DType::BF16);
        let read = file.load("a").unwrap();
        assert_eq!(read.to_vec2::<f32>().unwrap(), a.to_vec2::<f32>().unwrap());
        let read = file.load("b").unwrap().to_dtype(DType::F32).unwrap();
        assert_eq!(read.to_vec2::<f32>().unwrap(), a.to_vec2::<f32>().unwrap());
        assert!(file.load("c").is_err());
    }

    #[test]
    fn truncated_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let a = Tensor::zeros((4, 4), DType::F32, &Device::Cpu).unwrap();
        candle_core::safetensors::save(&HashMap::from([("a".to_string(), a)]), &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        assert!(SafetensorsFile::open(&path).is_err());
        std::fs::write(&path, &bytes[..4]).unwrap();
        assert!(SafetensorsFile::open(&path).is_err());
    }
}
