//! int8 inference (SPEC §5): symmetric per-output-channel int8 weights,
//! activations quantized per document (per row) on the fly to unsigned 7-bit
//! codes (`reduce_range`, as FBGEMM's dynamic quantization), i32
//! accumulation, dequantized f32 results.

pub mod activation;
pub mod forward;
pub mod kernels;
pub mod plan;
pub mod weights;

pub use activation::{Arithmetic, QParams, choose_qparams, choose_qparams_fbgemm, quantize_row};
pub use forward::{
    Int8Batch, Int8Output, Int8Scratch, RowQuantizer, forward_int8, forward_int8_batch,
    input_codes, unit_row_code,
};
pub use kernels::{
    DenseInt8, Int8Kernel, PackedInt8, ScalarKernel, available_kernels, default_kernel,
};
pub use plan::{Plan, PlanChoice};
pub use weights::{Int8Weights, PackedLayers, ZeroPoints, quantize_per_row};
