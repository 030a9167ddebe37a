//! The network model's tests.

use super::*;
use crate::sim::latency::LatencyDist;
use proptest::prelude::*;
use rand::SeedableRng;
use serde_json::json;
use std::collections::BTreeSet;

/// `x` ms after the start of the run.
fn ms(x: u64) -> Time {
    Time::from_millis(x)
}

/// `x` ns after the start of the run.
fn ns(x: u64) -> Time {
    Time::from_nanos(x)
}

fn net(mean_ms: u64, dist: LatencyDist, ids: &[&str]) -> Network {
    let mut n = Network::new(Latency::new(mean_ms, dist).expect("valid"));
    for id in ids {
        n.register(id);
    }
    n
}

fn take_deliver(n: &mut Network, dest: &str, now: Time) -> Message {
    match n.take(dest, now) {
        Take::Deliver(m) => {
            n.delivered(&m);
            m
        }
        other => panic!("expected a delivery, got {other:?}"),
    }
}

#[test]
fn ids_deadlines_and_client_latency() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(100, LatencyDist::Constant, &["n0", "n1", "c0", "lin-kv"]);
    assert_eq!(
        n.send(ns(5), "c0", "n0", json!({"type":"a"}), &mut rng),
        Ok(0)
    );
    assert_eq!(
        n.send(ns(5), "n0", "n1", json!({"type":"b"}), &mut rng),
        Ok(1)
    );
    assert_eq!(
        n.send(ns(5), "n0", "lin-kv", json!({"type":"c"}), &mut rng),
        Ok(2)
    );
    assert_eq!(n.send(ns(5), "n1", "c0", json!({}), &mut rng), Ok(3));
    assert_eq!(
        n.next_deadline("n0"),
        Some(ns(5)),
        "client to node: zero latency"
    );
    assert_eq!(
        n.next_deadline("n1"),
        Some(ns(5) + Duration::from_millis(100))
    );
    assert_eq!(
        n.next_deadline("lin-kv"),
        Some(ns(5) + Duration::from_millis(100)),
        "services pay latency"
    );
    assert_eq!(
        n.next_deadline("c0"),
        Some(ns(5)),
        "node to client: zero latency"
    );
    let m = take_deliver(&mut n, "n1", Time::ZERO);
    assert_eq!(
        (m.id, m.src.as_str(), m.dest.as_str(), m.sent_at),
        (1, "n0", "n1", ns(5))
    );
    assert_eq!(m.body, json!({"type":"b"}));
}

#[test]
fn unknown_src_or_dest_is_refused_and_not_counted() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(0, LatencyDist::Constant, &["n0", "c1"]);
    assert_eq!(
        n.send(Time::ZERO, "n9", "n0", json!({}), &mut rng),
        Err(NetError::UnknownSource("n9".into()))
    );
    assert_eq!(
        n.send(Time::ZERO, "n0", "c7", json!({}), &mut rng),
        Err(NetError::UnknownDest("c7".into()))
    );
    n.unregister("c1");
    assert!(!n.is_registered("c1"));
    assert_eq!(
        n.send(Time::ZERO, "n0", "c1", json!({}), &mut rng),
        Err(NetError::UnknownDest("c1".into()))
    );
    assert!(n.journal().is_empty());
    assert_eq!(n.stats(1).all.send_count, 0);
    // Refused sends still used up their ids, as in Maelstrom.
    assert_eq!(n.send(Time::ZERO, "n0", "n0", json!({}), &mut rng), Ok(3));
    assert_eq!(n.take("c7", Time::ZERO), Take::Empty);
}

#[test]
fn unregister_discards_pending() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(0, LatencyDist::Constant, &["n0", "c1"]);
    n.send(Time::ZERO, "n0", "c1", json!({"type":"late"}), &mut rng)
        .expect("ok");
    n.unregister("c1");
    assert_eq!(n.take("c1", Time::ZERO), Take::Empty);
    assert_eq!(n.journal()[0].fate, Fate::Discarded);
    n.register("c1");
    assert_eq!(n.pending("c1"), 0);
    let s = n.stats(0);
    assert_eq!((s.clients.send_count, s.clients.recv_count), (1, 0));
}

#[test]
fn constant_latency_is_fifo_per_link_and_ties_keep_send_order() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(10, LatencyDist::Constant, &["n0", "n1", "n2"]);
    // Same send time (equal deadlines) and increasing send times, interleaved sources.
    for (t, src) in [
        (0, "n0"),
        (0, "n2"),
        (0, "n0"),
        (3, "n2"),
        (3, "n0"),
        (9, "n0"),
    ] {
        n.send(ms(t), src, "n1", json!({"t": t, "src": src}), &mut rng)
            .expect("ok");
    }
    let ids: Vec<u64> = (0..6)
        .map(|_| take_deliver(&mut n, "n1", ms(100)).id)
        .collect();
    assert_eq!(ids, [0, 1, 2, 3, 4, 5]);
    assert_eq!(n.take("n1", Time::ZERO), Take::Empty);
}

#[test]
fn earliest_deadline_first_across_sources() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(50, LatencyDist::Constant, &["n0", "n1", "c0"]);
    n.send(Time::ZERO, "n0", "n1", json!({}), &mut rng)
        .expect("ok"); // due at 50 ms
    n.send(ms(1), "c0", "n1", json!({}), &mut rng).expect("ok"); // due at 1 ms
    assert_eq!(n.next_deadline("n1"), Some(ms(1)));
    assert_eq!(take_deliver(&mut n, "n1", Time::ZERO).src, "c0");
    assert_eq!(take_deliver(&mut n, "n1", Time::ZERO).src, "n0");
}

#[test]
fn partition_is_checked_when_the_receiver_takes() {
    partition_scenario(false);
}

#[test]
fn broken_network_checking_partitions_at_send_is_caught() {
    let caught = std::panic::catch_unwind(|| partition_scenario(true));
    assert!(
        caught.is_err(),
        "the mutant must fail the take-time partition scenario"
    );
}

fn partition_scenario(partition_at_send: bool) {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(10, LatencyDist::Constant, &["n0", "n1", "c0"]);
    n.partition_at_send = partition_at_send;
    let mut g = Grudge::new();
    g.insert("n1".into(), BTreeSet::from(["n0".into()]));

    // Sent while partitioned, healed before the take: delivered.
    n.partition(Cut::Partition, &g);
    n.send(Time::ZERO, "n0", "n1", json!({"k": 1}), &mut rng)
        .expect("accepted while partitioned");
    n.heal(Cut::Partition);
    assert!(matches!(n.take("n1", ms(20)), Take::Deliver(m) if m.body == json!({"k": 1})));

    // Sent while healthy, partitioned before the take: dropped for good.
    n.send(Time::ZERO, "n0", "n1", json!({"k": 2}), &mut rng)
        .expect("ok");
    n.partition(Cut::Partition, &g);
    assert!(matches!(n.take("n1", ms(20)), Take::Dropped(m) if m.body == json!({"k": 2})));
    n.heal(Cut::Partition);
    assert_eq!(n.take("n1", ms(20)), Take::Empty, "not re-queued");

    // Only the named direction is cut; client traffic is never in a grudge.
    n.partition(Cut::Partition, &g);
    n.send(Time::ZERO, "n1", "n0", json!({}), &mut rng)
        .expect("ok");
    assert!(matches!(n.take("n0", Time::ZERO), Take::Deliver(_)));
    n.send(Time::ZERO, "c0", "n1", json!({}), &mut rng)
        .expect("ok");
    assert!(matches!(n.take("n1", Time::ZERO), Take::Deliver(_)));

    let fates: Vec<Fate> = n.journal().iter().map(|e| e.fate).collect();
    assert_eq!(
        fates,
        [
            Fate::InFlight(ms(20)),
            Fate::Dropped(ms(20)),
            Fate::InFlight(ms(10)),
            Fate::InFlight(Time::ZERO)
        ]
    );
}

#[test]
fn stats_scenario_with_known_counts() {
    // 2 ops. Client traffic: 2 requests + 2 replies + 1 reply to a client closed
    // before delivery = 5 sends, 4 receives. Server traffic: n0 -> n1 gossip x3 (one
    // dropped by a partition), n0 -> seq-kv request and its reply = 5 sends, 4 receives.
    let mut rng = StdRng::seed_from_u64(4);
    let mut n = net(5, LatencyDist::Uniform, &["n0", "n1", "c0", "c1", "seq-kv"]);
    let mut step = |n: &mut Network, src: &str, dest: &str| {
        n.send(Time::ZERO, src, dest, json!({"type": "x"}), &mut rng)
            .expect("ok");
    };
    step(&mut n, "c0", "n0");
    step(&mut n, "c1", "n1");
    take_deliver(&mut n, "n0", Time::ZERO);
    take_deliver(&mut n, "n1", Time::ZERO);
    for _ in 0..3 {
        step(&mut n, "n0", "n1");
    }
    take_deliver(&mut n, "n1", Time::ZERO);
    let mut g = Grudge::new();
    g.insert("n1".into(), BTreeSet::from(["n0".into()]));
    n.partition(Cut::Partition, &g);
    assert!(matches!(n.take("n1", Time::ZERO), Take::Dropped(_)));
    n.heal(Cut::Partition);
    take_deliver(&mut n, "n1", Time::ZERO);
    step(&mut n, "n0", "seq-kv");
    take_deliver(&mut n, "seq-kv", Time::ZERO);
    step(&mut n, "seq-kv", "n0");
    take_deliver(&mut n, "n0", Time::ZERO);
    step(&mut n, "n0", "c0");
    step(&mut n, "n1", "c1");
    step(&mut n, "n1", "c1");
    take_deliver(&mut n, "c0", Time::ZERO);
    take_deliver(&mut n, "c1", Time::ZERO);
    n.unregister("c1");

    let s = n.stats(2);
    let c = |send, recv, per: Option<f64>| NetCounts {
        send_count: send,
        recv_count: recv,
        msg_count: send,
        msgs_per_op: per,
    };
    assert_eq!(s.clients, c(5, 4, None));
    assert_eq!(s.servers, c(5, 4, Some(2.5)));
    assert_eq!(s.all, c(10, 8, Some(5.0)));
    assert_eq!(n.stats(0).all.msgs_per_op, None);
    let v = serde_json::to_value(n.stats(0)).expect("serializes");
    assert_eq!(
        v["clients"],
        json!({"send_count": 5, "recv_count": 4, "msg_count": 5})
    );
    // The journal agrees with the counters.
    let delivered = n
        .journal()
        .iter()
        .filter(|e| matches!(e.fate, Fate::Delivered(_)))
        .count();
    assert_eq!(delivered, 8);
    assert_eq!(n.journal().len(), 10);
    assert!(n
        .journal()
        .iter()
        .all(|e| e.body_type.as_deref() == Some("x")));
}

#[test]
fn cut_layers_heal_independently_and_one_way_cuts_one_direction() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(0, LatencyDist::Constant, &["n0", "n1"]);
    let mut deaf = Grudge::new();
    deaf.insert("n1".into(), BTreeSet::from(["n0".into()]));
    deaf.insert("n0".into(), BTreeSet::new());
    n.partition(Cut::OneWay, &deaf);
    n.partition(Cut::Partition, &deaf);
    n.heal(Cut::Partition);
    assert!(n.is_blocked("n1", "n0"), "the one-way layer still holds");
    assert!(!n.is_blocked("n0", "n1"), "n0 still hears n1");
    n.send(Time::ZERO, "n0", "n1", json!({}), &mut rng)
        .expect("ok");
    assert!(matches!(n.take("n1", Time::ZERO), Take::Dropped(_)));
    n.heal(Cut::OneWay);
    assert!(!n.is_blocked("n1", "n0"));
}

#[test]
fn a_delayed_send_adds_its_extra_to_the_latency() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(10, LatencyDist::Constant, &["n0", "n1"]);
    n.send(Time::ZERO, "n0", "n1", json!({"k": 1}), &mut rng)
        .expect("ok");
    n.send_delayed(
        Time::ZERO,
        "n0",
        "n1",
        json!({"k": 1}),
        Duration::from_millis(5),
        &mut rng,
    )
    .expect("ok");
    let deadlines: Vec<Time> = n.journal().iter().map(|e| e.deadline).collect();
    assert_eq!(deadlines, [ms(10), ms(15)]);
}

#[test]
fn journal_and_queue_bounds() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(0, LatencyDist::Constant, &["n0", "n1"])
        .with_journal_capacity(2)
        .with_queue_capacity(3);
    for _ in 0..5 {
        n.send(Time::ZERO, "n0", "n1", json!({}), &mut rng)
            .expect("accepted");
    }
    assert_eq!(n.journal().len(), 2);
    assert_eq!(n.journal_overflow(), 3);
    assert_eq!(n.pending("n1"), 3);
    assert_eq!(n.overflow_discards(), 2);
    assert_eq!(n.stats(0).servers.send_count, 5);
    // Delivery of unjournaled messages still counts.
    for _ in 0..3 {
        take_deliver(&mut n, "n1", Time::ZERO);
    }
    assert_eq!(n.stats(0).servers.recv_count, 3);
}

#[test]
fn delivered_twice_counts_once() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut n = net(7, LatencyDist::Constant, &["n0", "n1"]);
    n.send(Time::ZERO, "n0", "n1", json!({}), &mut rng)
        .expect("ok");
    let m = take_deliver(&mut n, "n1", Time::ZERO);
    n.delivered(&m);
    n.delivered_at(&m, ns(99));
    assert_eq!(n.stats(0).all.recv_count, 1);
    assert_eq!(n.journal()[0].fate, Fate::Delivered(ms(7)));
}

proptest! {
    #[test]
    fn same_seed_same_schedule(seed: u64, mean in 0u64..50, which in 0usize..3,
                               sends in proptest::collection::vec((0u64..1000, 0usize..3, 0usize..3), 1..60)) {
        let dist = [LatencyDist::Constant, LatencyDist::Uniform, LatencyDist::Exponential][which];
        let ids = ["n0", "n1", "c0"];
        let run = || {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut n = net(mean, dist, &ids);
            let mut now = Time::ZERO;
            for &(dt, s, d) in &sends {
                now += Duration::from_nanos(dt);
                n.send(now, ids[s], ids[d], json!({"now": now}), &mut rng).expect("registered");
            }
            let mut out = Vec::new();
            for d in ids {
                while let Take::Deliver(m) = n.take(d, Time::MAX) {
                    out.push((m.id, m.deadline));
                }
            }
            out
        };
        let a = run();
        prop_assert_eq!(a.len(), sends.len());
        prop_assert_eq!(&a, &run());
    }

    #[test]
    fn deliveries_come_out_in_deadline_order(seed: u64,
                                             sends in proptest::collection::vec(0u64..1000, 1..80)) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut n = net(20, LatencyDist::Exponential, &["n0", "n1"]);
        let mut now = Time::ZERO;
        for dt in sends {
            now += Duration::from_micros(dt);
            n.send(now, "n0", "n1", json!({}), &mut rng).expect("ok");
        }
        let mut last = (Time::ZERO, 0);
        while let Take::Deliver(m) = n.take("n1", Time::ZERO) {
            prop_assert!(m.deadline >= m.sent_at);
            prop_assert!((m.deadline, m.id) > last || last == (Time::ZERO, 0));
            last = (m.deadline, m.id);
        }
    }
}
