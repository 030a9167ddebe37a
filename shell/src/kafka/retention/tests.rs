use super::*;

fn retention() -> Retention {
    Retention::new(RetentionConfig::default(), Time::ZERO, 1)
}

fn at(secs: u64) -> Time {
    Time::from_secs(secs)
}

fn positions(from: Offset) -> BTreeMap<Key, Offset> {
    [(Key::from("k"), from)].into_iter().collect()
}

/// Client `src` polls `k` from `from` at `now` and is returned entries up to `last`.
fn polled(r: &mut Retention, now: Time, src: &str, from: Offset, last: Offset) {
    r.on_request(now, src, ClientEvent::Poll(&positions(from)));
    r.on_polled(now, src, vec![(Key::from("k"), from, last)]);
}

fn delivered(r: &Retention) -> Offset {
    r.marks("k").0
}

#[test]
fn a_poll_counts_as_delivered_only_after_its_commit_and_a_next_request() {
    let mut r = retention();
    polled(&mut r, at(0), "c1", 0, 9);
    assert_eq!(delivered(&r), 0, "its commit has not come");
    r.on_request(at(0), "c1", ClientEvent::Commit);
    assert_eq!(delivered(&r), 0, "the commit's reply may still be lost");
    r.on_request(at(0), "c1", ClientEvent::Other);
    assert_eq!(delivered(&r), 10);
    // A poll that is followed by another poll without a commit proves nothing.
    polled(&mut r, at(1), "c1", 10, 19);
    polled(&mut r, at(1), "c1", 20, 29);
    r.on_request(at(1), "c1", ClientEvent::Other);
    assert_eq!(delivered(&r), 10);
}

#[test]
fn detached_ranges_wait_until_the_prefix_reaches_them() {
    let mut r = retention();
    for (client, from, last) in [("c2", 20, 29), ("c3", 10, 19), ("c1", 0, 9)] {
        polled(&mut r, at(0), client, from, last);
        r.on_request(at(0), client, ClientEvent::Commit);
        r.on_request(at(0), client, ClientEvent::Other);
    }
    assert_eq!(delivered(&r), 30, "0..9 joined 10..19 and 20..29");
    // A peer's prefix also folds pending ranges in.
    let mut r = retention();
    polled(&mut r, at(0), "c1", 40, 49);
    r.on_request(at(0), "c1", ClientEvent::Commit);
    r.on_request(at(0), "c1", ClientEvent::Other);
    assert_eq!(delivered(&r), 0);
    assert_eq!(r.on_marks(0, &Key::from("k"), 40, 0, 0), None);
    assert_eq!(delivered(&r), 50);
}

#[test]
fn the_floor_waits_a_session_then_follows_the_lowest_bound() {
    let mut r = retention();
    polled(&mut r, at(0), "c1", 0, 9);
    r.on_request(at(0), "c1", ClientEvent::Commit);
    r.on_request(at(0), "c1", ClientEvent::Poll(&positions(10)));
    let committed = |_: &str| Some(9);
    // The peer's bound is 0 until it says otherwise, and this node is warming up.
    assert!(r.pass(at(1), committed).is_empty());
    assert_eq!(r.marks("k").1, 0, "no bound during the first session");
    r.on_marks(0, &Key::from("k"), 0, 5, 0);
    assert_eq!(r.pass(at(16), committed), vec![(Key::from("k"), 5)]);
    assert_eq!(
        r.marks("k"),
        (10, 9, 5),
        "bounded by the commit; floor by the peer"
    );
    // The peer raises its floor further: adopted as it is.
    assert_eq!(r.on_marks(0, &Key::from("k"), 10, 9, 9), Some(9));
    assert_eq!(r.floor("k"), 9);
}

#[test]
fn a_live_client_holds_the_bound_at_its_position_until_its_session_ends() {
    let mut r = retention();
    polled(&mut r, at(0), "c1", 0, 9);
    r.on_request(at(0), "c1", ClientEvent::Commit);
    r.on_request(at(0), "c1", ClientEvent::Other);
    r.on_request(at(10), "c2", ClientEvent::Poll(&positions(3)));
    r.on_marks(0, &Key::from("k"), 0, 100, 0);
    r.pass(at(20), |_| Some(9));
    assert_eq!(r.floor("k"), 3, "c2 still reads from 3");
    r.pass(at(30), |_| Some(9));
    assert_eq!(r.floor("k"), 9, "c2 silent for a session");
}

#[test]
fn too_many_clients_stop_retention_for_a_session() {
    let mut r = retention();
    r.on_marks(0, &Key::from("k"), 10, 100, 0);
    for c in 0..=MAX_CLIENTS {
        r.on_request(at(20), &format!("c{c}"), ClientEvent::Other);
    }
    assert!(r.pass(at(21), |_| Some(9)).is_empty(), "overflowed");
    assert_eq!(r.pass(at(40), |_| Some(9)), vec![(Key::from("k"), 9)]);
}

#[test]
fn off_forgets_nothing_and_below_committed_ignores_readers() {
    let mut off = Retention::new(
        RetentionConfig {
            mode: RetentionMode::Off,
            ..RetentionConfig::default()
        },
        Time::ZERO,
        1,
    );
    off.on_marks(0, &Key::from("k"), 10, 100, 50);
    assert_eq!(off.due(), None);
    assert!(off.pass(at(60), |_| Some(9)).is_empty());
    let mut broken = Retention::new(
        RetentionConfig {
            mode: RetentionMode::BelowCommitted,
            ..RetentionConfig::default()
        },
        Time::ZERO,
        1,
    );
    broken.on_request(at(0), "c2", ClientEvent::Poll(&positions(3)));
    broken.on_marks(0, &Key::from("k"), 0, 0, 0);
    assert_eq!(broken.pass(at(1), |_| Some(9)), vec![(Key::from("k"), 9)]);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// One step of a node's clients: `(client, what, offset, seconds later)`.
    fn steps() -> impl Strategy<Value = Vec<(u8, u8, u64, u64)>> {
        prop::collection::vec((0u8..4, 0u8..4, 0u64..40, 0u64..6), 1..200)
    }

    fn positions_at(from: Offset) -> BTreeMap<Key, Offset> {
        [(Key::from("k"), from)].into_iter().collect()
    }

    proptest! {
        /// Whatever the clients do, the floor never rises above a live client's position
        /// (the last poll of a client heard from within a session), the committed offset,
        /// or the end of what some client was returned and then proved it received; and it
        /// never falls.
        #[test]
        fn the_floor_never_passes_a_live_reader_nor_an_unproven_read(steps in steps()) {
            let config = RetentionConfig::default();
            let session = config.session;
            let mut r = Retention::new(config, Time::ZERO, 0);
            let mut now = Time::ZERO;
            let mut positions: BTreeMap<u8, (Time, Offset)> = BTreeMap::new();
            let mut committed = 0;
            let mut proven_end = 0;
            let mut returned: BTreeMap<u8, Offset> = BTreeMap::new();
            let mut floor = 0;
            for (client, what, offset, later) in steps {
                now += Duration::from_secs(later);
                let src = format!("c{client}");
                // Any request keeps a live client live, at its last poll's position; a client
                // silent for a session has given up (a Maelstrom client waits 5 s for a reply,
                // then is replaced), and what it read before no longer counts.
                positions.retain(|_, (seen, _)| *seen + session > now);
                if let Some(seen) = positions.get_mut(&client) {
                    seen.0 = now;
                }
                match what {
                    0 => {
                        let from = offset;
                        let last = from + offset % 7;
                        r.on_request(now, &src, ClientEvent::Poll(&positions_at(from)));
                        r.on_polled(now, &src, vec![(Key::from("k"), from, last)]);
                        positions.insert(client, (now, from));
                        // A next request, a poll too, may prove the previous poll read.
                        if let Some(end) = returned.insert(client, last + 1) {
                            proven_end = proven_end.max(end);
                        }
                    }
                    1 => {
                        r.on_request(now, &src, ClientEvent::Commit);
                        committed = committed.max(offset);
                    }
                    _ => {
                        r.on_request(now, &src, ClientEvent::Other);
                        if let Some(end) = returned.remove(&client) {
                            proven_end = proven_end.max(end);
                        }
                    }
                }
                r.pass(now, |_| Some(committed));
                let live = positions
                    .values()
                    .filter(|(seen, _)| *seen + session > now)
                    .map(|(_, at)| *at)
                    .min();
                let f = r.floor("k");
                prop_assert!(f >= floor, "the floor fell from {floor} to {f}");
                if f > floor {
                    prop_assert!(f <= committed, "floor {f} above the commit {committed}");
                    prop_assert!(f <= proven_end, "floor {f} above every proven read");
                    prop_assert!(
                        live.is_none_or(|at| f <= at),
                        "floor {f} above a live reader at {live:?}"
                    );
                }
                floor = f;
            }
        }
    }
}
