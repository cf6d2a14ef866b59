//! The matmul routine for software adapters: cubek's `CpuGemm` (tiled,
//! register-blocked, written for CPU runtimes) instead of Burn's default,
//! the multi-level "simple unit" routine built for GPUs. On SwiftShader the
//! default ran ResLab's dense layers 3-5x slower (BENCHMARKS.md, "the
//! matmul routine on a software adapter").

use burn::backend::DType;
use burn_backend::cubecl::dtype_to_storage_type;
use burn_cubecl::{kernel::matmul::init_matmul_output, tensor::CubeTensor};
use cubek::{
    matmul::{
        definition::{MatmulElems, MatmulGlobalElems},
        launch::launch_ref,
        strategy::Strategy,
        tiled::Strategy as TiledStrategy,
    },
    std::InputBinding,
};

/// `lhs @ rhs` by `CpuGemm`, or `None` when the routine refuses the problem
/// at setup (a layout or dtype it does not take; nothing was launched).
pub(crate) fn cpu_gemm(lhs: &CubeTensor, rhs: &CubeTensor) -> Option<CubeTensor> {
    if lhs.dtype != DType::F32 || rhs.dtype != DType::F32 || lhs.qparams.is_some() || rhs.qparams.is_some() {
        return None;
    }
    let out = init_matmul_output(lhs, rhs, DType::F32);
    let f32 = dtype_to_storage_type(DType::F32);
    let mut dtypes = MatmulElems::from_globals(&MatmulGlobalElems { lhs: f32, rhs: f32, out: f32 });
    launch_ref(
        &Strategy::from(TiledStrategy::CpuGemm(Default::default())),
        &out.client,
        InputBinding::new(lhs.clone().binding(), f32),
        InputBinding::new(rhs.clone().binding(), f32),
        out.clone().binding(),
        &mut dtypes,
    )
    .ok()?;
    Some(out)
}
