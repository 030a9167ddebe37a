//! One-way message latency between non-client nodes (reference 4.1).
//!
//! Messages to or from a client get zero latency; that rule lives in [`super::net`]. This
//! module only draws the server latency from `--latency M --latency-dist D`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::Rng;

/// The shape of the latency distribution, as named by `--latency-dist`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LatencyDist {
    /// Always exactly the mean (Maelstrom's default).
    #[default]
    Constant,
    /// An integer uniform on `[0, 2M)`: 0 … 2M−1 ms, mean M − ½.
    Uniform,
    /// Exponential with mean M, truncated to whole milliseconds.
    Exponential,
}

/// The `--latency-dist` value was not one Maelstrom knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown latency distribution {0:?}: expected constant, uniform or exponential")]
pub struct UnknownLatencyDist(pub String);

impl FromStr for LatencyDist {
    type Err = UnknownLatencyDist;

    /// Parses `constant`, `uniform` or `exponential` (exactly).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "constant" => Ok(LatencyDist::Constant),
            "uniform" => Ok(LatencyDist::Uniform),
            "exponential" => Ok(LatencyDist::Exponential),
            other => Err(UnknownLatencyDist(other.to_owned())),
        }
    }
}

impl fmt::Display for LatencyDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LatencyDist::Constant => "constant",
            LatencyDist::Uniform => "uniform",
            LatencyDist::Exponential => "exponential",
        })
    }
}

/// Why a latency setting was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LatencyError {
    /// The mean is so large that a span of `2 × mean` milliseconds would not fit on the
    /// run's clock (`u64` nanoseconds).
    #[error("mean latency {mean_ms} ms is too large (at most {max_ms} ms)")]
    MeanTooLarge {
        /// The mean asked for.
        mean_ms: u64,
        /// The largest mean accepted, [`Latency::MAX_MEAN_MS`].
        max_ms: u64,
    },
}

/// A latency model: a mean in milliseconds and a distribution shape.
///
/// Invariant: `mean_ms <= MAX_MEAN_MS`, so every uniform draw (< 2 × mean) fits on the
/// run's clock (`u64` nanoseconds).
///
/// A mean of 0 draws 0 for every distribution. (Maelstrom divides by zero for
/// `exponential` and cannot draw for `uniform` with `--latency 0`; zero latency is the only
/// meaningful reading of that setting.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    mean_ms: u64,
    dist: LatencyDist,
}

impl Default for Latency {
    /// Maelstrom's default: constant 0 ms.
    fn default() -> Self {
        Latency {
            mean_ms: 0,
            dist: LatencyDist::Constant,
        }
    }
}

impl Latency {
    /// The largest accepted mean: `2 × MAX_MEAN_MS × 1e6` fits in `u64`.
    pub const MAX_MEAN_MS: u64 = u64::MAX / 2 / 1_000_000;

    /// A latency model with mean `mean_ms` and shape `dist`.
    pub fn new(mean_ms: u64, dist: LatencyDist) -> Result<Self, LatencyError> {
        if mean_ms > Self::MAX_MEAN_MS {
            return Err(LatencyError::MeanTooLarge {
                mean_ms,
                max_ms: Self::MAX_MEAN_MS,
            });
        }
        Ok(Latency { mean_ms, dist })
    }

    /// The mean, in milliseconds.
    pub fn mean_ms(&self) -> u64 {
        self.mean_ms
    }

    /// The distribution shape.
    pub fn dist(&self) -> LatencyDist {
        self.dist
    }

    /// Draws one latency, in whole milliseconds as Maelstrom does: exactly M for
    /// `constant`; an integer uniform on `[0, 2M)` for `uniform`; `floor(X)` with X
    /// exponential of mean M for `exponential` (saturating at `u64::MAX` ms). Always zero
    /// when M is 0; draws nothing from `rng` for `constant` or M = 0.
    pub fn draw(&self, rng: &mut StdRng) -> Duration {
        Duration::from_millis(self.draw_ms(rng))
    }

    /// [`Latency::draw`]'s whole milliseconds.
    fn draw_ms(&self, rng: &mut StdRng) -> u64 {
        if self.mean_ms == 0 {
            return 0;
        }
        match self.dist {
            LatencyDist::Constant => self.mean_ms,
            LatencyDist::Uniform => rng.random_range(0..2 * self.mean_ms),
            LatencyDist::Exponential => {
                // Inverse-CDF sampling; 1 - u lies in (0, 1], so the logarithm is finite.
                // (rand_distr is not a workspace dependency; this one line is the whole
                // distribution.)
                let u: f64 = rng.random();
                let x = -(self.mean_ms as f64) * (1.0 - u).ln();
                // `as` saturates for floats above u64::MAX and maps -0.0 to 0.
                x as u64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn parse_names() {
        assert_eq!("constant".parse(), Ok(LatencyDist::Constant));
        assert_eq!("uniform".parse(), Ok(LatencyDist::Uniform));
        assert_eq!("exponential".parse(), Ok(LatencyDist::Exponential));
        assert_eq!(
            "normal".parse::<LatencyDist>(),
            Err(UnknownLatencyDist("normal".into()))
        );
        for d in [
            LatencyDist::Constant,
            LatencyDist::Uniform,
            LatencyDist::Exponential,
        ] {
            assert_eq!(d.to_string().parse(), Ok(d));
        }
    }

    #[test]
    fn zero_mean_is_zero_for_every_shape() {
        let mut rng = StdRng::seed_from_u64(1);
        for d in [
            LatencyDist::Constant,
            LatencyDist::Uniform,
            LatencyDist::Exponential,
        ] {
            let l = Latency::new(0, d).expect("valid");
            assert!((0..1000).all(|_| l.draw_ms(&mut rng) == 0), "{d}");
        }
    }

    #[test]
    fn too_large_mean_is_refused() {
        assert!(Latency::new(Latency::MAX_MEAN_MS, LatencyDist::Uniform).is_ok());
        assert_eq!(
            Latency::new(Latency::MAX_MEAN_MS + 1, LatencyDist::Constant),
            Err(LatencyError::MeanTooLarge {
                mean_ms: Latency::MAX_MEAN_MS + 1,
                max_ms: Latency::MAX_MEAN_MS
            })
        );
    }

    #[test]
    fn uniform_covers_exactly_zero_to_two_m_exclusive() {
        let mut rng = StdRng::seed_from_u64(7);
        let l = Latency::new(3, LatencyDist::Uniform).expect("valid");
        let mut seen = [0u32; 6];
        for _ in 0..6000 {
            let x = l.draw_ms(&mut rng);
            assert!(x < 6, "{x} out of [0, 6)");
            seen[x as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 700), "every value drawn: {seen:?}");
    }

    #[test]
    fn exponential_mean_is_close_to_m() {
        // Truncation lowers the mean by about ½ ms; 20k samples of mean 100 have a
        // standard error of about 0.7 ms.
        let mut rng = StdRng::seed_from_u64(11);
        let l = Latency::new(100, LatencyDist::Exponential).expect("valid");
        let n = 20_000;
        let sum: u64 = (0..n).map(|_| l.draw_ms(&mut rng)).sum();
        let mean = sum as f64 / n as f64;
        assert!((95.0..104.0).contains(&mean), "mean {mean}");
    }

    proptest! {
        #[test]
        fn same_seed_same_draws(seed: u64, mean in 0u64..10_000, which in 0usize..3) {
            let d = [LatencyDist::Constant, LatencyDist::Uniform, LatencyDist::Exponential][which];
            let l = Latency::new(mean, d).expect("valid");
            let mut a = StdRng::seed_from_u64(seed);
            let mut b = StdRng::seed_from_u64(seed);
            let xs: Vec<u64> = (0..50).map(|_| l.draw_ms(&mut a)).collect();
            let ys: Vec<u64> = (0..50).map(|_| l.draw_ms(&mut b)).collect();
            prop_assert_eq!(&xs, &ys);
            if d == LatencyDist::Constant {
                prop_assert!(xs.iter().all(|&x| x == mean));
            }
            if d == LatencyDist::Uniform {
                prop_assert!(xs.iter().all(|&x| x < (2 * mean).max(1)));
            }
            if d == LatencyDist::Constant {
                prop_assert_eq!(l.draw(&mut a), Duration::from_millis(mean));
            }
        }
    }
}
