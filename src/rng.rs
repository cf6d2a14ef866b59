//! A tiny deterministic pseudo-random number generator.
//!
//! Training runs must be reproducible from a seed, and a run started in the
//! browser (wasm32) must make exactly the same choices as the same run started
//! natively. So everything here uses only integer arithmetic and IEEE-754
//! operations that are exactly rounded everywhere (+, -, *, /, sqrt): no
//! platform `ln`/`sin`/`cos`, whose last bits differ between libms.
//!
//! The generator is xoshiro256** (Blackman & Vigna), seeded by running
//! SplitMix64 on the 64-bit seed, which is the seeding its authors recommend.
//! It is not cryptographic, and it does not need to be.

/// One step of SplitMix64: advances `state` and returns the next output.
/// Also used on its own to mix a seed with a stream number.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic xoshiro256** generator. Cloning it forks the sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        // SplitMix64 is a bijection of its counter, so at most one of these four
        // outputs can be zero: the forbidden all-zero state cannot happen.
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Rng { s }
    }

    /// An independent-looking generator for sub-stream `stream` of `seed`
    /// (e.g. one per epoch), so that `(seed, stream)` pairs do not share
    /// sequences the way `new(seed + stream)` would for neighbouring seeds.
    pub fn with_stream(seed: u64, stream: u64) -> Self {
        let mut st = stream ^ 0x5851_F42D_4C95_7F2D;
        let mixed = splitmix64(&mut st);
        Rng::new(seed ^ mixed)
    }

    /// The generator's whole state, to continue its sequence later
    /// ([`Rng::from_state`]): a resumed run draws the same augmentations.
    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    /// The generator [`Rng::state`] was taken from, at the same point of its
    /// sequence. `None` for the all-zero state, which xoshiro cannot leave.
    pub fn from_state(s: [u64; 4]) -> Option<Self> {
        (s != [0; 4]).then_some(Rng { s })
    }

    /// Next 64 uniformly distributed bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), with 24 random bits (every value exactly representable).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    /// Uniform in [0, 1), with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n`, without modulo bias (Lemire's multiply-and-reject).
    /// Returns 0 when `n == 0` rather than panicking.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        if n == 0 {
            return 0;
        }
        let mut m = (self.next_u64() as u128) * (n as u128);
        if (m as u64) < n {
            // Reject the few low products that would over-represent small results.
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = (self.next_u64() as u128) * (n as u128);
            }
        }
        (m >> 64) as usize
    }

    /// Fisher–Yates shuffle in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// Standard normal sample (mean 0, variance 1).
    ///
    /// Box–Muller in Marsaglia's polar form: it needs only `ln` and `sqrt`
    /// (no sin/cos), and `ln` is computed here by a fixed series so that the
    /// result is bit-identical on every platform.
    pub fn normal(&mut self) -> f32 {
        loop {
            let u = 2.0 * self.next_f64() - 1.0;
            let v = 2.0 * self.next_f64() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return (u * (-2.0 * ln(s) / s).sqrt()) as f32;
            }
        }
    }
}

/// Natural logarithm of a positive, normal, finite `x`, using only exactly
/// rounded operations: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), and
/// ln(m) = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...) with t = (m-1)/(m+1), |t| < 0.172.
/// Twelve terms take the series below 1e-17, i.e. to f64 precision.
fn ln(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    // Same mantissa with the exponent of 1.0: m in [1, 2).
    let mut m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    // Horner form of 1 + t2/3 + t2^2/5 + ... + t2^11/23.
    let mut poly = 0.0;
    for k in (0..12).rev() {
        poly = poly * t2 + 1.0 / (2 * k + 1) as f64;
    }
    e as f64 * LN2 + 2.0 * t * poly
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_and_xoshiro_match_reference_values() {
        // Reference values computed with an independent implementation of the
        // published algorithms; they pin the sequence on every platform.
        let mut st = 0u64;
        assert_eq!(splitmix64(&mut st), 0xe220a8397b1dcdaf);
        assert_eq!(splitmix64(&mut st), 0x6e789e6aa1b965f4);
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0x99ec5f36cb75f2b4);
        assert_eq!(r.next_u64(), 0xbf6e1f784956452a);
        let mut r = Rng::new(42);
        let got: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        assert_eq!(
            got,
            [
                0x15780b2e0c2ec716,
                0x6104d9866d113a7e,
                0xae17533239e499a1,
                0xecb8ad4703b360a1
            ]
        );
    }

    #[test]
    fn same_seed_same_sequence_other_seed_other_sequence() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..16).map(|_| r.next_u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..16).map(|_| r.next_u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(8);
            (0..16).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(Rng::with_stream(7, 0), Rng::with_stream(7, 1));
        assert_ne!(Rng::with_stream(7, 1), Rng::with_stream(8, 0));
    }

    #[test]
    fn floats_are_in_unit_interval_and_uniform() {
        let mut r = Rng::new(1);
        let n = 100_000;
        let mut sum = 0.0f64;
        for _ in 0..n {
            let x = r.next_f32();
            assert!((0.0..1.0).contains(&x));
            let y = r.next_f64();
            assert!((0.0..1.0).contains(&y));
            sum += x as f64;
        }
        let mean = sum / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn below_stays_in_range_and_is_roughly_uniform() {
        let mut r = Rng::new(3);
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
        let mut counts = [0usize; 7];
        for _ in 0..70_000 {
            counts[r.below(7)] += 1;
        }
        for c in counts {
            assert!((9_500..10_500).contains(&c), "{counts:?}");
        }
        // A range that does not divide 2^64 still never escapes.
        let big = usize::MAX / 3 * 2;
        for _ in 0..1000 {
            assert!(r.below(big) < big);
        }
    }

    #[test]
    fn shuffle_is_a_permutation_and_depends_on_seed() {
        let mut a: Vec<usize> = (0..100).collect();
        Rng::new(5).shuffle(&mut a);
        let mut b: Vec<usize> = (0..100).collect();
        Rng::new(5).shuffle(&mut b);
        let mut c: Vec<usize> = (0..100).collect();
        Rng::new(6).shuffle(&mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, (0..100).collect::<Vec<_>>());
        a.sort();
        assert_eq!(a, (0..100).collect::<Vec<_>>());
        // Empty and single-element slices are fine.
        Rng::new(0).shuffle::<u8>(&mut []);
        Rng::new(0).shuffle(&mut [1]);
    }

    #[test]
    fn ln_matches_std_closely() {
        for &x in &[
            1e-300, 1e-10, 0.001, 0.1, 0.5, 0.7, 0.99999, 1.0, 1.5, 2.0, 10.0, 1e10,
        ] {
            let (a, b) = (ln(x), x.ln());
            assert!(
                (a - b).abs() <= 1e-15 * b.abs().max(1.0),
                "ln({x}) = {a}, std says {b}"
            );
        }
    }

    #[test]
    fn normal_has_mean_zero_and_unit_variance() {
        let mut r = Rng::new(11);
        let n = 200_000;
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for _ in 0..n {
            let z = r.normal() as f64;
            assert!(z.is_finite());
            s1 += z;
            s2 += z * z;
        }
        let mean = s1 / n as f64;
        let var = s2 / n as f64 - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
        // Determinism across runs.
        let a: Vec<f32> = (0..5).map(|_| Rng::new(2).normal()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
    }
}
