//! GGUF's header (metadata and tensor directory), read by saar itself: candle 0.11's
//! reader refuses a whole file when one tensor has a type it does not know, and IQ4_NL
//! and IQ4_XS files are among those people download. Here a tensor's type is kept as
//! ggml's id, and whoever loads the tensor decides whether it can ([`TensorType`]).
//! Metadata values are candle's [`Value`], so code that reads them works on either.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::GgmlDType;

use crate::engine::kernels::quant::QuantKind;

/// A tensor's type: ggml's `ggml_type` id as the file gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorType(pub u32);

/// ggml's type names by id (`ggml.h`), for types saar cannot run as much as for
/// those it can: an error names the type the user has.
const TYPE_NAMES: [(u32, &str); 32] = [
    (0, "F32"),
    (1, "F16"),
    (2, "Q4_0"),
    (3, "Q4_1"),
    (6, "Q5_0"),
    (7, "Q5_1"),
    (8, "Q8_0"),
    (9, "Q8_1"),
    (10, "Q2_K"),
    (11, "Q3_K"),
    (12, "Q4_K"),
    (13, "Q5_K"),
    (14, "Q6_K"),
    (15, "Q8_K"),
    (16, "IQ2_XXS"),
    (17, "IQ2_XS"),
    (18, "IQ3_XXS"),
    (19, "IQ1_S"),
    (20, "IQ4_NL"),
    (21, "IQ3_S"),
    (22, "IQ2_S"),
    (23, "IQ4_XS"),
    (24, "I8"),
    (25, "I16"),
    (26, "I32"),
    (27, "I64"),
    (28, "F64"),
    (29, "IQ1_M"),
    (30, "BF16"),
    (34, "TQ1_0"),
    (35, "TQ2_0"),
    (39, "MXFP4"),
];

pub const F32: TensorType = TensorType(0);
pub const F16: TensorType = TensorType(1);
pub const BF16: TensorType = TensorType(30);

impl TensorType {
    /// ggml's name (`Q4_K`, `IQ4_XS`), or `type 42` for an id it has no name for here.
    pub fn name(self) -> String {
        TYPE_NAMES
            .iter()
            .find(|(id, _)| *id == self.0)
            .map_or_else(|| format!("type {}", self.0), |(_, name)| name.to_string())
    }

    /// The type as candle knows it, for the types candle reads.
    pub fn candle(self) -> Option<GgmlDType> {
        Some(match self.0 {
            0 => GgmlDType::F32,
            1 => GgmlDType::F16,
            30 => GgmlDType::BF16,
            _ => return QuantKind::from_gguf_type(self.0).and_then(QuantKind::candle),
        })
    }

    /// The block type saar's quantized kernels run, if any.
    pub fn quant_kind(self) -> Option<QuantKind> {
        QuantKind::from_gguf_type(self.0)
    }

    /// Elements and bytes per block, for the types saar can load (by candle's path or
    /// its own); `None` for the others.
    pub fn layout(self) -> Option<(usize, usize)> {
        match (self.quant_kind(), self.candle()) {
            (Some(kind), _) => Some((kind.block_size(), kind.block_bytes())),
            (None, Some(dtype)) => Some((dtype.block_size(), dtype.type_size())),
            (None, None) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TensorInfo {
    pub tensor_type: TensorType,
    /// Outermost first (GGUF stores them innermost first).
    pub dims: Vec<usize>,
    /// From the start of the tensor data.
    pub offset: u64,
}

impl TensorInfo {
    pub fn elements(&self) -> usize {
        self.dims.iter().product()
    }
}

#[derive(Debug)]
pub struct Header {
    pub version: u32,
    pub metadata: HashMap<String, Value>,
    pub tensors: HashMap<String, TensorInfo>,
    /// Where the tensor data starts in the file.
    pub data_offset: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HeaderError(String);

const MAGIC: u32 = 0x4655_4747; // "GGUF", little-endian
const DEFAULT_ALIGNMENT: u64 = 32;
const MAX_DIMS: usize = 4;
const MAX_DEPTH: usize = 4;

struct Reader<'a, R> {
    inner: &'a mut R,
    version: u32,
    remaining: u64,
}

impl<R: Read> Reader<'_, R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], HeaderError> {
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| HeaderError(format!("the header ends early ({e})")))?;
        self.remaining = self.remaining.saturating_sub(N as u64);
        Ok(buf)
    }

    fn u32(&mut self) -> Result<u32, HeaderError> {
        self.bytes().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Result<u64, HeaderError> {
        self.bytes().map(u64::from_le_bytes)
    }

    /// A count or length: 32 bits in GGUF v1, 64 since.
    fn length(&mut self) -> Result<u64, HeaderError> {
        if self.version == 1 {
            self.u32().map(u64::from)
        } else {
            self.u64()
        }
    }

    /// Checks that `count` items of at least `size` bytes each fit in what is left.
    fn fits(&self, count: u64, size: u64, what: &str) -> Result<(), HeaderError> {
        if count.saturating_mul(size) > self.remaining {
            return Err(HeaderError(format!(
                "{what} of {count} entries is longer than the file"
            )));
        }
        Ok(())
    }

    fn string(&mut self) -> Result<String, HeaderError> {
        let len = self.length()?;
        self.fits(len, 1, "a string")?;
        let mut buf = vec![0u8; len as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| HeaderError(format!("the header ends early ({e})")))?;
        self.remaining -= len;
        // Strings are not meant to be NUL-terminated, but some writers do it.
        while buf.last() == Some(&0) {
            buf.pop();
        }
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn value(&mut self, kind: u32, depth: usize) -> Result<Value, HeaderError> {
        Ok(match kind {
            0 => Value::U8(self.bytes::<1>()?[0]),
            1 => Value::I8(self.bytes::<1>()?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.bytes()?)),
            3 => Value::I16(i16::from_le_bytes(self.bytes()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.bytes()?)),
            6 => Value::F32(f32::from_le_bytes(self.bytes()?)),
            7 => match self.bytes::<1>()?[0] {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                other => return Err(HeaderError(format!("a boolean holds {other}"))),
            },
            8 => Value::String(self.string()?),
            9 if depth < MAX_DEPTH => {
                let item = self.u32()?;
                let len = self.length()?;
                self.fits(len, 1, "an array")?;
                let items = (0..len)
                    .map(|_| self.value(item, depth + 1))
                    .collect::<Result<_, _>>()?;
                Value::Array(items)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.bytes()?)),
            12 => Value::F64(f64::from_le_bytes(self.bytes()?)),
            9 => return Err(HeaderError("arrays are nested too deeply".into())),
            other => return Err(HeaderError(format!("unknown metadata value type {other}"))),
        })
    }
}

/// Reads the header of the GGUF file `reader` is at the start of.
pub fn read_header<R: Read + Seek>(reader: &mut R) -> Result<Header, HeaderError> {
    let io = |e: std::io::Error| HeaderError(e.to_string());
    let file_size = reader.seek(SeekFrom::End(0)).map_err(io)?;
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut r = Reader {
        inner: reader,
        version: 3,
        remaining: file_size,
    };
    let magic = r.u32()?;
    if magic != MAGIC {
        return Err(HeaderError(format!(
            "it does not start with GGUF's magic bytes (found {:?})",
            String::from_utf8_lossy(&magic.to_le_bytes())
        )));
    }
    r.version = r.u32()?;
    if !(1..=3).contains(&r.version) {
        return Err(HeaderError(format!(
            "GGUF version {} is unknown",
            r.version
        )));
    }
    let tensor_count = r.length()?;
    let metadata_count = r.length()?;
    // The smallest entries GGUF v1 allows: a key, a type and one byte; a name, a rank,
    // a type and an offset.
    r.fits(metadata_count, 9, "the metadata")?;
    r.fits(tensor_count, 20, "the tensor directory")?;
    let mut metadata = HashMap::new();
    for _ in 0..metadata_count {
        let key = r.string()?;
        let kind = r.u32()?;
        let value = r.value(kind, 0)?;
        metadata.insert(key, value);
    }
    let mut tensors = HashMap::new();
    for _ in 0..tensor_count {
        let name = r.string()?;
        let rank = r.u32()? as usize;
        if rank > MAX_DIMS {
            return Err(HeaderError(format!(
                "tensor `{name}` has {rank} dimensions"
            )));
        }
        let mut dims = (0..rank)
            .map(|_| r.length().map(|d| d as usize))
            .collect::<Result<Vec<_>, _>>()?;
        dims.reverse();
        let tensor_type = TensorType(r.u32()?);
        let offset = r.u64()?;
        if dims
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .is_none()
        {
            return Err(HeaderError(format!(
                "tensor `{name}` has an impossible shape {dims:?}"
            )));
        }
        tensors.insert(
            name,
            TensorInfo {
                tensor_type,
                dims,
                offset,
            },
        );
    }
    let alignment = match metadata.get("general.alignment") {
        Some(Value::U32(a)) if *a > 0 => u64::from(*a),
        Some(Value::U64(a)) if *a > 0 => *a,
        _ => DEFAULT_ALIGNMENT,
    };
    let position = file_size - r.remaining;
    Ok(Header {
        version: r.version,
        metadata,
        tensors,
        data_offset: position.div_ceil(alignment) * alignment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_layouts_agree_with_the_kernel_table() {
        for &kind in QuantKind::ALL {
            let t = TensorType(kind.gguf_type());
            assert_eq!(t.layout(), Some((kind.block_size(), kind.block_bytes())));
            if let Some(dtype) = t.candle() {
                assert_eq!((dtype.block_size(), dtype.type_size()), t.layout().unwrap());
            }
            let name = t.name().replace('_', "").to_lowercase();
            assert_eq!(name, format!("{kind:?}").replace('_', "").to_lowercase());
        }
        assert_eq!(TensorType(16).name(), "IQ2_XXS");
        assert_eq!(TensorType(16).layout(), None);
        assert_eq!(TensorType(99).name(), "type 99");
        assert_eq!(BF16.layout(), Some((1, 2)));
    }

    #[test]
    fn garbage_and_truncated_headers_are_refused() {
        let mut garbage = std::io::Cursor::new(b"not a gguf file at all".to_vec());
        let err = read_header(&mut garbage).unwrap_err().to_string();
        assert!(err.contains("magic"), "{err}");
        // A header that promises more metadata than the file holds.
        let mut bytes = MAGIC.to_le_bytes().to_vec();
        bytes.extend(3u32.to_le_bytes());
        bytes.extend(0u64.to_le_bytes());
        bytes.extend(u64::MAX.to_le_bytes());
        let err = read_header(&mut std::io::Cursor::new(bytes)).unwrap_err();
        assert!(err.to_string().contains("longer than the file"), "{err}");
    }
}
