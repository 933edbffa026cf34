//! What `saar bench` can measure: the model shapes, the file formats (`--formats`,
//! `all` being every row of the speed table) and the kernel paths (`--kernels`), and
//! how they expand into the rows that run one by one.

use std::str::FromStr;

use candle_core::DType;
use clap::ValueEnum;
use saar::engine::kernels::Backend;
use saar::engine::marian::bench::MarianShape;
use saar::synth::{Arch, GgufQuant, Shape};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchShape {
    #[value(name = "qwen2.5-0.5b")]
    Qwen2_5_0_5b,
    /// The default preset's shape.
    #[value(name = "qwen3-1.7b")]
    Qwen3_1_7b,
    /// Marian, Helsinki-NLP/opus-mt-hi-en's shape: runs the Marian rows (see --batch).
    #[value(name = "opus-mt-hi-en")]
    OpusMtHiEn,
    /// IndicTrans2, ai4bharat/indictrans2-indic-en-dist-200M's shape (Marian's rows).
    #[value(name = "indictrans2-dist-200m")]
    IndicTrans2Dist200m,
    /// IndicTrans2, ai4bharat/indictrans2-indic-en-1B's shape.
    #[value(name = "indictrans2-1b")]
    IndicTrans2_1b,
    /// Test-sized (as are the other tiny-*): a quick check that the whole path runs.
    #[value(name = "tiny-qwen2")]
    TinyQwen2,
    #[value(name = "tiny-qwen3")]
    TinyQwen3,
    #[value(name = "tiny-llama")]
    TinyLlama,
    #[value(name = "tiny-gemma3")]
    TinyGemma3,
    #[value(name = "tiny-marian")]
    TinyMarian,
}

/// The network a shape describes.
#[derive(Debug, Clone, PartialEq)]
pub enum ShapeKind {
    Llm(Shape),
    Marian(MarianShape),
}

impl BenchShape {
    pub fn kind(self) -> ShapeKind {
        match self {
            BenchShape::Qwen2_5_0_5b => ShapeKind::Llm(Shape::qwen2_5_0_5b()),
            BenchShape::Qwen3_1_7b => ShapeKind::Llm(Shape::qwen3_1_7b()),
            BenchShape::TinyQwen2 => ShapeKind::Llm(Shape::tiny(Arch::Qwen2)),
            BenchShape::TinyQwen3 => ShapeKind::Llm(Shape::tiny(Arch::Qwen3)),
            BenchShape::TinyLlama => ShapeKind::Llm(Shape::tiny(Arch::Llama)),
            BenchShape::TinyGemma3 => ShapeKind::Llm(Shape::tiny(Arch::Gemma3)),
            BenchShape::OpusMtHiEn => ShapeKind::Marian(MarianShape::opus_mt_base()),
            BenchShape::IndicTrans2Dist200m => {
                ShapeKind::Marian(MarianShape::indictrans2_dist_200m())
            }
            BenchShape::IndicTrans2_1b => ShapeKind::Marian(MarianShape::indictrans2_1b()),
            BenchShape::TinyMarian => ShapeKind::Marian(MarianShape::tiny()),
        }
    }

    /// The name given on the command line.
    pub fn label(self) -> String {
        self.to_possible_value()
            .map(|value| value.get_name().to_string())
            .unwrap_or_default()
    }
}

/// One weight format of an LLM row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmFormat {
    /// An HF folder whose model.safetensors holds this type, loaded in that type.
    Safetensors(DType),
    Gguf(GgufQuant),
}

impl LlmFormat {
    /// Every LLM row of the speed table, in its order.
    pub const TABLE: [LlmFormat; 6] = [
        LlmFormat::Gguf(GgufQuant::Q4KM),
        LlmFormat::Gguf(GgufQuant::Q8_0),
        LlmFormat::Gguf(GgufQuant::F16),
        LlmFormat::Safetensors(DType::F32),
        LlmFormat::Safetensors(DType::BF16),
        LlmFormat::Safetensors(DType::F16),
    ];

    /// `gguf-q4_k_m`, `safetensors-bf16`: the `format` field of the JSON line.
    pub fn label(self) -> String {
        match self {
            LlmFormat::Safetensors(dtype) => format!("safetensors-{}", dtype_name(dtype)),
            LlmFormat::Gguf(quant) => format!("gguf-{}", quant.name()),
        }
    }
}

pub fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "f32",
        DType::F16 => "f16",
        DType::BF16 => "bf16",
        _ => "other",
    }
}

/// One value of `--formats`, before `gguf` takes `--quant` and `all` expands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatChoice {
    /// `gguf`: the type `--quant` names.
    GgufOfQuant,
    One(LlmFormat),
    /// `all`: [`LlmFormat::TABLE`].
    All,
}

pub const FORMATS_HELP: &str = "all, safetensors[-f32], safetensors-bf16, safetensors-f16, \
gguf (of --quant), gguf-q4_k_m, gguf-q8_0, gguf-f16, gguf-f32, gguf-bf16, gguf-q2_k, \
gguf-q3_k_s, gguf-q3_k_m, gguf-q3_k_l, gguf-iq4_nl, gguf-iq4_xs";

impl FromStr for FormatChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim().to_ascii_lowercase();
        let dense = |dtype| Ok(FormatChoice::One(LlmFormat::Safetensors(dtype)));
        match text.as_str() {
            "all" => Ok(FormatChoice::All),
            "gguf" => Ok(FormatChoice::GgufOfQuant),
            "safetensors" | "safetensors-f32" => dense(DType::F32),
            "safetensors-bf16" => dense(DType::BF16),
            "safetensors-f16" => dense(DType::F16),
            _ => text
                .strip_prefix("gguf-")
                .and_then(|quant| quant.parse().ok())
                .map(|quant| FormatChoice::One(LlmFormat::Gguf(quant)))
                .ok_or_else(|| format!("unknown format `{text}`: use {FORMATS_HELP}")),
        }
    }
}

/// The formats to build, in the order asked, each once.
pub fn expand_formats(choices: &[FormatChoice], quant: GgufQuant) -> Vec<LlmFormat> {
    let mut formats = Vec::new();
    for choice in choices {
        let expanded = match choice {
            FormatChoice::GgufOfQuant => vec![LlmFormat::Gguf(quant)],
            FormatChoice::One(format) => vec![*format],
            FormatChoice::All => LlmFormat::TABLE.to_vec(),
        };
        for format in expanded {
            if !formats.contains(&format) {
                formats.push(format);
            }
        }
    }
    formats
}

/// `--kernels`: whose matrix products the rows run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelChoice {
    /// saar's own CPU kernels.
    Saar,
    /// Stock candle's CPU path (what `SAAR_KERNELS=candle` selects).
    Candle,
    /// Both, back to back for each row, saar's first.
    Both,
}

impl KernelChoice {
    pub fn backends(self) -> Vec<Backend> {
        match self {
            KernelChoice::Saar => vec![Backend::Saar],
            KernelChoice::Candle => vec![Backend::Candle],
            KernelChoice::Both => vec![Backend::Saar, Backend::Candle],
        }
    }
}

pub fn parse_backend(name: &str) -> Option<Backend> {
    [Backend::Saar, Backend::Candle]
        .into_iter()
        .find(|backend| backend.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<LlmFormat> {
        let choices: Vec<FormatChoice> = text.split(',').map(|t| t.parse().unwrap()).collect();
        expand_formats(&choices, GgufQuant::Q8_0)
    }

    #[test]
    fn shapes_are_labelled_as_typed() {
        assert_eq!(BenchShape::Qwen2_5_0_5b.label(), "qwen2.5-0.5b");
        assert_eq!(BenchShape::OpusMtHiEn.label(), "opus-mt-hi-en");
        assert_eq!(
            BenchShape::Qwen3_1_7b.kind(),
            ShapeKind::Llm(Shape::qwen3_1_7b())
        );
        assert_eq!(
            BenchShape::OpusMtHiEn.kind(),
            ShapeKind::Marian(MarianShape::opus_mt_base())
        );
    }

    #[test]
    fn formats_parse_and_expand_once_each() {
        assert_eq!(
            parse("safetensors,gguf"),
            [
                LlmFormat::Safetensors(DType::F32),
                LlmFormat::Gguf(GgufQuant::Q8_0)
            ]
        );
        assert_eq!(parse("all"), LlmFormat::TABLE);
        assert_eq!(parse("gguf-f16,all").len(), LlmFormat::TABLE.len());
        assert_eq!(parse("gguf-f16,all")[0], LlmFormat::Gguf(GgufQuant::F16));
        assert_eq!(parse("GGUF-Q4_K_M"), [LlmFormat::Gguf(GgufQuant::Q4KM)]);
        assert!("gguf-q3".parse::<FormatChoice>().is_err());
        assert!("onnx".parse::<FormatChoice>().is_err());
    }

    #[test]
    fn format_labels_name_the_type() {
        let labels: Vec<String> = LlmFormat::TABLE.iter().map(|f| f.label()).collect();
        assert_eq!(
            labels,
            [
                "gguf-q4_k_m",
                "gguf-q8_0",
                "gguf-f16",
                "safetensors-f32",
                "safetensors-bf16",
                "safetensors-f16"
            ]
        );
    }

    #[test]
    fn both_kernels_run_saar_first() {
        assert_eq!(
            KernelChoice::Both.backends(),
            [Backend::Saar, Backend::Candle]
        );
        assert_eq!(parse_backend("candle"), Some(Backend::Candle));
        assert_eq!(parse_backend("mkl"), None);
    }
}
