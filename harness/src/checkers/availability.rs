//! The `:availability` checker (Maelstrom `checker.clj` `availability-checker`).
//!
//! `ok_fraction` = `ok` completions / invocations over the client operations of the whole
//! history (1 when there are none). Without a target it is reported and always valid;
//! [`Availability::Total`] needs every operation to succeed; [`Availability::Fraction`]
//! `a` needs `a <= ok_fraction`, compared as Maelstrom does (the fraction rounded to a
//! 32-bit float).

use std::str::FromStr;

use serde_json::json;

use crate::checker::{CheckResult, Validity};
use crate::history::{History, OpType};

/// The `--availability` target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Availability {
    /// Every client operation must complete `ok`.
    Total,
    /// At least this fraction (in `[0, 1]`) of invocations must complete `ok`.
    Fraction(f64),
}

/// Why an `--availability` argument was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AvailabilityParseError {
    /// Neither `total` nor a number.
    #[error("availability must be `total` or a number in [0, 1], got {0:?}")]
    NotANumber(String),
    /// A number outside `[0, 1]`.
    #[error("availability fraction must be in [0, 1], got {0}")]
    OutOfRange(f64),
}

impl FromStr for Availability {
    type Err = AvailabilityParseError;

    /// `total` (also `:total`), or a number in `[0, 1]`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("total") || t.eq_ignore_ascii_case(":total") {
            return Ok(Availability::Total);
        }
        let x: f64 = t
            .parse()
            .map_err(|_| AvailabilityParseError::NotANumber(s.to_string()))?;
        if !(0.0..=1.0).contains(&x) {
            return Err(AvailabilityParseError::OutOfRange(x));
        }
        Ok(Availability::Fraction(x))
    }
}

/// Checks availability against an optional target. Output: `valid`, `ok_fraction`,
/// `ok_count`, `invoke_count`.
pub fn check(h: &History, a: Option<Availability>) -> CheckResult {
    let mut oks = 0usize;
    let mut invokes = 0usize;
    for op in h.ops.iter().filter(|o| o.is_client()) {
        match op.kind {
            OpType::Invoke => invokes += 1,
            OpType::Ok => oks += 1,
            _ => {}
        }
    }
    let frac32: f32 = if invokes == 0 {
        1.0
    } else {
        (oks as f64 / invokes as f64) as f32
    };
    let valid = match a {
        None => true,
        Some(Availability::Total) => frac32 == 1.0,
        Some(Availability::Fraction(x)) => x <= f64::from(frac32),
    };
    let problems = if valid {
        vec![]
    } else {
        vec![format!(
            "availability: {oks} of {invokes} operations succeeded (ok fraction {frac32}), below the target {}",
            match a {
                Some(Availability::Fraction(x)) => x.to_string(),
                _ => "total".to_string(),
            }
        )]
    };
    let valid = Validity::from_bool(valid);
    CheckResult::new(
        valid,
        problems,
        json!({
            "valid": valid.to_json(),
            "ok_fraction": frac32,
            "ok_count": oks,
            "invoke_count": invokes,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::testkit::Hb;
    use proptest::prelude::*;

    fn hist(ok: usize, bad: usize) -> History {
        let mut b = Hb::new();
        for i in 0..ok {
            b.op(i as u64, "read", json!(null), OpType::Ok, json!(1));
        }
        for i in 0..bad {
            b.op(
                100 + i as u64,
                "read",
                json!(null),
                OpType::Info,
                json!(null),
            );
        }
        b.nemesis("start-partition");
        b.build()
    }

    #[test]
    fn parses() {
        assert_eq!("total".parse::<Availability>(), Ok(Availability::Total));
        assert_eq!(
            "0.99".parse::<Availability>(),
            Ok(Availability::Fraction(0.99))
        );
        assert!("1.5".parse::<Availability>().is_err());
        assert!("most".parse::<Availability>().is_err());
    }

    #[test]
    fn total_vs_fraction() {
        let h = hist(99, 1);
        assert_eq!(check(&h, None).valid, Validity::Valid);
        assert_eq!(
            check(&h, Some(Availability::Total)).valid,
            Validity::Invalid
        );
        assert_eq!(
            check(&h, Some(Availability::Fraction(0.99))).valid,
            Validity::Valid
        );
        assert_eq!(
            check(&h, Some(Availability::Fraction(0.995))).valid,
            Validity::Invalid
        );
        assert_eq!(
            check(&hist(5, 0), Some(Availability::Total)).valid,
            Validity::Valid
        );
        assert_eq!(
            check(&History::default(), Some(Availability::Total)).valid,
            Validity::Valid
        );
        let r = check(&h, Some(Availability::Total));
        assert_eq!(r.details["invoke_count"], json!(100));
        assert_eq!(r.details["ok_count"], json!(99));
    }

    proptest! {
        #[test]
        fn fraction_threshold_is_monotone(ok in 0usize..20, bad in 0usize..20, t in 0.0f64..=1.0) {
            let h = hist(ok, bad);
            let r = check(&h, Some(Availability::Fraction(t)));
            let f = r.details["ok_fraction"].as_f64().unwrap_or(-1.0);
            prop_assert_eq!(r.valid == Validity::Valid, t <= f);
            prop_assert!((0.0..=1.0).contains(&f));
        }
    }
}
