//! The device the model-parity tests run on: the CPU, unless `SAAR_TEST_DEVICE` names a
//! GPU (`cuda`, `cuda:N`, `metal`, `metal:N`). scripts/gpu/run.sh sets it to run the very
//! same claims, with the same tolerances, through a `--features cuda` test binary on a
//! lent GPU machine; without it the tests stay on the CPU, as CI runs them.

use std::sync::OnceLock;

use candle_core::{DType, Device};
use saar::engine::Placement;

/// The device named by `SAAR_TEST_DEVICE`, made once per test binary (a GPU context
/// is costly to create).
pub fn test_device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE
        .get_or_init(|| {
            let spec = std::env::var("SAAR_TEST_DEVICE").unwrap_or_default();
            let (kind, ordinal) = spec.split_once(':').unwrap_or((spec.as_str(), "0"));
            let bad = |why: String| -> ! {
                panic!("SAAR_TEST_DEVICE={spec}: {why} (expected cpu, cuda[:N] or metal[:N])")
            };
            let ordinal: usize = ordinal
                .parse()
                .unwrap_or_else(|_| bad(format!("`{ordinal}` is no device number")));
            match kind {
                "" | "cpu" => Device::Cpu,
                "cuda" => Device::new_cuda(ordinal).unwrap_or_else(|e| bad(e.to_string())),
                "metal" => Device::new_metal(ordinal).unwrap_or_else(|e| bad(e.to_string())),
                other => bad(format!("unknown device `{other}`")),
            }
        })
        .clone()
}

/// The test device with `dtype` asked for explicitly (a GPU would otherwise default
/// to a 16-bit type, and the f32 claims must hold in f32 there too).
pub fn test_placement(dtype: DType) -> Placement {
    Placement {
        device: test_device(),
        dtype: Some(dtype),
    }
}
