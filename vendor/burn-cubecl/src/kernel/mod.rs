mod binary;
mod binary_float;
mod binary_int;
mod cast;
mod clamp;
mod comparison;
mod contiguous;
mod cross;
mod index;
mod mask;
mod memory_order;
mod unary_float;
mod unary_int;
mod unary_numeric;

pub(crate) use binary::*;
pub(crate) use binary_float::*;
pub(crate) use binary_int::*;
pub use cast::*;
pub use contiguous::*;
pub(crate) use cross::*;
pub use mask::*;
pub(crate) use unary_float::*;
pub(crate) use unary_int::*;
pub(crate) use unary_numeric::*;

pub use crate::cubecl::prelude::KernelMetadata;

// ResLab patch: on a software WebGPU adapter (SwiftShader, llvmpipe: the
// GPU's work runs on the CPU's cores, an invocation is a lane of a SIMD
// register and every storage read a gather) Burn's default matmul and
// convolution kernels, written for GPUs, ran several times slower than
// kernels that do more arithmetic per read. With this switch on, matmuls
// run cubek's `CpuGemm` routine (`matmul/base.rs`), 2-D convolutions a
// register-blocked kernel (`conv/software.rs`), batch normalisation in
// training three kernels each way (`batch_norm.rs`) and ReLU one
// (`relu.rs`). GPUs keep the defaults.
static SOFTWARE_KERNELS: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// ResLab patch: run matmuls, 2-D convolutions, batch normalisation in
/// training and ReLU with the kernels written for a software adapter (on), or with
/// Burn's defaults (off, the default).
pub fn set_software_kernels(on: bool) {
    SOFTWARE_KERNELS.store(on, core::sync::atomic::Ordering::Relaxed);
}

/// ResLab patch: whether the kernels for a software adapter are on.
pub fn software_kernels() -> bool {
    SOFTWARE_KERNELS.load(core::sync::atomic::Ordering::Relaxed)
}

/// Attention kernels
pub mod attention;
/// ResLab patch: batch normalisation kernels for software adapters.
pub(crate) mod batch_norm;
/// ResLab patch: ReLU kernels for software adapters.
pub(crate) mod relu;
/// Convolution kernels
pub mod conv;
/// CTC loss kernel
pub mod ctc;
/// FFT algorithms
#[cfg(feature = "fft")]
pub mod fft;
/// Grid sampling kernels
pub mod grid_sample;
/// Interpolation kernels
pub mod interpolate;
/// Matmul kernels
pub mod matmul;
/// Pooling kernels
pub mod pool;
/// Pseudo-random number generator kernels
pub mod prng;
/// Quantization operations
pub mod quantization;
/// Reduction algorithms
pub mod reduce;

pub(crate) use clamp::*;
pub(crate) use comparison::*;
pub use index::*;

pub(crate) mod utils;
