//! Preprocessing and batching, in plain Rust (no tensors): the training loop
//! turns the f32 buffers filled here into tensors.
//!
//! What the ResNet paper does on CIFAR-10 (section 4.2), and how it maps here:
//! - "45k/5k train/val split" -> [`split_train_val`];
//! - "the per-pixel mean subtracted" -> [`pixel_mean`] of the training set,
//!   subtracted in [`fill_batch`] (pixels are scaled to [0,1] first, so the
//!   mean is in [0,1] units too);
//! - "4 pixels are padded on each side, and a 32x32 crop is randomly sampled
//!   from the padded image or its horizontal flip" -> [`Augment`], applied in
//!   [`fill_batch`]. Padding is with 0 *after* mean subtraction (i.e. with the
//!   mean colour), as common implementations do when they pad normalised tensors.
//!
//! Everything random takes a seed or an [`Rng`], so a run is reproducible.

use super::ImageSet;
use crate::rng::Rng;

/// Seeded train/validation split: shuffles the indices with `Rng::new(seed)`
/// and sends the last `val` of them (at most all) to validation. Each part
/// keeps the original order of its images, so `val = 0` returns the set as is.
pub fn split_train_val(set: &ImageSet, val: usize, seed: u64) -> (ImageSet, ImageSet) {
    let (train, valid) = split_indices(set.len(), val, seed);
    (set.select(&train), set.select(&valid))
}

/// The indices [`split_train_val`] sends to training and to validation, in
/// ascending order.
pub fn split_indices(n: usize, val: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let val = val.min(n);
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(seed).shuffle(&mut order);
    let mut valid = order.split_off(n - val);
    order.sort_unstable();
    valid.sort_unstable();
    (order, valid)
}

/// [`pixel_mean`] of the images at `indices`, without copying them: the
/// same numbers as `pixel_mean(&set.select(indices))`.
pub fn pixel_mean_of(set: &ImageSet, indices: &[usize]) -> Vec<f32> {
    let ppi = set.pixels_per_image();
    let mut sums = vec![0u64; ppi];
    for &i in indices {
        for (s, &p) in sums.iter_mut().zip(set.image(i)) {
            *s += p as u64;
        }
    }
    let scale = 255.0 * indices.len().max(1) as f64;
    sums.into_iter().map(|s| (s as f64 / scale) as f32).collect()
}

/// Per-pixel mean over a set: C*H*W floats in [0,1] units (pixel/255).
/// An empty set gives zeros (subtracting them changes nothing).
pub fn pixel_mean(set: &ImageSet) -> Vec<f32> {
    let ppi = set.pixels_per_image();
    let mut sums = vec![0u64; ppi];
    if ppi > 0 {
        for image in set.images.chunks_exact(ppi) {
            for (s, &p) in sums.iter_mut().zip(image) {
                *s += p as u64;
            }
        }
    }
    let scale = 255.0 * set.len().max(1) as f64;
    sums.into_iter()
        .map(|s| (s as f64 / scale) as f32)
        .collect()
}

/// Random crop and flip, the paper's CIFAR-10 augmentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Augment {
    /// Zero padding on each side before the random crop back to full size (4).
    pub pad: usize,
    /// Random horizontal flip with probability 1/2.
    pub flip: bool,
}

impl Augment {
    /// Pad 4, random 32x32 crop, random horizontal flip.
    pub const PAPER: Augment = Augment { pad: 4, flip: true };
}

/// Yields batches of indices in a per-epoch reshuffled order.
///
/// The order of epoch `e` depends only on `(seed, e)`, not on which epochs
/// were drawn before, so a run resumed at epoch `e` sees the same batches.
/// The last, partial batch is kept.
#[derive(Clone, Debug)]
pub struct Batcher {
    len: usize,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    order: Vec<usize>,
}

impl Batcher {
    /// A `batch_size` of 0 is treated as 1.
    pub fn new(len: usize, batch_size: usize, shuffle: bool, seed: u64) -> Self {
        Batcher {
            len,
            batch_size: batch_size.max(1),
            shuffle,
            seed,
            order: Vec::with_capacity(len),
        }
    }

    /// All batches of epoch `epoch`; together they hold every index once.
    pub fn epoch(&mut self, epoch: usize) -> Vec<Vec<usize>> {
        self.order.clear();
        self.order.extend(0..self.len);
        if self.shuffle {
            Rng::with_stream(self.seed, epoch as u64).shuffle(&mut self.order);
        }
        self.order
            .chunks(self.batch_size)
            .map(<[usize]>::to_vec)
            .collect()
    }

    pub fn batches_per_epoch(&self) -> usize {
        self.len.div_ceil(self.batch_size)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }
}

/// Fills `out` with the images at `indices` as f32, [b, c, h, w] row-major,
/// each pixel `pixel/255 - mean[c,y,x]` (`mean` empty = no subtraction), and
/// `labels` with their labels.
///
/// With `aug`, each image is shifted by a random crop offset from the padded
/// image and possibly mirrored; the vacated border is 0 (the mean-subtracted
/// value of an average pixel). The rng draws, per image in order: the row
/// offset, the column offset, then the flip bit if `flip` is on.
///
/// Reuses the buffers: once they have grown to batch size, no allocation.
///
/// # Panics
/// If an index is out of range or `mean` is neither empty nor C*H*W long:
/// both are programming errors, not bad input.
pub fn fill_batch(
    set: &ImageSet,
    indices: &[usize],
    mean: &[f32],
    mut aug: Option<(Augment, &mut Rng)>,
    out: &mut Vec<f32>,
    labels: &mut Vec<i64>,
) {
    let (c, h, w) = (set.channels, set.height, set.width);
    let ppi = c * h * w;
    assert!(
        mean.is_empty() || mean.len() == ppi,
        "fill_batch: mean has {} values, images have {ppi} pixels",
        mean.len()
    );
    // Zero everywhere first: that is also the padding.
    out.clear();
    out.resize(indices.len() * ppi, 0.0);
    labels.clear();
    labels.extend(indices.iter().map(|&i| set.labels[i] as i64));
    // Table lookup instead of a division per pixel; same values as p / 255.
    let scale: [f32; 256] = std::array::from_fn(|p| p as f32 / 255.0);
    for (dst, &i) in out.chunks_exact_mut(ppi.max(1)).zip(indices) {
        let src = set.image(i);
        let Some((a, rng)) = aug.as_mut() else {
            copy_plain(src, mean, dst, &scale);
            continue;
        };
        let span = 2 * a.pad + 1;
        let dy = rng.below(span) as isize - a.pad as isize;
        let dx = rng.below(span) as isize - a.pad as isize;
        let flip = a.flip && rng.next_u64() >> 63 == 1;
        for ch in 0..c {
            let plane = ch * h * w;
            let mean_plane = if mean.is_empty() {
                &[]
            } else {
                &mean[plane..plane + h * w]
            };
            shift_plane(
                &src[plane..plane + h * w],
                mean_plane,
                &mut dst[plane..plane + h * w],
                h,
                w,
                dy,
                dx,
                flip,
                &scale,
            );
        }
    }
}

/// dst = scale[src] - mean, or just scale[src] when `mean` is empty.
fn copy_plain(src: &[u8], mean: &[f32], dst: &mut [f32], scale: &[f32; 256]) {
    if mean.is_empty() {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = scale[s as usize];
        }
    } else {
        for ((d, &s), &m) in dst.iter_mut().zip(src).zip(mean) {
            *d = scale[s as usize] - m;
        }
    }
}

/// One channel of one augmented image. Output pixel (y, x) takes source pixel
/// (y + dy, x + dx), or (y + dy, w-1-x + dx) when flipped (crop first, then
/// mirror the crop); outside the source it stays 0. `dst` must be zeroed.
#[allow(clippy::too_many_arguments)]
fn shift_plane(
    src: &[u8],
    mean: &[f32],
    dst: &mut [f32],
    h: usize,
    w: usize,
    dy: isize,
    dx: isize,
    flip: bool,
    scale: &[f32; 256],
) {
    let (hi, wi) = (h as isize, w as isize);
    // Output columns whose source column is inside the image, and the first
    // and one-past-last source columns they read (reversed when flipped).
    let (x0, x1) = if flip {
        (dx.max(0), (wi + dx).min(wi))
    } else {
        ((-dx).max(0), (wi - dx).min(wi))
    };
    if x0 >= x1 {
        return;
    }
    let (s0, s1) = if flip {
        (wi + dx - x1, wi + dx - x0)
    } else {
        (x0 + dx, x1 + dx)
    };
    let (x0, x1, s0, s1) = (x0 as usize, x1 as usize, s0 as usize, s1 as usize);
    for y in (-dy).max(0)..(hi - dy).min(hi) {
        let sy = (y + dy) as usize;
        let y = y as usize;
        let out = &mut dst[y * w + x0..y * w + x1];
        let pix = &src[sy * w + s0..sy * w + s1];
        match (flip, mean.is_empty()) {
            (false, true) => out
                .iter_mut()
                .zip(pix)
                .for_each(|(d, &p)| *d = scale[p as usize]),
            (true, true) => out
                .iter_mut()
                .zip(pix.iter().rev())
                .for_each(|(d, &p)| *d = scale[p as usize]),
            (false, false) => {
                let m = &mean[sy * w + s0..sy * w + s1];
                out.iter_mut()
                    .zip(pix.iter().zip(m))
                    .for_each(|(d, (&p, &m))| *d = scale[p as usize] - m)
            }
            (true, false) => {
                let m = &mean[sy * w + s0..sy * w + s1];
                out.iter_mut()
                    .zip(pix.iter().zip(m).rev())
                    .for_each(|(d, (&p, &m))| *d = scale[p as usize] - m)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// n single-channel 4x4 images; pixel (y, x) of image k is 16k + 4y + x.
    fn ramp(n: usize) -> ImageSet {
        let images = (0..n * 16).map(|v| v as u8).collect();
        let labels = (0..n).map(|k| (k % 10) as u16).collect();
        ImageSet {
            images,
            labels,
            channels: 1,
            height: 4,
            width: 4,
        }
    }

    #[test]
    fn shift_plane_matches_a_naive_reference() {
        let set = ramp(1);
        let scale: [f32; 256] = std::array::from_fn(|p| p as f32 / 255.0);
        let mean: Vec<f32> = (0..16).map(|v| v as f32 / 100.0).collect();
        for flip in [false, true] {
            for dy in -5..=5 {
                for dx in -5..=5 {
                    for m in [&[][..], &mean[..]] {
                        let mut got = vec![0.0; 16];
                        shift_plane(&set.images, m, &mut got, 4, 4, dy, dx, flip, &scale);
                        for y in 0..4isize {
                            for x in 0..4isize {
                                let sx = if flip { 3 - x + dx } else { x + dx };
                                let sy = y + dy;
                                let want = if (0..4).contains(&sx) && (0..4).contains(&sy) {
                                    let k = (sy * 4 + sx) as usize;
                                    scale[set.images[k] as usize] - m.get(k).copied().unwrap_or(0.0)
                                } else {
                                    0.0
                                };
                                assert_eq!(
                                    got[(y * 4 + x) as usize],
                                    want,
                                    "flip {flip} dy {dy} dx {dx} y {y} x {x}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn batcher_edge_cases() {
        let mut b = Batcher::new(0, 4, true, 1);
        assert_eq!(b.batches_per_epoch(), 0);
        assert!(b.epoch(0).is_empty());
        let mut b = Batcher::new(5, 0, false, 1);
        assert_eq!(b.batch_size(), 1);
        assert_eq!(
            b.epoch(3),
            vec![vec![0], vec![1], vec![2], vec![3], vec![4]]
        );
    }

    #[test]
    fn empty_inputs_do_not_panic() {
        let empty = ImageSet::empty(3, 32, 32);
        assert_eq!(pixel_mean(&empty), vec![0.0; 3072]);
        let (t, v) = split_train_val(&empty, 10, 0);
        assert!(t.is_empty() && v.is_empty());
        let (mut out, mut labels) = (vec![1.0], vec![1]);
        fill_batch(&empty, &[], &[], None, &mut out, &mut labels);
        assert!(out.is_empty() && labels.is_empty());
    }
}
