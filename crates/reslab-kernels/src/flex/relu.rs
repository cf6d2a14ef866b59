//! ReLU and its backward pass on large contiguous f32 tensors, in place when
//! the tensor is not shared, split over rayon's pool.
//!
//! Why: Flex runs every element-wise op on the calling thread, and with a
//! training step's activations (ResNet-20 at batch 128: 2M floats each) that
//! serial time left the other threads idle. Smaller tensors, other dtypes and
//! builds without a pool return `Err` and take Flex's own ReLU.

#[cfg(feature = "rayon")]
use burn::backend::{Bytes, DType};
use burn_flex::FlexTensor;
#[cfg(feature = "rayon")]
use burn_flex::Layout;

/// From this many elements a tensor is split over the pool (Flex's own
/// threshold for its parallel ops).
#[cfg(feature = "rayon")]
const PARALLEL_THRESHOLD: usize = 256 * 1024;

#[cfg(feature = "rayon")]
const PAR_CHUNK: usize = 16 * 1024;

/// The f32 storage of `t` when it is unique, contiguous from offset 0 and large
/// enough to split, else `None`.
#[cfg(feature = "rayon")]
fn par_target(t: &FlexTensor) -> Option<usize> {
    match t.layout().contiguous_offsets() {
        Some((0, end))
            if t.dtype() == DType::F32 && end >= PARALLEL_THRESHOLD =>
        {
            Some(end)
        }
        _ => None,
    }
}

#[cfg(feature = "rayon")]
fn par_relu(mut tensor: FlexTensor) -> Result<FlexTensor, FlexTensor> {
    use core::mem::MaybeUninit;
    use rayon::prelude::*;
    // NaN propagates, as in Flex's own ReLU and in PyTorch.
    let relu = |x: f32| if x.is_nan() || x > 0.0 { x } else { 0.0 };
    let Some(n) = par_target(&tensor) else {
        return Err(tensor);
    };
    if tensor.is_unique() {
        let xs: &mut [f32] = &mut tensor.storage_mut()[..n];
        xs.par_chunks_mut(PAR_CHUNK).for_each(|c| c.iter_mut().for_each(|x| *x = relu(*x)));
        return Ok(tensor);
    }
    // Shared (autodiff keeps the input for another node's backward pass): a new tensor.
    let xs: &[f32] = &tensor.storage()[..n];
    let mut out: Vec<f32> = Vec::with_capacity(n);
    out.spare_capacity_mut()[..n]
        .par_chunks_mut(PAR_CHUNK)
        .zip(xs.par_chunks(PAR_CHUNK))
        .for_each(|(o, x)| o.iter_mut().zip(x).for_each(|(o, &x)| *o = MaybeUninit::new(relu(x))));
    // SAFETY: all n elements were just written.
    unsafe { out.set_len(n) };
    let shape = tensor.layout().shape().clone();
    Ok(FlexTensor::new(
        Bytes::from_elems(out),
        Layout::contiguous(shape),
        DType::F32,
    ))
}

#[cfg(feature = "rayon")]
fn par_relu_backward(
    mut output: FlexTensor,
    mut grad: FlexTensor,
) -> Result<FlexTensor, (FlexTensor, FlexTensor)> {
    use rayon::prelude::*;
    let (Some(n), Some(m)) = (par_target(&output), par_target(&grad)) else {
        return Err((output, grad));
    };
    if n != m || output.layout().shape() != grad.layout().shape() {
        return Err((output, grad));
    }
    let keep = |out: f32, g: f32| if out.is_nan() || out > 0.0 { g } else { 0.0 };
    if grad.is_unique() {
        let outs: &[f32] = &output.storage()[..n];
        let gs: &mut [f32] = &mut grad.storage_mut()[..n];
        gs.par_chunks_mut(PAR_CHUNK).zip(outs.par_chunks(PAR_CHUNK)).for_each(|(g, o)| {
            for (g, &o) in g.iter_mut().zip(o) {
                *g = keep(o, *g);
            }
        });
        return Ok(grad);
    }
    if output.is_unique() {
        let gs: &[f32] = &grad.storage()[..n];
        let outs: &mut [f32] = &mut output.storage_mut()[..n];
        outs.par_chunks_mut(PAR_CHUNK).zip(gs.par_chunks(PAR_CHUNK)).for_each(|(o, g)| {
            for (o, &g) in o.iter_mut().zip(g) {
                *o = keep(*o, g);
            }
        });
        return Ok(output);
    }
    Err((output, grad))
}

/// ReLU over the pool, or `Err(x)` when this tensor is not for it.
pub(super) fn parallel(x: FlexTensor) -> Result<FlexTensor, FlexTensor> {
    #[cfg(feature = "rayon")]
    return par_relu(x);
    #[cfg(not(feature = "rayon"))]
    Err(x)
}

/// ReLU's backward pass over the pool, or `Err` with both operands back.
pub(super) fn parallel_backward(output: FlexTensor, grad: FlexTensor) -> Result<FlexTensor, (FlexTensor, FlexTensor)> {
    #[cfg(feature = "rayon")]
    return par_relu_backward(output, grad);
    #[cfg(not(feature = "rayon"))]
    Err((output, grad))
}

#[cfg(all(test, feature = "rayon"))]
mod tests {
    use super::*;
    use burn::backend::TensorData;

    fn ext_relu(x: FlexTensor) -> FlexTensor {
        parallel(x).expect("large f32 tensors go over the pool")
    }

    fn ext_relu_backward(output: FlexTensor, grad: FlexTensor) -> FlexTensor {
        match parallel_backward(output, grad) {
            Ok(dx) => dx,
            // Both shared: Flex's own backward pass, as in `ResLabOps for Flex`.
            Err((o, g)) => <burn::backend::Flex as burn::backend::ops::ActivationOps<burn::backend::Flex>>::relu_backward(o, g),
        }
    }

    /// The parallel in-place ReLU paths (large unique f32
    /// tensors) give exactly the serial result, NaN included, whichever
    /// operand of the backward pass is written, and leave shared tensors alone.
    #[test]
    fn relu_parallel_paths_match_the_serial_ones() {
        let n = 3 * PARALLEL_THRESHOLD + 5;
        let mut seed = 11u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let mut x: Vec<f32> = (0..n).map(|_| rnd()).collect();
        x[7] = f32::NAN;
        let g: Vec<f32> = (0..n).map(|_| rnd()).collect();
        let t = |v: &Vec<f32>| FlexTensor::from_data(TensorData::new(v.clone(), [n]));
        let vals = |t: FlexTensor| t.into_data().try_to_vec::<f32>().unwrap();
        let relu = |x: f32| if x.is_nan() || x > 0.0 { x } else { 0.0 };
        let same = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));

        let want: Vec<f32> = x.iter().map(|&v| relu(v)).collect();
        assert!(same(&vals(ext_relu(t(&x))), &want));
        // A shared input is not written in place.
        let shared = t(&x);
        let y = ext_relu(shared.clone());
        assert!(same(&vals(y), &want));
        assert!(same(&vals(shared), &x));

        let out = t(&want);
        let want_dx: Vec<f32> = want.iter().zip(&g).map(|(&o, &g)| if o.is_nan() || o > 0.0 { g } else { 0.0 }).collect();
        // grad unique (written), output unique, then both shared (serial path).
        assert!(same(&vals(ext_relu_backward(out.clone(), t(&g))), &want_dx));
        assert!(same(&vals(ext_relu_backward(t(&want), t(&g))), &want_dx));
        let g_shared = t(&g);
        assert!(same(&vals(ext_relu_backward(t(&want), g_shared.clone())), &want_dx));
        assert!(same(&vals(ext_relu_backward(out.clone(), g_shared.clone())), &want_dx));
        assert!(same(&vals(g_shared), &g));
        assert!(same(&vals(out), &want));
    }
}
