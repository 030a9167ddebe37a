//! Random spans drawn from a caller-owned seeded RNG.
//!
//! Every uniform span of the simulation (the pacer's gaps, a duplicate's extra delay, the
//! kafka generator's crash and poll spacing) is drawn here, as one integer of nanoseconds
//! from the stream, so that a run stays reproducible from its seed.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::Rng;

/// A span uniform on `[0, below)`, in whole nanoseconds: one draw of
/// `random_range(0..n)` for `below` = n ns (saturating at `u64::MAX` ns). A zero `below`
/// gives zero and draws nothing.
pub fn uniform_span(below: Duration, rng: &mut StdRng) -> Duration {
    match u64::try_from(below.as_nanos()).unwrap_or(u64::MAX) {
        0 => Duration::ZERO,
        n => Duration::from_nanos(rng.random_range(0..n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn zero_draws_nothing() {
        let mut a = StdRng::seed_from_u64(5);
        let mut b = StdRng::seed_from_u64(5);
        assert_eq!(uniform_span(Duration::ZERO, &mut a), Duration::ZERO);
        assert_eq!(a.random::<u64>(), b.random::<u64>());
    }

    #[test]
    fn a_huge_bound_saturates_instead_of_failing() {
        let mut rng = StdRng::seed_from_u64(9);
        let d = uniform_span(Duration::MAX, &mut rng);
        assert!(d < Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn every_nanosecond_below_the_bound_is_drawn() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut seen = [0u32; 4];
        for _ in 0..4000 {
            let d = uniform_span(Duration::from_nanos(4), &mut rng);
            seen[usize::try_from(d.as_nanos()).expect("small")] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
    }

    proptest! {
        /// The draw is the stream's integer draw on the bound's nanoseconds.
        #[test]
        fn one_integer_draw_of_the_nanoseconds(seed: u64, n in 1u64..u64::MAX) {
            let mut a = StdRng::seed_from_u64(seed);
            let mut b = StdRng::seed_from_u64(seed);
            let d = uniform_span(Duration::from_nanos(n), &mut a);
            prop_assert!(d < Duration::from_nanos(n));
            prop_assert_eq!(d, Duration::from_nanos(b.random_range(0..n)));
            prop_assert_eq!(a.random::<u64>(), b.random::<u64>());
        }
    }
}
