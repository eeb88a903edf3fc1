//! int8 inference (SPEC §5): symmetric per-output-channel int8 weights,
//! activations quantized per document (per row) on the fly to unsigned 7-bit
//! codes (`reduce_range`, as FBGEMM's dynamic quantization), i32
//! accumulation, dequantized f32 results.

pub mod activation;
pub mod forward;
pub mod kernel;
pub mod weights;

pub use activation::{Arithmetic, QParams, choose_qparams, choose_qparams_fbgemm, quantize_row};
pub use forward::{Int8Output, Int8Scratch, forward_int8, input_codes, unit_row_code};
pub use kernel::{Int8Kernel, ScalarKernel, available_kernels, default_kernel};
pub use weights::{Int8Weights, ZeroPoints, quantize_per_row};
