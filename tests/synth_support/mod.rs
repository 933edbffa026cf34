//! Shared by the GGUF test files: a GGUF file opened with candle's reader.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use candle_core::quantized::gguf_file::{Content, Value};
use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device, Tensor};
use saar::synth::{write_gguf_model, write_safetensors_model, GgufQuant, ModelTemplate, Shape};

pub const TEMPLATE: &str = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}";

pub struct Gguf {
    pub content: Content,
    file: File,
}

impl Gguf {
    pub fn open(path: &Path) -> Self {
        let mut file = File::open(path).unwrap();
        let content = Content::read(&mut file).unwrap();
        Self { content, file }
    }

    pub fn md(&self, key: &str) -> &Value {
        self.content
            .metadata
            .get(key)
            .unwrap_or_else(|| panic!("no {key}"))
    }

    pub fn u32(&self, key: &str) -> u32 {
        self.md(key).to_u32().unwrap()
    }

    pub fn types(&self) -> BTreeMap<String, GgmlDType> {
        self.content
            .tensor_infos
            .iter()
            .map(|(name, info)| (name.clone(), info.ggml_dtype))
            .collect()
    }

    pub fn tensor(&mut self, name: &str) -> Tensor {
        self.content
            .tensor(&mut self.file, name, &Device::Cpu)
            .unwrap()
            .dequantize(&Device::Cpu)
            .unwrap()
    }
}

pub fn safetensors(dir: &Path) -> std::collections::HashMap<String, Tensor> {
    candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap()
}

/// Writes an HF folder with the test template.
pub fn write_hf(dir: &Path, shape: &Shape, dtype: DType, seed: u64) {
    write_safetensors_model(dir, shape, dtype, seed, &ModelTemplate::new(TEMPLATE)).unwrap();
}

/// Writes a GGUF file with the test template and opens it.
pub fn write_gguf(path: &Path, shape: &Shape, quant: GgufQuant, seed: u64) -> Gguf {
    write_gguf_model(path, shape, quant, seed, &ModelTemplate::new(TEMPLATE)).unwrap();
    Gguf::open(path)
}

pub fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    max_abs(&(a - b).unwrap())
}

pub fn max_abs(t: &Tensor) -> f32 {
    t.abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar()
        .unwrap()
}
