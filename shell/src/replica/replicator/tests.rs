//! The replicator between two or three nodes, batches carried by hand: exactly-once
//! in-order delivery, rounds on the tick grid, acknowledgements, retransmission with
//! back-off, gaps, versions, the backlog bound.

use super::*;

fn config() -> ReplicaConfig {
    ReplicaConfig {
        tick: Duration::from_millis(10),
        retransmit: Duration::from_millis(200),
        max_batch: 3,
        max_backlog: 5,
        max_history: 0,
    }
}

fn node(me: &str, ids: &[&str]) -> Replicator<u32> {
    let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    Replicator::new(me, &ids, config(), 1, 1)
}

fn ms(t: u64) -> Time {
    Time::from_millis(t)
}

/// What a receiver holds of one sender's log, as the sender's caller would apply it.
struct Held(Vec<u32>);

/// Carries `b` from `from` (whose index at `to` is `at`) to `to`, applying fresh entries.
fn carry(
    from: &Replicator<u32>,
    b: &Batch,
    to: &mut Replicator<u32>,
    at: usize,
    held: &mut Held,
    now: Time,
) -> Accept {
    let entries: Vec<u32> = from.entries(b.from, b.upto).copied().collect();
    let header = Header {
        from: b.from,
        len: entries.len(),
        ack: b.ack,
        ack_version: b.ack_version,
        carries_data: !entries.is_empty() || b.marks.is_some(),
        life: b.life,
        ack_life: b.ack_life,
        base: b.base,
    };
    let accept = to.on_batch(now, at, header);
    if let Accept::From(skip) = accept {
        let fresh = entries.get(skip..).unwrap_or_default();
        held.0.extend_from_slice(fresh);
        to.applied(at, fresh.len());
    }
    accept
}

#[test]
fn entries_arrive_once_in_order_and_acknowledged_ones_are_dropped() {
    let (mut a, mut b) = (node("n0", &["n0", "n1"]), node("n1", &["n0", "n1"]));
    let mut held = Held(Vec::new());
    for v in 0..5 {
        a.push(ms(3), v).unwrap();
    }
    assert_eq!(
        a.push(ms(3), 99),
        Err(BacklogFull(5)),
        "the backlog is bounded"
    );
    assert_eq!(
        a.poll_timeout(),
        Some(ms(10)),
        "the next round on the tick grid"
    );
    assert!(a.due(ms(9)).is_empty(), "not before the round");
    let first = a.due(ms(10));
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].from, first[0].upto),
        (0, 3),
        "at most max_batch entries"
    );
    carry(&a, &first[0], &mut b, 0, &mut held, ms(11));
    assert_eq!(a.poll_timeout(), Some(ms(20)), "the rest next round");
    let second = a.due(ms(20));
    assert_eq!((second[0].from, second[0].upto), (3, 5));
    // The same batch twice: the duplicate brings nothing new.
    carry(&a, &second[0], &mut b, 0, &mut held, ms(21));
    carry(&a, &second[0], &mut b, 0, &mut held, ms(22));
    assert_eq!(held.0, [0, 1, 2, 3, 4]);
    // b owes an acknowledgement: its next round carries it.
    let acks = b.due(b.poll_timeout().expect("an ack round"));
    assert_eq!((acks[0].ack, acks[0].upto), (5, 0));
    let mut back = Held(Vec::new());
    carry(&b, &acks[0], &mut a, 0, &mut back, ms(31));
    assert_eq!(a.backlog(), 0, "acknowledged entries are dropped");
    assert_eq!(a.poll_timeout(), None, "nothing to do: no wake-up");
    assert_eq!(b.poll_timeout(), None);
}

#[test]
fn a_silent_peer_gets_resends_at_growing_intervals_and_an_ack_stops_them() {
    let mut a = node("n0", &["n0", "n1"]);
    a.push(ms(0), 7).unwrap();
    let mut sends = vec![];
    let mut now = ms(0);
    while now < ms(6_000) {
        match a.poll_timeout() {
            Some(t) => now = t.max(now),
            None => break,
        }
        for b in a.due(now) {
            assert_eq!(
                b.from, 0,
                "every resend rewinds to what the peer acknowledged"
            );
            sends.push(now.as_millis());
        }
        now += Duration::from_millis(1);
    }
    assert_eq!(sends[0], 10);
    assert_eq!(
        sends[1], 210,
        "the first resend after the retransmission delay"
    );
    let gaps: Vec<u64> = sends.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g <= MAX_RETRANSMIT.as_millis() as u64),
        "{gaps:?}"
    );
    assert!(gaps.last() > gaps.first(), "resends back off: {gaps:?}");
    assert!(
        sends.len() < 15,
        "a silent peer costs few messages: {sends:?}"
    );
    let mut b = node("n1", &["n0", "n1"]);
    let batch = a.due(a.poll_timeout().unwrap());
    let mut held = Held(Vec::new());
    carry(&a, &batch[0], &mut b, 0, &mut held, now);
    let ack = b.due(b.poll_timeout().unwrap());
    carry(&b, &ack[0], &mut a, 0, &mut Held(Vec::new()), now);
    assert_eq!(a.poll_timeout(), None, "acknowledged: no more resends");
    assert_eq!(held.0, [7]);
}

#[test]
fn a_batch_past_the_held_prefix_is_a_gap_and_applies_nothing() {
    let (mut a, mut b) = (node("n0", &["n0", "n1"]), node("n1", &["n0", "n1"]));
    for v in 0..5 {
        a.push(ms(0), v).unwrap();
    }
    let first = a.due(ms(10));
    let second = a.due(ms(20));
    let mut held = Held(Vec::new());
    assert_eq!(
        carry(&a, &second[0], &mut b, 0, &mut held, ms(21)),
        Accept::Gap,
        "the first batch was lost"
    );
    assert!(held.0.is_empty());
    assert_eq!(
        carry(&a, &first[0], &mut b, 0, &mut held, ms(22)),
        Accept::From(0)
    );
    assert_eq!(
        carry(&a, &second[0], &mut b, 0, &mut held, ms(23)),
        Accept::From(0)
    );
    assert_eq!(held.0, [0, 1, 2, 3, 4]);
}

#[test]
fn versions_ride_at_the_end_of_the_log_and_are_acknowledged() {
    let (mut a, mut b) = (node("n0", &["n0", "n1"]), node("n1", &["n0", "n1"]));
    a.push(ms(0), 1).unwrap();
    a.push(ms(0), 2).unwrap();
    a.push(ms(0), 3).unwrap();
    a.push(ms(0), 4).unwrap();
    assert_eq!(a.touch(ms(0)), 1);
    let first = a.due(ms(10));
    assert_eq!(first[0].marks, None, "not at the end of the log yet");
    let second = a.due(ms(20));
    assert_eq!(
        (second[0].marks, second[0].version),
        (Some(0), 1),
        "changes after version 0, up to 1"
    );
    let mut held = Held(Vec::new());
    carry(&a, &first[0], &mut b, 0, &mut held, ms(21));
    carry(&a, &second[0], &mut b, 0, &mut held, ms(21));
    b.applied_version(0, second[0].version);
    let ack = b.due(b.poll_timeout().unwrap());
    assert_eq!(ack[0].ack_version, 1);
    carry(&b, &ack[0], &mut a, 0, &mut Held(Vec::new()), ms(40));
    assert_eq!(a.poll_timeout(), None, "entries and version acknowledged");
    a.touch(ms(50));
    let third = a.due(a.poll_timeout().unwrap());
    assert_eq!(
        (third[0].from, third[0].upto, third[0].marks),
        (4, 4, Some(1)),
        "only what changed since"
    );
}

#[test]
fn one_batch_per_peer_per_round_and_no_peers_means_no_log() {
    let ids = ["n0", "n1", "n2"];
    let mut a = node("n0", &ids);
    a.push(ms(0), 1).unwrap();
    let round = a.due(ms(10));
    let peers: Vec<usize> = round.iter().map(|b| b.peer).collect();
    assert_eq!(peers, [0, 1]);
    assert_eq!(a.peer_id(1), "n2");
    let mut alone = node("n0", &["n0"]);
    alone.push(ms(0), 1).unwrap();
    assert_eq!((alone.backlog(), alone.poll_timeout()), (0, None));
}

/// A node of life `life` keeping up to `history` entries for peers that restart.
fn life(me: &str, life: u64, history: usize) -> Replicator<u32> {
    let ids: Vec<String> = ["n0", "n1"].iter().map(|s| s.to_string()).collect();
    let config = ReplicaConfig {
        max_backlog: 100,
        max_history: history,
        ..config()
    };
    Replicator::new(me, &ids, config, 1, life)
}

/// Runs rounds between `a` and `b` (each the other's peer 0) until both are quiet.
fn settle(a: &mut Replicator<u32>, b: &mut Replicator<u32>, at_b: &mut Held, now: &mut Time) {
    for _ in 0..20 {
        for batch in a.due(*now) {
            carry(a, &batch, b, 0, at_b, *now);
        }
        for batch in b.due(*now) {
            carry(b, &batch, a, 0, &mut Held(Vec::new()), *now);
        }
        *now += Duration::from_millis(10);
    }
}

#[test]
fn a_restarted_peer_is_sent_everything_again_and_its_old_life_is_ignored() {
    let (mut a, mut b) = (life("n0", 1, 10), life("n1", 1, 10));
    for v in 0..5 {
        a.push(ms(0), v).unwrap();
    }
    let mut now = ms(10);
    let mut held = Held(Vec::new());
    settle(&mut a, &mut b, &mut held, &mut now);
    assert_eq!(held.0, [0, 1, 2, 3, 4]);
    assert_eq!(a.backlog(), 0, "all acknowledged, and kept for restarts");
    // A batch of b's first life, late on the wire.
    b.push(now, 40).unwrap();
    let late = b.due(b.poll_timeout().unwrap());
    // b restarts empty, with a larger life: a starts its link over and sends it all.
    let mut b2 = life("n1", 2, 10);
    b2.push(now, 50).unwrap();
    let hello = b2.due(b2.poll_timeout().unwrap());
    assert_eq!((hello[0].life, hello[0].ack_life), (2, 0));
    let mut at_a = Held(Vec::new());
    carry(&b2, &hello[0], &mut a, 0, &mut at_a, now);
    assert_eq!(at_a.0, [50], "its new log starts at index 0");
    assert_eq!(a.backlog(), 5, "nothing of a's is held by the new life");
    assert_eq!(
        carry(&b, &late[0], &mut a, 0, &mut at_a, now),
        Accept::Stale,
        "the old life's batch is ignored"
    );
    assert_eq!(at_a.0, [50]);
    let mut held2 = Held(Vec::new());
    settle(&mut a, &mut b2, &mut held2, &mut now);
    assert_eq!(held2.0, [0, 1, 2, 3, 4]);
    assert_eq!(a.backlog(), 0);
    // An acknowledgement addressed to another life of a counts for nothing.
    a.push(now, 8).unwrap();
    for batch in a.due(a.poll_timeout().unwrap()) {
        carry(&a, &batch, &mut b2, 0, &mut held2, now);
    }
    let ack = b2.due(b2.poll_timeout().unwrap());
    assert_eq!((ack[0].ack, ack[0].ack_life), (6, 1));
    let mut a2 = life("n0", 3, 10);
    a2.push(now, 7).unwrap();
    carry(&b2, &ack[0], &mut a2, 0, &mut Held(Vec::new()), now);
    assert_eq!(
        a2.backlog(),
        1,
        "b2 acknowledged a's old life, not this one"
    );
}

#[test]
fn a_restarted_peer_skips_what_is_no_longer_kept() {
    let (mut a, mut b) = (life("n0", 1, 2), life("n1", 1, 2));
    for v in 0..5 {
        a.push(ms(0), v).unwrap();
    }
    let mut now = ms(10);
    settle(&mut a, &mut b, &mut Held(Vec::new()), &mut now);
    let mut b2 = life("n1", 2, 2);
    b2.touch(now);
    let hello = b2.due(b2.poll_timeout().unwrap());
    carry(&b2, &hello[0], &mut a, 0, &mut Held(Vec::new()), now);
    let mut held = Held(Vec::new());
    settle(&mut a, &mut b2, &mut held, &mut now);
    assert_eq!(
        held.0,
        [3, 4],
        "the two entries kept, and no wait for the rest"
    );
    assert_eq!(a.backlog(), 0);
}
