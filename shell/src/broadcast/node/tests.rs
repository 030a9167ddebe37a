//! The broadcast node on its own: refusals, aligned instants, latency mode, hub batching,
//! failover, anti-entropy digests, and restarts (kept state, fresh lives).

use super::*;
use glomers_node::{Origin, Outgoing};

fn ms(t: u64) -> Time {
    Time::from_millis(t)
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("n{i}")).collect()
}

fn msg(src: &str, msg_id: Option<u64>, body: BroadcastIn) -> Incoming<BroadcastIn> {
    Incoming {
        origin: Origin {
            src: src.into(),
            msg_id,
        },
        in_reply_to: None,
        body,
    }
}

fn drain(out: &mut Outbox<BroadcastOut>) -> Vec<Outgoing<BroadcastOut>> {
    out.drain().collect()
}

#[test]
fn node_to_node_bodies_from_non_peers_are_refused_not_acted_on() {
    let cfg = BroadcastConfig::for_mode(super::super::Mode::Balanced);
    let mut hub = BroadcastNode::new("n0", &ids(5), cfg, 0, 1);
    let mut out = Outbox::new();
    hub.on_message(
        ms(0),
        msg("c3", Some(4), BroadcastIn::Relay { messages: vec![1] }),
        &mut out,
    );
    hub.on_message(
        ms(0),
        msg(
            "c3",
            None,
            BroadcastIn::Digest {
                have: vec![],
                reply: false,
                pull: false,
            },
        ),
        &mut out,
    );
    let sent = drain(&mut out);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].dest, "c3");
    assert_eq!(
        sent[0].error().map(|e| e.code),
        Some(ErrorCode::NotSupported)
    );
    assert!(hub.values().is_empty());
    hub.on_timeout(ms(1000), &mut out);
    assert!(drain(&mut out).iter().all(|m| m.dest.starts_with('n')));
}

#[test]
fn aligned_instants() {
    assert_eq!(next_aligned(0, 100, 0), 100);
    assert_eq!(next_aligned(99, 100, 0), 100);
    assert_eq!(next_aligned(100, 100, 40), 140);
    assert_eq!(next_aligned(140, 100, 40), 240);
    assert_eq!(next_aligned(250, 100, 140), 340);
}

#[test]
fn latency_mode_origin_delivers_to_every_peer_at_once() {
    let cfg = BroadcastConfig::for_mode(super::super::Mode::Latency);
    let mut node = BroadcastNode::new("n2", &ids(4), cfg, 0, 1);
    let mut out = Outbox::new();
    node.on_message(
        ms(10),
        msg("c1", Some(5), BroadcastIn::Broadcast { message: 9 }),
        &mut out,
    );
    let sent = drain(&mut out);
    assert_eq!(sent[0].payload(), Some(&BroadcastOut::BroadcastOk));
    assert_eq!(sent[0].in_reply_to, Some(5));
    let dests: Vec<&str> = sent[1..].iter().map(|m| m.dest.as_str()).collect();
    assert_eq!(dests, vec!["n0", "n1", "n3"]);
    for m in &sent[1..] {
        // Nothing is settled yet, so the piggybacked digest is empty.
        assert_eq!(
            m.payload(),
            Some(&BroadcastOut::Spread {
                messages: vec![9],
                have: vec![]
            })
        );
    }
    // A delivered value is stored, never forwarded.
    let mut peer = BroadcastNode::new("n0", &ids(4), node.config().clone(), 0, 2);
    peer.on_message(
        ms(110),
        msg("n2", None, BroadcastIn::Deliver { messages: vec![9] }),
        &mut out,
    );
    assert!(out.is_empty());
    assert_eq!(peer.values(), vec![9]);
}

#[test]
fn leaf_relays_through_hub_and_hub_batches_on_its_schedule() {
    let cfg = BroadcastConfig::for_mode(super::super::Mode::Balanced);
    let mut leaf = BroadcastNode::new("n3", &ids(5), cfg.clone(), 0, 1);
    let mut out = Outbox::new();
    leaf.on_message(
        ms(1),
        msg("c1", Some(1), BroadcastIn::Broadcast { message: 4 }),
        &mut out,
    );
    let sent = drain(&mut out);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].dest, "n0");
    assert_eq!(
        sent[1].payload(),
        Some(&BroadcastOut::Relay { messages: vec![4] })
    );

    let mut hub = BroadcastNode::new("n0", &ids(5), cfg, 0, 2);
    // The first tick sets the schedule: flushes at 40, 140, ... (phase 140 mod 100).
    hub.on_timeout(ms(0), &mut out);
    assert!(drain(&mut out).is_empty());
    hub.on_message(
        ms(21),
        msg("n3", None, BroadcastIn::Relay { messages: vec![4] }),
        &mut out,
    );
    hub.on_message(
        ms(22),
        msg("c0", Some(1), BroadcastIn::Broadcast { message: 5 }),
        &mut out,
    );
    assert_eq!(
        drain(&mut out).len(),
        1,
        "only the broadcast_ok before the flush"
    );
    hub.on_timeout(ms(40), &mut out);
    let sent = drain(&mut out);
    let mut by_dest: Vec<(String, BroadcastOut)> = sent
        .into_iter()
        .filter_map(|m| m.payload().cloned().map(|p| (m.dest.to_string(), p)))
        .collect();
    by_dest.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_dest,
        vec![
            (
                "n1".into(),
                BroadcastOut::Deliver {
                    messages: vec![4, 5]
                }
            ),
            (
                "n2".into(),
                BroadcastOut::Deliver {
                    messages: vec![4, 5]
                }
            ),
            ("n3".into(), BroadcastOut::Deliver { messages: vec![5] }),
            (
                "n4".into(),
                BroadcastOut::Deliver {
                    messages: vec![4, 5]
                }
            ),
        ]
    );
}

#[test]
fn silent_hub_triggers_failover_and_resend() {
    let cfg = BroadcastConfig::for_mode(super::super::Mode::Balanced);
    let timeout = cfg.hub_timeout_ms();
    let mut leaf = BroadcastNode::new("n4", &ids(6), cfg, 0, 1);
    let mut out = Outbox::new();
    leaf.on_message(
        ms(0),
        msg("c1", Some(1), BroadcastIn::Broadcast { message: 1 }),
        &mut out,
    );
    drain(&mut out);
    assert_eq!(leaf.current_hub(), Some("n0"));
    leaf.on_timeout(ms(timeout - 1), &mut out);
    assert_eq!(leaf.current_hub(), Some("n0"));
    leaf.on_timeout(ms(timeout), &mut out);
    assert_eq!(leaf.current_hub(), Some("n1"));
    let resent: Vec<_> = drain(&mut out)
        .into_iter()
        .filter(|m| m.dest == "n1")
        .collect();
    assert_eq!(resent.len(), 1);
    assert_eq!(
        resent[0].payload(),
        Some(&BroadcastOut::Relay { messages: vec![1] })
    );
    assert_eq!(leaf.stats().failovers, 1);
}

#[test]
fn digest_pushes_settled_missing_values_and_asks_back() {
    let cfg = BroadcastConfig::for_mode(super::super::Mode::Latency);
    let settle = cfg.settle_ms;
    let mut node = BroadcastNode::new("n1", &ids(3), cfg, 0, 1);
    let mut out = Outbox::new();
    for v in [0, 1, 2] {
        node.on_message(
            ms(0),
            msg("n0", None, BroadcastIn::Deliver { messages: vec![v] }),
            &mut out,
        );
    }
    node.on_message(
        ms(2 * settle),
        msg(
            "n2",
            None,
            BroadcastIn::Digest {
                have: vec![(0, 0), (3, 3)],
                reply: false,
                pull: false,
            },
        ),
        &mut out,
    );
    let sent = drain(&mut out);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].payload(),
        Some(&BroadcastOut::Repair {
            messages: vec![1, 2],
            spread: true
        })
    );
    assert_eq!(
        sent[1].payload(),
        Some(&BroadcastOut::Digest {
            have: vec![(0, 2)],
            reply: true,
            pull: false
        })
    );
    // A reply is never answered with another digest, and young values are not pushed.
    node.on_message(
        ms(2 * settle + 1),
        msg(
            "n2",
            None,
            BroadcastIn::Digest {
                have: vec![(0, 1), (3, 3)],
                reply: true,
                pull: false,
            },
        ),
        &mut out,
    );
    let sent = drain(&mut out);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].payload(),
        Some(&BroadcastOut::Repair {
            messages: vec![2],
            spread: true
        })
    );
    node.on_message(
        ms(2 * settle + 2),
        msg("n2", None, BroadcastIn::Deliver { messages: vec![7] }),
        &mut out,
    );
    node.on_message(
        ms(2 * settle + 3),
        msg(
            "n2",
            None,
            BroadcastIn::Digest {
                have: vec![(0, 3)],
                reply: true,
                pull: false,
            },
        ),
        &mut out,
    );
    assert!(out.is_empty(), "7 is too young to push");
}

#[test]
fn piggybacked_digests_pull_repairs_once_per_gap_and_pulled_repairs_stay_put() {
    let cfg = BroadcastConfig::for_mode(super::super::Mode::Latency);
    let (settle, gap) = (cfg.settle_ms, cfg.ask_gap_ms());
    let mut node = BroadcastNode::new("n1", &ids(4), cfg, 0, 1);
    let mut out = Outbox::new();
    for v in [0, 1] {
        node.on_message(
            ms(0),
            msg("n0", None, BroadcastIn::Deliver { messages: vec![v] }),
            &mut out,
        );
    }
    let spread = |have: Vec<(u64, u64)>| BroadcastIn::Spread {
        messages: vec![],
        have,
    };
    // n2 says it holds only 0, and 4, which n1 lacks: n1 pushes nothing (n2 pulls what it
    // lacks itself) and asks n2 for 4.
    let t = 2 * settle;
    node.on_message(
        ms(t),
        msg("n2", None, spread(vec![(0, 0), (4, 4)])),
        &mut out,
    );
    let sent = drain(&mut out);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].dest, "n2");
    assert_eq!(
        sent[0].payload(),
        Some(&BroadcastOut::Digest {
            have: vec![(0, 1)],
            reply: true,
            pull: true
        })
    );
    // Another gap within the ask gap, from another peer: no second ask.
    node.on_message(
        ms(t + gap - 1),
        msg("n3", None, spread(vec![(4, 4)])),
        &mut out,
    );
    assert!(drain(&mut out).is_empty(), "one ask per gap");
    node.on_message(ms(t + gap), msg("n3", None, spread(vec![(4, 4)])), &mut out);
    assert_eq!(drain(&mut out).len(), 1, "asks again once the gap is over");
    // The answer to a pull is marked so, and the repaired value stays put.
    node.on_message(
        ms(t + gap + 1),
        msg(
            "n2",
            None,
            BroadcastIn::Digest {
                have: vec![(4, 4)],
                reply: true,
                pull: true,
            },
        ),
        &mut out,
    );
    assert_eq!(
        drain(&mut out)[0].payload(),
        Some(&BroadcastOut::Repair {
            messages: vec![0, 1],
            spread: false
        })
    );
    let repair = |messages: Vec<u64>, spread: bool| BroadcastIn::Repair { messages, spread };
    node.on_message(
        ms(t + gap + 2),
        msg("n3", None, repair(vec![4], false)),
        &mut out,
    );
    assert!(
        drain(&mut out).is_empty(),
        "a pulled repair is not disseminated"
    );
    node.on_message(
        ms(t + gap + 3),
        msg("n3", None, repair(vec![5], true)),
        &mut out,
    );
    let dests: Vec<String> = drain(&mut out).iter().map(|m| m.dest.to_string()).collect();
    assert_eq!(
        dests,
        ["n0", "n2"],
        "a pushed repair is, except to its sender"
    );
    assert_eq!(node.values(), vec![0, 1, 4, 5]);
    // In sync: a spread whose digest covers everything settled here costs nothing.
    node.on_message(
        ms(t + 2 * gap),
        msg("n2", None, spread(vec![(0, 1), (4, 5)])),
        &mut out,
    );
    assert!(out.is_empty());
}

#[test]
fn explicit_digests_wait_for_quiet_and_go_to_the_peer_heard_from_longest_ago() {
    let cfg = BroadcastConfig::for_mode(super::super::Mode::Latency);
    let period = cfg.digest_ms;
    let mut node = BroadcastNode::new("n0", &ids(4), cfg, 0, 3);
    let mut out = Outbox::new();
    // Heard from n1 and n3 lately, from n2 only at the start.
    node.on_message(
        ms(1),
        msg("n2", None, BroadcastIn::Deliver { messages: vec![1] }),
        &mut out,
    );
    node.on_message(
        ms(period),
        msg("c0", Some(1), BroadcastIn::Broadcast { message: 2 }),
        &mut out,
    );
    for p in ["n1", "n3"] {
        node.on_message(
            ms(period + 5),
            msg(p, None, BroadcastIn::Deliver { messages: vec![] }),
            &mut out,
        );
    }
    let _ = drain(&mut out);
    // A spread went out at `period`: no explicit digest until a full period later.
    for t in (period..2 * period).step_by(100) {
        node.on_timeout(ms(t), &mut out);
    }
    assert!(
        drain(&mut out)
            .iter()
            .all(|m| !matches!(m.payload(), Some(BroadcastOut::Digest { .. }))),
        "explicit digest while spreads still flow"
    );
    node.on_timeout(ms(2 * period), &mut out);
    let sent = drain(&mut out);
    let digests: Vec<&str> = sent
        .iter()
        .filter(|m| matches!(m.payload(), Some(BroadcastOut::Digest { .. })))
        .map(|m| m.dest.as_str())
        .collect();
    assert_eq!(digests, vec!["n2"]);
}

#[test]
fn acknowledged_values_are_written_with_their_ack_and_a_restart_greets_every_peer() {
    let cfg = BroadcastConfig::for_mode(super::super::Mode::Messages);
    let mut disk = glomers_node::Recovered {
        durable: true,
        ..Default::default()
    };
    let mut node = BroadcastNode::new("n3", &ids(4), cfg.clone(), 0, 1);
    node.recover(&disk);
    let mut out = Outbox::new();
    node.on_message(
        ms(5),
        msg("c1", Some(1), BroadcastIn::Broadcast { message: 7 }),
        &mut out,
    );
    // The messages mode holds the value for its next origin flush: only the ack leaves
    // now, and the value is on its way to disk in the same call.
    assert_eq!(drain(&mut out).len(), 1);
    let writes: Vec<_> = out.drain_writes().collect();
    assert_eq!(writes.len(), 1, "{writes:?}");
    node.on_message(
        ms(6),
        msg(
            "n0",
            None,
            BroadcastIn::Deliver {
                messages: vec![8, 7],
            },
        ),
        &mut out,
    );
    disk.apply(writes.into_iter().chain(out.drain_writes()));
    // Killed before its flush: a new life recovers both values and greets its peers.
    // Its clock offset is the wall clock at start, as in a real run.
    let mut again = BroadcastNode::new("n3", &ids(4), cfg, 1_767_225_600_000, 2);
    again.recover(&disk);
    assert_eq!(again.values(), vec![7, 8]);
    assert_eq!(again.poll_timeout(), Some(Time::ZERO), "greets at once");
    again.on_timeout(ms(10), &mut out);
    let sent = drain(&mut out);
    let greeted: Vec<&str> = sent
        .iter()
        .filter(|m| {
            m.payload()
                == Some(&BroadcastOut::Digest {
                    have: vec![(7, 8)],
                    reply: false,
                    pull: false,
                })
        })
        .map(|m| m.dest.as_str())
        .collect();
    assert_eq!(greeted, ["n0", "n1", "n2"]);
    again.on_timeout(ms(11), &mut out);
    assert!(
        drain(&mut out)
            .iter()
            .all(|m| !matches!(m.payload(), Some(BroadcastOut::Digest { .. }))),
        "only once"
    );
    // The peers answer a greeting that lists what they lack with a digest of their own,
    // and the recovered values, settled since long ago, are pushed at once.
    again.on_message(
        ms(12),
        msg(
            "n1",
            None,
            BroadcastIn::Digest {
                have: vec![(8, 9)],
                reply: true,
                pull: false,
            },
        ),
        &mut out,
    );
    assert_eq!(
        drain(&mut out)[0].payload(),
        Some(&BroadcastOut::Repair {
            messages: vec![7],
            spread: true
        })
    );
}
