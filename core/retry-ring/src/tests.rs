use super::*;
use core::time::Duration;
use glomers_node::Time;
use proptest::prelude::*;
use std::cell::Cell;
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use std::vec::Vec;

/// SplitMix64: a tiny seedable generator for the tests (rand_core alone has none).
struct SplitMix(u64);

impl rand_core::RngCore for SplitMix {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

/// `d` in nanoseconds (the delays here stay far below `u64::MAX` nanoseconds or are that).
fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The delay range of `attempt`, in nanoseconds.
fn range(policy: &Backoff, attempt: u32) -> (u64, u64) {
    let (lo, hi) = policy.delay_range(attempt);
    (ns(lo), ns(hi))
}

/// A generator that always yields the same word, to hit the ends of a delay range.
struct Constant(u64);

impl rand_core::RngCore for Constant {
    fn next_u32(&mut self) -> u32 {
        self.0 as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0
    }
    fn fill_bytes(&mut self, dst: &mut [u8]) {
        dst.fill(self.0 as u8);
    }
}

// ---------------------------------------------------------------- RetryRing

#[derive(Clone, Debug)]
enum RingOp {
    Push { dest: u8, due: u16 },
    PopDue(u16),
    NextDue,
    Remove(u8),
    RetainNot(u8),
}

fn ring_ops() -> impl Strategy<Value = Vec<RingOp>> {
    let op = prop_oneof![
        5 => (0u8..4, 0u16..100).prop_map(|(dest, due)| RingOp::Push { dest, due }),
        4 => (0u16..120).prop_map(RingOp::PopDue),
        1 => Just(RingOp::NextDue),
        2 => (0u8..40).prop_map(RingOp::Remove),
        1 => (0u8..4).prop_map(RingOp::RetainNot),
    ];
    proptest::collection::vec(op, 0..200)
}

type Item = Pending<u8, u32>;

/// The model: a plain list of (push order, item).
fn model_pick(model: &[(u64, Item)], pred: impl Fn(&Item) -> bool) -> Option<usize> {
    model
        .iter()
        .enumerate()
        .filter(|(_, (_, it))| pred(it))
        .min_by_key(|(_, (o, it))| (it.due, *o))
        .map(|(i, _)| i)
}

fn run_ring_against_model<const N: usize>(ops: &[RingOp]) -> Result<(), TestCaseError> {
    let mut ring: RetryRing<u8, u32, N> = RetryRing::new();
    let mut model: Vec<(u64, Item)> = Vec::new();
    let mut order = 0u64;
    let mut next_payload = 0u32;
    let mut accepted = BTreeSet::new();
    let mut gone = BTreeSet::new();
    for op in ops {
        match *op {
            RingOp::Push { dest, due } => {
                let item = Pending::new(dest, next_payload, Time::from_nanos(u64::from(due)));
                next_payload += 1;
                match ring.push(item) {
                    Ok(()) => {
                        prop_assert!(model.len() < N, "accepted past capacity");
                        model.push((order, item));
                        order += 1;
                        accepted.insert(item.payload);
                    }
                    Err(back) => {
                        prop_assert_eq!(model.len(), N, "refused while not full");
                        prop_assert_eq!(back, item, "full ring must return the same item");
                    }
                }
            }
            RingOp::PopDue(now) => {
                let now = Time::from_nanos(u64::from(now));
                let want = model_pick(&model, |it| it.due <= now).map(|i| model.remove(i).1);
                let got = ring.pop_due(now);
                prop_assert_eq!(got, want);
                if let Some(it) = got {
                    prop_assert!(gone.insert(it.payload), "popped twice");
                }
            }
            RingOp::NextDue => {
                prop_assert_eq!(ring.next_due(), model.iter().map(|(_, it)| it.due).min());
            }
            RingOp::Remove(p) => {
                let want = model_pick(&model, |it| it.payload % 40 == u32::from(p))
                    .map(|i| model.remove(i).1);
                let got = ring.remove(|it| it.payload % 40 == u32::from(p));
                prop_assert_eq!(got, want);
                if let Some(it) = got {
                    prop_assert!(gone.insert(it.payload), "removed twice");
                }
            }
            RingOp::RetainNot(d) => {
                for (_, it) in model.iter().filter(|(_, it)| it.dest == d) {
                    gone.insert(it.payload);
                }
                model.retain(|(_, it)| it.dest != d);
                ring.retain(|it| it.dest != d);
            }
        }
        prop_assert!(ring.len() <= N && ring.len() == model.len());
        prop_assert_eq!(ring.is_empty(), model.is_empty());
        prop_assert_eq!(ring.is_full(), model.len() == N);
        let mut held: Vec<u32> = ring.iter().map(|it| it.payload).collect();
        held.sort_unstable();
        let mut want: Vec<u32> = model.iter().map(|(_, it)| it.payload).collect();
        want.sort_unstable();
        prop_assert_eq!(held, want);
    }
    // Drain: everything accepted is either gone exactly once or comes out now, due-ordered.
    let mut last = Time::ZERO;
    while let Some(it) = ring.pop_due(Time::MAX) {
        prop_assert!(it.due >= last, "drain out of due order");
        last = it.due;
        prop_assert!(gone.insert(it.payload), "drained an item already gone");
    }
    prop_assert_eq!(gone, accepted, "an item was lost");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ring_matches_model_cap_8(ops in ring_ops()) {
        run_ring_against_model::<8>(&ops)?;
    }

    #[test]
    fn ring_matches_model_cap_1(ops in ring_ops()) {
        run_ring_against_model::<1>(&ops)?;
    }

    #[test]
    fn ring_matches_model_cap_33(ops in ring_ops()) {
        run_ring_against_model::<33>(&ops)?;
    }
}

#[test]
fn ring_capacity_zero_refuses_everything() {
    let mut ring: RetryRing<u8, u32, 0> = RetryRing::new();
    let item = Pending::new(1, 2, Time::from_millis(3));
    assert_eq!(ring.push(item), Err(item));
    assert_eq!(ring.capacity(), 0);
    assert!(ring.is_full() && ring.is_empty());
    assert_eq!(ring.pop_due(Time::MAX), None);
}

#[test]
fn ring_ties_pop_in_push_order() {
    let mut ring: RetryRing<u8, u32, 4> = RetryRing::new();
    for p in 0..4 {
        ring.push(Pending::new(0, p, Time::from_millis(10)))
            .unwrap();
    }
    assert_eq!(ring.pop_due(Time::from_millis(9)), None);
    let order: Vec<u32> =
        core::iter::from_fn(|| ring.pop_due(Time::from_millis(10)).map(|i| i.payload)).collect();
    assert_eq!(order, [0, 1, 2, 3]);
}

// ---------------------------------------------------------------- Backoff

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Equal)]
}

fn backoff() -> impl Strategy<Value = Backoff> {
    (
        prop_oneof![0u64..1000, Just(u64::MAX / 3)],
        prop_oneof![0u64..100_000, Just(u64::MAX)],
        0u32..20,
        jitter(),
    )
        .prop_map(|(b, c, m, j)| {
            Backoff::new(Duration::from_nanos(b), Duration::from_nanos(c), m, j)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn backoff_bounds_and_give_up(policy in backoff(), attempt in 0u32..80, now in 0u64..1 << 50, seed: u64) {
        let mut rng = SplitMix(seed);
        let (lo, hi) = range(&policy, attempt);
        let cap = ns(policy.cap);
        prop_assert!(lo <= hi && hi <= cap);
        let (lo2, hi2) = range(&policy, attempt + 1);
        prop_assert!(lo <= lo2 && hi <= hi2, "delay range decreased");
        prop_assert!(policy.ceiling(attempt) <= policy.ceiling(attempt + 1));
        if (1..60).contains(&attempt) {
            let doubled = ns(policy.base).checked_mul(1 << (attempt - 1));
            prop_assert_eq!(
                ns(policy.ceiling(attempt)),
                doubled.map_or(cap, |d| d.min(cap))
            );
        }
        let at = Time::from_nanos(now);
        match policy.schedule(attempt, at, &mut rng) {
            Retry::GiveUp => prop_assert!(attempt >= policy.max_attempts),
            Retry::At(due) => {
                prop_assert!(attempt < policy.max_attempts);
                let due = due.as_nanos();
                if due < u64::MAX {
                    // Not saturated: the delay itself lies in the range.
                    let delay = due - now;
                    prop_assert!((lo..=hi).contains(&delay), "delay {} outside {:?}", delay, (lo, hi));
                } else {
                    prop_assert!(now.checked_add(lo).is_none_or(|_| now.checked_add(hi).is_none()));
                }
            }
        }
        // The ends of the range are reachable and never overshot.
        if attempt < policy.max_attempts {
            prop_assert_eq!(policy.schedule(attempt, at, &mut Constant(0)), Retry::At(Time::from_nanos(now.saturating_add(lo))));
            prop_assert_eq!(policy.schedule(attempt, at, &mut Constant(u64::MAX)), Retry::At(Time::from_nanos(now.saturating_add(hi))));
        }
    }

    #[test]
    fn reschedule_gives_up_after_exactly_max_attempts(policy in backoff(), seed: u64) {
        let mut rng = SplitMix(seed);
        let mut item: Item = Pending::new(1, 7, Time::ZERO);
        let mut sends = 0u32;
        let mut now = Time::ZERO;
        loop {
            sends += 1; // the caller sends `item` now
            match policy.reschedule(item, now, &mut rng) {
                Rescheduled::Due(next) => {
                    prop_assert_eq!(next.attempt, sends);
                    prop_assert!(next.due >= now);
                    prop_assert_eq!((next.dest, next.payload), (1, 7));
                    now = next.due;
                    item = next;
                }
                Rescheduled::GaveUp(last) => {
                    prop_assert_eq!(last.attempt, sends);
                    prop_assert_eq!(last.due, item.due, "give-up keeps the due time");
                    break;
                }
            }
            prop_assert!(sends <= policy.max_attempts, "sent more than max_attempts");
        }
        prop_assert_eq!(sends, policy.max_attempts.max(1));
    }
}

#[test]
fn backoff_sample_means_follow_the_range_and_do_not_decrease() {
    for jitter in [Jitter::None, Jitter::Full, Jitter::Equal] {
        let policy = Backoff::new(
            Duration::from_millis(16),
            Duration::from_millis(5000),
            64,
            jitter,
        );
        let mut rng = SplitMix(42);
        let mut prev_mean = 0.0f64;
        for attempt in 1..16 {
            let (lo, hi) = range(&policy, attempt);
            let n = 4000;
            let sum: u64 = (0..n)
                .map(|_| match policy.schedule(attempt, Time::ZERO, &mut rng) {
                    Retry::At(d) => d.as_nanos(),
                    Retry::GiveUp => panic!("gave up before max_attempts"),
                })
                .sum();
            let mean = sum as f64 / f64::from(n);
            let expect = (lo + hi) as f64 / 2.0;
            let tol = 0.05 * hi as f64 + 1.0;
            assert!(
                (mean - expect).abs() <= tol,
                "{jitter:?} attempt {attempt}: mean {mean}, expected {expect}"
            );
            assert!(
                mean + tol >= prev_mean,
                "{jitter:?}: mean fell at attempt {attempt}"
            );
            prev_mean = mean;
        }
    }
}

// ---------------------------------------------------------------- MpRing

#[derive(Clone, Debug)]
enum QueueOp {
    Push(u32),
    Pop,
}

fn queue_ops() -> impl Strategy<Value = Vec<QueueOp>> {
    let op = prop_oneof![(any::<u32>()).prop_map(QueueOp::Push), Just(QueueOp::Pop)];
    proptest::collection::vec(op, 0..300)
}

fn run_queue_against_model<const N: usize>(ops: &[QueueOp]) -> Result<(), TestCaseError> {
    let ring: MpRing<u32, N> = MpRing::new();
    let mut model = VecDeque::new();
    for op in ops {
        match *op {
            QueueOp::Push(v) => {
                let got = ring.push(v);
                if model.len() < N {
                    prop_assert_eq!(got, Ok(()));
                    model.push_back(v);
                } else {
                    prop_assert_eq!(got, Err(v));
                }
            }
            QueueOp::Pop => prop_assert_eq!(ring.pop(), model.pop_front()),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mpring_matches_vecdeque_cap_2(ops in queue_ops()) {
        run_queue_against_model::<2>(&ops)?;
    }

    #[test]
    fn mpring_matches_vecdeque_cap_8(ops in queue_ops()) {
        run_queue_against_model::<8>(&ops)?;
    }
}

struct Counted(Rc<Cell<usize>>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[test]
fn mpring_drops_each_value_exactly_once() {
    let drops = Rc::new(Cell::new(0));
    {
        let ring: MpRing<Counted, 4> = MpRing::new();
        for _ in 0..4 {
            assert!(ring.push(Counted(drops.clone())).is_ok());
        }
        // Full: the value comes back (and is dropped here, by the caller).
        assert!(ring.push(Counted(drops.clone())).is_err());
        assert_eq!(drops.get(), 1);
        drop(ring.pop());
        drop(ring.pop());
        assert_eq!(drops.get(), 3);
        // Wrap around once so the queued values straddle the end of the array.
        assert!(ring.push(Counted(drops.clone())).is_ok());
    }
    // 3 values were still queued when the ring was dropped.
    assert_eq!(drops.get(), 6);
}

static GLOBAL_RING: MpRing<u64, 16> = MpRing::new();

#[test]
fn mpring_two_producers_one_consumer_no_loss_no_duplicate() {
    const PER_PRODUCER: u64 = 50_000;
    let ring = &GLOBAL_RING;
    let received = std::thread::scope(|s| {
        for producer in 0..2u64 {
            s.spawn(move || {
                for k in 0..PER_PRODUCER {
                    let mut v = (producer << 32) | k;
                    // Full: retry. The consumer keeps draining, so this terminates.
                    while let Err(back) = ring.push(v) {
                        v = back;
                        std::thread::yield_now();
                    }
                }
            });
        }
        let consumer = s.spawn(move || {
            let mut got = Vec::with_capacity(2 * PER_PRODUCER as usize);
            while got.len() < 2 * PER_PRODUCER as usize {
                match ring.pop() {
                    Some(v) => got.push(v),
                    None => std::thread::yield_now(),
                }
            }
            got
        });
        consumer.join().unwrap()
    });
    assert_eq!(ring.pop(), None, "extra values appeared");
    let mut next = [0u64; 2];
    for v in received {
        let (p, k) = ((v >> 32) as usize, v & 0xFFFF_FFFF);
        assert_eq!(
            k, next[p],
            "producer {p}: lost, duplicated or reordered value"
        );
        next[p] += 1;
    }
    assert_eq!(next, [PER_PRODUCER; 2]);
}
