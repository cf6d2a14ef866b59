//! f32 2-D convolution for training, forward and both backward
//! passes, each as one im2col + GEMM per image.
//!
//! Why: upstream Flex 0.22.1 has no backward kernels of its own, so Burn's
//! defaults apply. The weight gradient is computed as a *convolution with the
//! batch as channels* (two large NCHW transposes, then a conv whose "kernel"
//! is the whole output map), and the input gradient as a transposed
//! convolution. On ResNet-20 at batch 128 that left GEMM at ~30 % of a step.
//! Here every pass is the GEMM it mathematically is:
//!
//!   forward      Y_b  [co, P] = W   [co, K] · col(X_b) [K, P]
//!   input grad   dX_b         = col2im( Wᵀ [K, co] · dY_b [co, P] )
//!   weight grad  dW   [co, K] = Σ_b dY_b [co, P] · col(X_b)ᵀ [P, K]
//!
//! with K = c_in·kh·kw and P = h_out·w_out (per group, with groups: the
//! rows of col and W of one group are contiguous blocks). Transposes are only
//! strides given to `gemm`, never copies. Other dtypes than f32 take Flex's
//! own convolution (mod.rs).

use burn::backend::{Bytes, DType, Shape, TensorMetadata, ops::ConvOptions};
use burn_flex::{FlexTensor, Layout};

/// The shapes of one convolution.
#[derive(Clone, Copy, Debug)]
struct Geom {
    n: usize,
    c_in: usize,
    h: usize,
    w: usize,
    c_out: usize,
    groups: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    ph: usize,
    pw: usize,
    dh: usize,
    dw: usize,
    oh: usize,
    ow: usize,
}

impl Geom {
    fn new(x: &[usize], wt: &[usize], o: &ConvOptions<2>, out_hw: Option<(usize, usize)>) -> Self {
        let (oh, ow) = out_hw.unwrap_or_else(|| {
            let span = |len: usize, (pb, pe): (usize, usize), k: usize, s: usize, d: usize| {
                (len + pb + pe).saturating_sub(d * (k - 1) + 1) / s + 1
            };
            (
                span(x[2], o.padding[0], wt[2], o.stride[0], o.dilation[0]),
                span(x[3], o.padding[1], wt[3], o.stride[1], o.dilation[1]),
            )
        });
        Geom {
            n: x[0],
            c_in: x[1],
            h: x[2],
            w: x[3],
            c_out: wt[0],
            groups: o.groups,
            kh: wt[2],
            kw: wt[3],
            sh: o.stride[0],
            sw: o.stride[1],
            ph: o.padding[0].0,
            pw: o.padding[1].0,
            dh: o.dilation[0],
            dw: o.dilation[1],
            oh,
            ow,
        }
    }
    fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
    /// Rows of col (and columns of W) per group, and output channels per group.
    fn kg(&self) -> usize {
        self.k() / self.groups
    }
    fn cog(&self) -> usize {
        self.c_out / self.groups
    }
    fn p(&self) -> usize {
        self.oh * self.ow
    }
    /// A 1×1, stride-1, unpadded conv: im2col(X_b) is X_b itself.
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.sh == 1 && self.sw == 1 && self.ph == 0 && self.pw == 0
    }
    /// The output positions `lo..hi` whose input index `o·s − p + k·d` lies in `0..len`.
    fn valid(out: usize, len: usize, s: usize, p: usize, k: usize, d: usize) -> (usize, usize) {
        let off = (k * d) as isize - p as isize;
        let lo = if off >= 0 { 0 } else { ((-off) as usize).div_ceil(s) };
        let hi = if (len as isize) - off <= 0 {
            0
        } else {
            (((len as isize - off - 1) as usize) / s + 1).min(out)
        };
        (lo.min(hi), hi)
    }
}

/// Whether the GEMM path handles these tensors directly (f32 throughout).
pub(crate) fn applicable(tensors: &[&FlexTensor]) -> bool {
    tensors.iter().all(|t| t.dtype() == DType::F32)
}

/// Unfolds one image `[c_in, h, w]` into `col [K, P]`.
fn im2col(g: &Geom, x: &[f32], col: &mut [f32]) {
    let p = g.p();
    for c in 0..g.c_in {
        let plane = &x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ki in 0..g.kh {
            let (oy_lo, oy_hi) = Geom::valid(g.oh, g.h, g.sh, g.ph, ki, g.dh);
            for kj in 0..g.kw {
                let (ox_lo, ox_hi) = Geom::valid(g.ow, g.w, g.sw, g.pw, kj, g.dw);
                let row = &mut col[((c * g.kh + ki) * g.kw + kj) * p..][..p];
                row[..oy_lo * g.ow].fill(0.0);
                row[oy_hi * g.ow..].fill(0.0);
                if g.sh == 1 && g.sw == 1 && g.ow == g.w {
                    contiguous_rows(g, plane, row, (ki, kj), (oy_lo, oy_hi), (ox_lo, ox_hi));
                    continue;
                }
                for oy in oy_lo..oy_hi {
                    let iy = oy * g.sh + ki * g.dh - g.ph;
                    let dst = &mut row[oy * g.ow..(oy + 1) * g.ow];
                    dst[..ox_lo].fill(0.0);
                    dst[ox_hi..].fill(0.0);
                    if ox_lo == ox_hi {
                        continue;
                    }
                    let ix0 = ox_lo * g.sw + kj * g.dw - g.pw;
                    let src = &plane[iy * g.w..(iy + 1) * g.w];
                    if g.sw == 1 {
                        dst[ox_lo..ox_hi].copy_from_slice(&src[ix0..ix0 + (ox_hi - ox_lo)]);
                    } else {
                        for (i, d) in dst[ox_lo..ox_hi].iter_mut().enumerate() {
                            *d = src[ix0 + i * g.sw];
                        }
                    }
                }
            }
        }
    }
}

/// `im2col`'s rows `oy_lo..oy_hi` of one kernel offset `(ki, kj)` for a
/// stride-1 conv whose output rows are as wide as its input's (e.g. 3×3 with
/// padding 1): in the flattened image that part of the row is then the plane
/// shifted by a constant, so it is one copy, after which the columns whose
/// input lies beyond the image's left or right edge (wrapped around from the
/// neighbouring row) are zeroed. Why: the general path copies each output row
/// on its own, and in wasm every short `copy_from_slice`/`fill` is a
/// `memory.copy`/`memory.fill` call out of the compiled code; with ResNet-20's
/// 32-float rows im2col took ~11 % of a training step in Chromium.
fn contiguous_rows(
    g: &Geom,
    plane: &[f32],
    row: &mut [f32],
    (ki, kj): (usize, usize),
    (oy_lo, oy_hi): (usize, usize),
    (ox_lo, ox_hi): (usize, usize),
) {
    if oy_lo >= oy_hi {
        return;
    }
    let ow = g.ow;
    let (a, b) = (oy_lo * ow, oy_hi * ow);
    if ox_lo >= ox_hi {
        row[a..b].fill(0.0);
        return;
    }
    // row[i] = plane[i + off] wherever that lies in the plane.
    let off = (ki * g.dh) as isize * g.w as isize - (g.ph * g.w) as isize + (kj * g.dw) as isize - g.pw as isize;
    let lo = (a as isize).max(-off) as usize;
    let hi = (b as isize).min(plane.len() as isize - off) as usize;
    row[a..lo].fill(0.0);
    row[hi..b].fill(0.0);
    row[lo..hi].copy_from_slice(&plane[(lo as isize + off) as usize..(hi as isize + off) as usize]);
    // Column by column (a strided loop, not turned into a `memory.fill` per row).
    for ox in (0..ox_lo).chain(ox_hi..ow) {
        for oy in oy_lo..oy_hi {
            row[oy * ow + ox] = 0.0;
        }
    }
}

/// A zeroed `Vec<f32>` of `n` floats, zeroed over rayon's pool when there is
/// one. Why: an allocator's zeroing runs on the calling thread while the pool
/// waits; for a training step's large activations (conv outputs, input
/// gradients, batch norm) that was ~4 % of a ResNet-20 step in the browser
/// on two threads, all of it serial.
pub(crate) fn zeroed(n: usize) -> Vec<f32> {
    #[cfg(feature = "rayon")]
    {
        use core::mem::MaybeUninit;
        use rayon::prelude::*;
        const CHUNK: usize = 1 << 16;
        if n >= 4 * CHUNK {
            let mut v: Vec<f32> = Vec::with_capacity(n);
            v.spare_capacity_mut()[..n]
                .par_chunks_mut(CHUNK)
                .for_each(|c| c.fill(MaybeUninit::new(0.0)));
            // SAFETY: all n elements were just written.
            unsafe { v.set_len(n) };
            return v;
        }
    }
    vec![0.0f32; n]
}

/// Folds `col [K, P]` back onto one image `[c_in, h, w]`, adding (the adjoint of `im2col`).
fn col2im(g: &Geom, col: &[f32], x: &mut [f32]) {
    let p = g.p();
    for c in 0..g.c_in {
        let plane = &mut x[c * g.h * g.w..(c + 1) * g.h * g.w];
        for ki in 0..g.kh {
            let (oy_lo, oy_hi) = Geom::valid(g.oh, g.h, g.sh, g.ph, ki, g.dh);
            for kj in 0..g.kw {
                let (ox_lo, ox_hi) = Geom::valid(g.ow, g.w, g.sw, g.pw, kj, g.dw);
                if ox_lo == ox_hi {
                    continue;
                }
                let row = &col[((c * g.kh + ki) * g.kw + kj) * p..][..p];
                for oy in oy_lo..oy_hi {
                    let iy = oy * g.sh + ki * g.dh - g.ph;
                    let ix0 = ox_lo * g.sw + kj * g.dw - g.pw;
                    let src = &row[oy * g.ow + ox_lo..oy * g.ow + ox_hi];
                    let dst = &mut plane[iy * g.w..(iy + 1) * g.w];
                    if g.sw == 1 {
                        for (d, s) in dst[ix0..ix0 + src.len()].iter_mut().zip(src) {
                            *d += *s;
                        }
                    } else {
                        for (i, s) in src.iter().enumerate() {
                            dst[ix0 + i * g.sw] += *s;
                        }
                    }
                }
            }
        }
    }
}

/// `dst [m, n] = (accumulate ? dst : 0) + lhs · rhs`, every operand given by
/// (pointer, column stride, row stride) so that transposes cost nothing; dst
/// is row-major.
///
/// How gemm sees the operands decides what it copies. It computes a
/// row-major dst as the transposed product (dstᵀ = rhsᵀ · lhsᵀ), so the `rhs`
/// given here becomes its left operand, and it wants that operand
/// column-major in its own terms: here, `rhs` with its rows contiguous
/// (row stride 1 after the swap means column stride 1 here). A left operand
/// the other way round is packed element by element for every call.
#[allow(clippy::too_many_arguments)]
fn gemm_f32(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    lhs: (&[f32], isize, isize),
    rhs: (&[f32], isize, isize),
) {
    gemm_f32_strided(m, n, k, (dst, 1, n as isize), accumulate, lhs, rhs);
}

/// [`gemm_f32`] with dst given as (slice, column stride, row stride) too.
#[allow(clippy::too_many_arguments)]
fn gemm_f32_strided(
    m: usize,
    n: usize,
    k: usize,
    dst: (&mut [f32], isize, isize),
    accumulate: bool,
    lhs: (&[f32], isize, isize),
    rhs: (&[f32], isize, isize),
) {
    let (dst, dst_cs, dst_rs) = dst;
    debug_assert!(m == 0 || n == 0 || dst.len() as isize > (m as isize - 1) * dst_rs + (n as isize - 1) * dst_cs);
    // SAFETY: the caller's slices cover m·k, k·n and m·n elements at the given strides.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs,
            dst_rs,
            accumulate,
            lhs.0.as_ptr(),
            lhs.1,
            lhs.2,
            rhs.0.as_ptr(),
            rhs.1,
            rhs.2,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `dst [cols, rows] = src [rows, cols]ᵀ`, in cache-sized tiles.
fn transpose(src: &[f32], rows: usize, cols: usize, dst: &mut [f32]) {
    const T: usize = 32;
    for r0 in (0..rows).step_by(T) {
        for c0 in (0..cols).step_by(T) {
            for r in r0..(r0 + T).min(rows) {
                for c in c0..(c0 + T).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
}

/// Runs `f(b, out_chunk, scratch)` for every image, over rayon's pool when
/// there is one. `scratch` holds `scratch_len` floats of unspecified content,
/// one buffer per worker reused across images (a fresh one per image was a
/// page-faulting allocation and a memset each time).
fn for_each_image<F>(out: &mut [f32], per_image: usize, scratch_len: usize, f: F)
where
    F: Fn(usize, &mut [f32], &mut [f32]) + Send + Sync,
{
    if per_image == 0 {
        return;
    }
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(per_image)
            .enumerate()
            .for_each_init(|| vec![0.0f32; scratch_len], |s, (b, o)| f(b, o, s));
    }
    #[cfg(not(feature = "rayon"))]
    {
        let mut s = vec![0.0f32; scratch_len];
        for (b, o) in out.chunks_mut(per_image).enumerate() {
            f(b, o, &mut s);
        }
    }
}

/// W `[c_out, K]` rearranged per group as column-major `[cog, kg]` blocks
/// (element (i, j) of group g at `g·cog·kg + j·cog + i`). Written when W was
/// taken for gemm's left operand; after gemm's swap (see `gemm_f32`) it is the
/// right one, so this copy may not pay: not re-measured since.
fn weight_col_major(ws: &[f32], groups: usize, cog: usize, kg: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; ws.len()];
    for gi in 0..groups {
        let off = gi * cog * kg;
        transpose(&ws[off..off + cog * kg], cog, kg, &mut out[off..off + cog * kg]);
    }
    out
}

fn f32_data(t: &FlexTensor) -> FlexTensor {
    t.to_contiguous()
}

fn tensor(data: Vec<f32>, dims: Vec<usize>) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(Shape::from(dims)), DType::F32)
}

/// Forward: `[n, c_in, h, w] ⊛ [c_out, c_in, kh, kw] (+ bias) → [n, c_out, oh, ow]`.
pub(crate) fn conv2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let (x, weight) = (f32_data(&x), f32_data(&weight));
    let g = Geom::new(x.layout().shape(), weight.layout().shape(), options, None);
    let bias = bias.map(|b| f32_data(&b));
    let (xs, ws): (&[f32], &[f32]) = (x.storage(), weight.storage());
    let bs: Option<&[f32]> = bias.as_ref().map(|b| b.storage());
    let (k, p) = (g.k(), g.p());
    let (kg, cog) = (g.kg(), g.cog());
    let wcm = weight_col_major(ws, g.groups, cog, kg);
    let mut out = zeroed(g.n * g.c_out * p);
    let scratch = if g.is_pointwise() { 0 } else { k * p };
    for_each_image(&mut out, g.c_out * p, scratch, |b, y, col| {
        let xb = &xs[b * g.c_in * g.h * g.w..(b + 1) * g.c_in * g.h * g.w];
        if let Some(bs) = bs {
            for (co, row) in y.chunks_mut(p).enumerate() {
                row.fill(bs[co]);
            }
        }
        let col: &[f32] = if g.is_pointwise() {
            xb
        } else {
            im2col(&g, xb, col);
            col
        };
        // Y_b [c_out, P] (+)= W [c_out, K] · col [K, P], per group
        for gi in 0..g.groups {
            let yg = &mut y[gi * cog * p..(gi + 1) * cog * p];
            let (wg, cg) = (&wcm[gi * cog * kg..], &col[gi * kg * p..]);
            gemm_f32(cog, p, kg, yg, bs.is_some(), (wg, cog as isize, 1), (cg, 1, p as isize));
        }
    });
    tensor(out, vec![g.n, g.c_out, g.oh, g.ow])
}

/// Input gradient: `dX_b = col2im(Wᵀ · dY_b)`.
pub(crate) fn conv2d_x_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let (weight, dy) = (f32_data(&weight), f32_data(&output_grad));
    let og = dy.layout().shape();
    let xshape = x.shape();
    let g = Geom::new(&xshape, weight.layout().shape(), options, Some((og[2], og[3])));
    let (ws, dys): (&[f32], &[f32]) = (weight.storage(), dy.storage());
    let (k, p) = (g.k(), g.p());
    let mut dx = zeroed(g.n * g.c_in * g.h * g.w);
    let scratch = if g.is_pointwise() { 0 } else { k * p };
    for_each_image(&mut dx, g.c_in * g.h * g.w, scratch, |b, dxb, dcol| {
        let dyb = &dys[b * g.c_out * p..(b + 1) * g.c_out * p];
        // Wᵀ [K, c_out]: element (i, j) is W[j·K + i] → column stride K, row stride 1.
        let (kg, cog) = (g.kg(), g.cog());
        let dcol_of = |dcol: &mut [f32]| {
            for gi in 0..g.groups {
                let (wg, dyg) = (&ws[gi * cog * kg..], &dyb[gi * cog * p..]);
                let dst = &mut dcol[gi * kg * p..(gi + 1) * kg * p];
                // accumulate = false: gemm overwrites dst, whatever the scratch held.
                gemm_f32(kg, p, cog, dst, false, (wg, kg as isize, 1), (dyg, 1, p as isize));
            }
        };
        if g.is_pointwise() {
            dcol_of(dxb);
        } else {
            dcol_of(&mut dcol[..k * p]);
            col2im(&g, dcol, dxb);
        }
    });
    tensor(dx, vec![g.n, g.c_in, g.h, g.w])
}

/// Weight gradient: `dW = Σ_b dY_b · col(X_b)ᵀ`, the batch split across threads
/// with one partial sum each.
pub(crate) fn conv2d_weight_backward(
    x: FlexTensor,
    weight: FlexTensor,
    output_grad: FlexTensor,
    options: &ConvOptions<2>,
) -> FlexTensor {
    let (x, dy) = (f32_data(&x), f32_data(&output_grad));
    let og = dy.layout().shape();
    let wshape = weight.shape();
    let g = Geom::new(x.layout().shape(), &wshape, options, Some((og[2], og[3])));
    let (xs, dys): (&[f32], &[f32]) = (x.storage(), dy.storage());
    let (k, p) = (g.k(), g.p());
    let (kg, cog) = (g.kg(), g.cog());
    // Each partial sum is dWᵀ, per group a column-major [cog, kg] block
    // (element (co, j) of group g at g·cog·kg + j·cog + co), turned into
    // dW's row-major layout once at the end. Why: with a column-major dst gemm
    // takes dY_b as its left operand as given. Both dY_b and col have P (the
    // summed dimension) contiguous, and gemm wants its left operand with the
    // other dimension contiguous; a row-major dst made col the left operand,
    // packed element by element for every image (~14 % of a ResNet-20 step).
    // One copy of dY_b as dY_bᵀ [P, c_out] costs far less (native ResNet-20, b128:
    // 1,015 → 749 ms a step on one thread). In Chromium that packing was 6.7 %
    // of a step's time on the pool (by its profiler), and is 1.2 % this way.
    let partial = |images: core::ops::Range<usize>| {
        let mut dwt = vec![0.0f32; g.c_out * kg];
        let mut col = if g.is_pointwise() { Vec::new() } else { vec![0.0f32; k * p] };
        let mut dyt = vec![0.0f32; g.c_out * p];
        for (i, b) in images.enumerate() {
            let xb = &xs[b * g.c_in * g.h * g.w..(b + 1) * g.c_in * g.h * g.w];
            let dyb = &dys[b * g.c_out * p..(b + 1) * g.c_out * p];
            let c: &[f32] = if g.is_pointwise() {
                xb
            } else {
                im2col(&g, xb, &mut col);
                &col
            };
            transpose(dyb, g.c_out, p, &mut dyt);
            for gi in 0..g.groups {
                let dwg = &mut dwt[gi * cog * kg..(gi + 1) * cog * kg];
                // dY_g [cog, P]: element (i, j) is dyt[j·c_out + gi·cog + i] → row stride 1.
                // colᵀ [P, kg]: element (i, j) is col[j·P + i] → column stride P, row stride 1.
                let (dyg, cg) = (&dyt[gi * cog..], &c[gi * kg * p..]);
                let (lhs, rhs) = ((dyg, g.c_out as isize, 1), (cg, p as isize, 1));
                gemm_f32_strided(cog, kg, p, (dwg, cog as isize, 1), i > 0, lhs, rhs);
            }
        }
        dwt
    };
    #[cfg(feature = "rayon")]
    let dwt = {
        use rayon::prelude::*;
        // A few chunks per thread, so that a thread that starts late (or a
        // slower one) does not leave the others waiting at the end.
        let chunks = (4 * rayon::current_num_threads()).clamp(1, g.n.max(1));
        let per = g.n.div_ceil(chunks);
        (0..chunks)
            .into_par_iter()
            .map(|t| partial(t * per..((t + 1) * per).min(g.n)))
            .reduce_with(|mut a, b| {
                a.iter_mut().zip(&b).for_each(|(a, b)| *a += *b);
                a
            })
            .unwrap_or_else(|| vec![0.0f32; g.c_out * kg])
    };
    #[cfg(not(feature = "rayon"))]
    let dwt = partial(0..g.n);
    // dWᵀ blocks [kg, cog] (row-major view of the column-major [cog, kg]) → dW [cog, kg] per group.
    let mut dw = vec![0.0f32; g.c_out * kg];
    for gi in 0..g.groups {
        let off = gi * cog * kg;
        transpose(&dwt[off..off + cog * kg], kg, cog, &mut dw[off..off + cog * kg]);
    }
    tensor(dw, vec![g.c_out, g.c_in / g.groups, g.kh, g.kw])
}

/// Bias gradient: the sum of `dY` over images and positions.
pub(crate) fn conv2d_bias_backward(output_grad: FlexTensor) -> FlexTensor {
    let dy = f32_data(&output_grad);
    let s = dy.layout().shape();
    let (n, c, p) = (s[0], s[1], s[2] * s[3]);
    let dys: &[f32] = dy.storage();
    let mut db = vec![0.0f32; c];
    for b in 0..n {
        for (co, acc) in db.iter_mut().enumerate() {
            *acc += dys[(b * c + co) * p..][..p].iter().sum::<f32>();
        }
    }
    tensor(db, vec![c])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct convolution, for checking.
    fn naive(g: &Geom, x: &[f32], w: &[f32]) -> Vec<f32> {
        let mut y = vec![0.0; g.n * g.c_out * g.p()];
        for b in 0..g.n {
            for co in 0..g.c_out {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let mut s = 0.0;
                        let cig = g.c_in / g.groups;
                        for cl in 0..cig {
                            let ci = co / g.cog() * cig + cl;
                            for ki in 0..g.kh {
                                for kj in 0..g.kw {
                                    let iy = (oy * g.sh + ki * g.dh) as isize - g.ph as isize;
                                    let ix = (ox * g.sw + kj * g.dw) as isize - g.pw as isize;
                                    if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                        continue;
                                    }
                                    s += x[((b * g.c_in + ci) * g.h + iy as usize) * g.w + ix as usize]
                                        * w[((co * cig + cl) * g.kh + ki) * g.kw + kj];
                                }
                            }
                        }
                        y[((b * g.c_out + co) * g.oh + oy) * g.ow + ox] = s;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn im2col_then_col2im_is_adjoint() {
        // <im2col(x), c> == <x, col2im(c)> for any x, c: checks both against each other
        // over strides, paddings and dilations, including outputs that see only padding.
        let mut seed = 7u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for &(h, w, kh, kw, s, p, d, groups) in &[
            (5, 7, 3, 3, 1, 1, 1, 1),
            (8, 8, 3, 3, 2, 1, 1, 1),
            (6, 5, 1, 1, 2, 0, 1, 1),
            (6, 5, 1, 1, 1, 0, 1, 2),
            (4, 4, 3, 3, 1, 3, 2, 1),
            (9, 3, 2, 3, 3, 2, 1, 2),
            // Stride 1 with output rows as wide as the input's (im2col's contiguous path),
            // with dilation, kernels taller than the image, and rows seeing only padding.
            (6, 9, 5, 5, 1, 2, 1, 1),
            (7, 6, 3, 3, 1, 2, 2, 1),
            (3, 4, 5, 3, 1, 1, 1, 1),
            (2, 5, 1, 5, 1, 2, 1, 2),
        ] {
            let o = ConvOptions::new([s, s], [p, p], [d, d], groups);
            let c_out = 2 * groups;
            let g = Geom::new(&[1, 2, h, w], &[c_out, 2 / groups, kh, kw], &o, None);
            let x: Vec<f32> = (0..2 * h * w).map(|_| rnd()).collect();
            let c: Vec<f32> = (0..g.k() * g.p()).map(|_| rnd()).collect();
            let mut col = vec![f32::NAN; g.k() * g.p()];
            im2col(&g, &x, &mut col);
            let mut back = vec![0.0; 2 * h * w];
            col2im(&g, &c, &mut back);
            let lhs: f32 = col.iter().zip(&c).map(|(a, b)| a * b).sum();
            let rhs: f32 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-3, "{h}x{w} k{kh}x{kw} s{s} p{p} d{d} g{groups}: {lhs} vs {rhs}");

            let wt: Vec<f32> = (0..c_out * g.kg()).map(|_| rnd()).collect();
            let want = naive(&Geom { n: 1, ..g }, &x, &wt);
            let y = conv2d(
                tensor(x.clone(), vec![1, 2, h, w]),
                tensor(wt, vec![c_out, 2 / groups, kh, kw]),
                None,
                &o,
            );
            let got: &[f32] = y.storage();
            for (a, b) in got.iter().zip(&want) {
                assert!((a - b).abs() < 1e-4, "forward {a} vs {b}");
            }
        }
    }

    #[test]
    fn backward_passes_are_the_adjoints_of_the_forward() {
        // conv is linear in x and in W, so for any dY:
        //   <conv(x, W), dY> = <x, dX(dY)> = <W, dW(dY)>.
        let mut seed = 3u32;
        let mut rnd = || {
            seed = seed.wrapping_mul(1664525).wrapping_add(1013904223);
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(a, b)| (*a as f64) * (*b as f64)).sum::<f64>();
        for &(n, c_in, c_out, h, w, k, s, p, groups) in &[
            (3, 4, 6, 7, 6, 3, 1, 1, 1),
            (5, 4, 8, 8, 8, 3, 2, 1, 2),
            (2, 3, 5, 6, 6, 1, 2, 0, 1),
            (4, 16, 16, 8, 8, 3, 1, 1, 1),
        ] {
            let o = ConvOptions::new([s, s], [p, p], [1, 1], groups);
            let xd = vec![n, c_in, h, w];
            let wd = vec![c_out, c_in / groups, k, k];
            let x: Vec<f32> = (0..xd.iter().product()).map(|_| rnd()).collect();
            let wt: Vec<f32> = (0..wd.iter().product()).map(|_| rnd()).collect();
            let y = conv2d(tensor(x.clone(), xd.clone()), tensor(wt.clone(), wd.clone()), None, &o);
            let yd = y.layout().shape().to_vec();
            let dy: Vec<f32> = (0..y.layout().shape().num_elements()).map(|_| rnd()).collect();
            let lhs = dot(y.storage(), &dy);
            let dx = conv2d_x_backward(tensor(x.clone(), xd.clone()), tensor(wt.clone(), wd.clone()), tensor(dy.clone(), yd.clone()), &o);
            let dw = conv2d_weight_backward(tensor(x.clone(), xd.clone()), tensor(wt.clone(), wd.clone()), tensor(dy.clone(), yd), &o);
            assert_eq!(dx.layout().shape().to_vec(), xd);
            assert_eq!(dw.layout().shape().to_vec(), wd);
            let (via_x, via_w) = (dot(&x, dx.storage()), dot(&wt, dw.storage()));
            let tol = 1e-3 * (1.0 + lhs.abs());
            assert!((lhs - via_x).abs() < tol, "dX: {lhs} vs {via_x}");
            assert!((lhs - via_w).abs() < tol, "dW: {lhs} vs {via_w}");
        }
    }
}
