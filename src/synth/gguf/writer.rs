//! The GGUF file format written by saar itself (version 3, as llama.cpp writes it):
//! candle's writer takes only tensors of the types candle knows, and test files need
//! IQ4_NL and IQ4_XS too. Tensors come as raw blocks with their ggml type id.

use std::io::Write;

use candle_core::quantized::gguf_file::Value;

use crate::engine::llm::gguf_header::TensorType;

/// Tensor data starts, and each tensor starts, at a multiple of this.
const ALIGNMENT: usize = 32;

/// One tensor as the file stores it.
pub struct RawTensor {
    pub name: String,
    pub tensor_type: TensorType,
    /// Outermost first, as candle and saar use them (the file stores them reversed).
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

fn string<W: Write>(out: &mut W, text: &str) -> std::io::Result<()> {
    out.write_all(&(text.len() as u64).to_le_bytes())?;
    out.write_all(text.as_bytes())
}

/// GGUF's id of a metadata value's type.
fn value_type(value: &Value) -> u32 {
    match value {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

fn value<W: Write>(out: &mut W, v: &Value) -> std::io::Result<()> {
    match v {
        Value::U8(x) => out.write_all(&[*x]),
        Value::I8(x) => out.write_all(&x.to_le_bytes()),
        Value::U16(x) => out.write_all(&x.to_le_bytes()),
        Value::I16(x) => out.write_all(&x.to_le_bytes()),
        Value::U32(x) => out.write_all(&x.to_le_bytes()),
        Value::I32(x) => out.write_all(&x.to_le_bytes()),
        Value::F32(x) => out.write_all(&x.to_le_bytes()),
        Value::Bool(x) => out.write_all(&[u8::from(*x)]),
        Value::String(x) => string(out, x),
        Value::Array(items) => {
            // An empty array's item type does not matter; GGUF needs one all the same.
            let item = items.first().map_or(4, value_type);
            if let Some(odd) = items.iter().find(|v| value_type(v) != item) {
                return Err(std::io::Error::other(format!(
                    "an array mixes value types ({odd:?})"
                )));
            }
            out.write_all(&item.to_le_bytes())?;
            out.write_all(&(items.len() as u64).to_le_bytes())?;
            items.iter().try_for_each(|v| value(out, v))
        }
        Value::U64(x) => out.write_all(&x.to_le_bytes()),
        Value::I64(x) => out.write_all(&x.to_le_bytes()),
        Value::F64(x) => out.write_all(&x.to_le_bytes()),
    }
}

/// Writes a whole GGUF file: header, metadata, tensor directory, aligned data.
pub fn write<W: Write>(
    out: &mut W,
    metadata: &[(String, Value)],
    tensors: &[RawTensor],
) -> std::io::Result<()> {
    let mut header = Vec::new();
    header.extend(b"GGUF");
    header.extend(3u32.to_le_bytes());
    header.extend((tensors.len() as u64).to_le_bytes());
    header.extend((metadata.len() as u64).to_le_bytes());
    for (key, v) in metadata {
        string(&mut header, key)?;
        header.extend(value_type(v).to_le_bytes());
        value(&mut header, v)?;
    }
    let mut offset = 0usize;
    for tensor in tensors {
        string(&mut header, &tensor.name)?;
        header.extend((tensor.dims.len() as u32).to_le_bytes());
        for &dim in tensor.dims.iter().rev() {
            header.extend((dim as u64).to_le_bytes());
        }
        header.extend(tensor.tensor_type.0.to_le_bytes());
        header.extend((offset as u64).to_le_bytes());
        offset = (offset + tensor.data.len()).next_multiple_of(ALIGNMENT);
    }
    header.resize(header.len().next_multiple_of(ALIGNMENT), 0);
    out.write_all(&header)?;
    for tensor in tensors {
        out.write_all(&tensor.data)?;
        let padding = tensor.data.len().next_multiple_of(ALIGNMENT) - tensor.data.len();
        out.write_all(&[0u8; ALIGNMENT][..padding])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::llm::gguf_header::{self, read_header};

    #[test]
    fn what_is_written_reads_back() {
        let metadata = vec![
            (
                "general.architecture".to_string(),
                Value::String("qwen2".into()),
            ),
            ("a.count".to_string(), Value::U32(7)),
            (
                "a.list".to_string(),
                Value::Array(vec![Value::I32(-1), Value::I32(2)]),
            ),
            ("a.flag".to_string(), Value::Bool(true)),
        ];
        let tensors = vec![
            RawTensor {
                name: "x".into(),
                tensor_type: gguf_header::F32,
                dims: vec![3],
                data: [1f32, 2.0, 3.0]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                    .collect(),
            },
            RawTensor {
                name: "w".into(),
                tensor_type: TensorType(23),
                dims: vec![2, 256],
                data: (0..272).map(|i| i as u8).collect(),
            },
        ];
        let mut bytes = Vec::new();
        write(&mut bytes, &metadata, &tensors).unwrap();
        let header = read_header(&mut std::io::Cursor::new(&bytes)).unwrap();
        assert_eq!(header.version, 3);
        assert_eq!(header.metadata.len(), 4);
        assert!(matches!(header.metadata["a.count"], Value::U32(7)));
        assert!(matches!(&header.metadata["a.list"], Value::Array(v) if v.len() == 2));
        let w = &header.tensors["w"];
        assert_eq!(
            (w.tensor_type, w.dims.as_slice()),
            (TensorType(23), &[2, 256][..])
        );
        let start = (header.data_offset + w.offset) as usize;
        assert_eq!(start % ALIGNMENT, 0);
        assert_eq!(&bytes[start..start + 272], &tensors[1].data[..]);
        let x = &header.tensors["x"];
        let at = (header.data_offset + x.offset) as usize;
        assert_eq!(&bytes[at..at + 12], &tensors[0].data[..]);
    }
}
