//! The gossip engine on its own, over a g-set: what each round sends, to whom, and when a
//! node goes quiet. Messages go through the wire encoding (JSON) in both directions.

use std::time::Duration;

use glomers_gset::VecGSet;
use glomers_node::{NodeInfo, Recovered, Start, Time};

use super::*;
use crate::replica::testkit::info;

fn ms(t: u64) -> Time {
    Time::from_millis(t)
}

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("n{i}")).collect()
}

/// Node `i` of `n`, started at wall-clock `unix_ms` (time zero of its clock).
fn node(i: usize, n: usize, config: &GossipConfig, unix_ms: u64) -> Gossip<VecGSet> {
    let ids = ids(n);
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let info: NodeInfo = info(&ids[i], &refs);
    let nothing = Recovered::default();
    let start = Start {
        info: &info,
        now: Time::ZERO,
        unix_ms,
        seed: i as u64,
        recovered: &nothing,
    };
    Gossip::new(&start, config.clone())
}

fn cluster(n: usize, config: &GossipConfig) -> Vec<Gossip<VecGSet>> {
    (0..n).map(|i| node(i, n, config, 0)).collect()
}

fn add(g: &mut Gossip<VecGSet>, now: Time, x: i64) {
    let mut out: glomers_node::Outbox<()> = glomers_node::Outbox::new();
    g.update(now, &mut out, |s, _| {
        s.insert(x)?;
        let mut part = VecGSet::new();
        part.insert(x)?;
        Ok::<_, glomers_gset::Error>(part)
    })
    .expect("fits");
}

/// One message seen on the wire.
#[derive(Debug)]
struct Sent {
    at: Time,
    from: usize,
    to: usize,
    msg: GossipMsg<VecGSet>,
}

/// Runs the nodes from `from` to `until` in 1 ms steps: due timeouts run and what they send
/// is delivered at once through JSON, unless `lose(from, to)`. Returns every message sent.
fn run(
    nodes: &mut [Gossip<VecGSet>],
    from: Time,
    until: Time,
    lose: &dyn Fn(usize, usize) -> bool,
) -> Vec<Sent> {
    let mut log = Vec::new();
    let mut now = from;
    while now <= until {
        for i in 0..nodes.len() {
            if nodes[i].poll_timeout().is_some_and(|t| t <= now) {
                let mut out = Vec::new();
                nodes[i].on_timeout(now, &mut |dest, m| out.push((dest.to_owned(), m)));
                for (dest, msg) in out {
                    let to: usize = dest[1..].parse().expect("a node id");
                    let text = serde_json::to_string(&msg).expect("encodes");
                    let back: GossipMsg<VecGSet> = serde_json::from_str(&text).expect("decodes");
                    if !lose(i, to) {
                        nodes[to].on_gossip(now, &format!("n{i}"), back);
                    }
                    log.push(Sent {
                        at: now,
                        from: i,
                        to,
                        msg,
                    });
                }
            }
        }
        now += Duration::from_millis(1);
    }
    log
}

/// Whether `log[k]` pays an acknowledgement: its recipient sent its sender data after the
/// sender's previous message to it.
fn owed(log: &[Sent], k: usize) -> bool {
    let s = &log[k];
    let last_to = (0..k)
        .rev()
        .find(|&j| log[j].from == s.from && log[j].to == s.to);
    (last_to.map_or(0, |j| j + 1)..k)
        .any(|j| log[j].from == s.to && log[j].to == s.from && !log[j].msg.delta.is_empty())
}

fn holds(g: &Gossip<VecGSet>, xs: &[i64]) -> bool {
    xs.iter().all(|&x| g.state().contains(x))
}

#[test]
fn an_idle_node_sets_no_deadline_and_rounds_fall_on_the_grid() {
    let config = GossipConfig::default();
    let mut nodes = cluster(3, &config);
    assert!(nodes.iter().all(|n| n.poll_timeout().is_none()));
    add(&mut nodes[1], ms(1500), 7);
    assert_eq!(
        nodes[1].poll_timeout(),
        Some(ms(2000)),
        "a leaf: on the period"
    );
    add(&mut nodes[0], ms(1500), 8);
    assert_eq!(
        nodes[0].poll_timeout(),
        Some(ms(2020)),
        "the hub: the phase after the leaves"
    );
    let mut alone = node(0, 1, &config, 0);
    add(&mut alone, ms(100), 1);
    assert_eq!(alone.poll_timeout(), None, "no peer, nothing to send");
    let mut late = node(1, 3, &config, 250);
    add(&mut late, ms(100), 1);
    assert_eq!(
        late.poll_timeout(),
        Some(ms(750)),
        "aligned to the wall clock, not to the node's start"
    );
}

#[test]
fn a_star_round_reaches_everyone_then_acknowledgements_end_the_exchange() {
    let mut nodes = cluster(5, &GossipConfig::default());
    for (i, n) in nodes.iter_mut().enumerate() {
        add(n, ms(100), i as i64);
    }
    let log = run(&mut nodes, ms(100), ms(5000), &|_, _| false);
    let all = [0, 1, 2, 3, 4];
    assert!(nodes.iter().all(|n| holds(n, &all)));
    let at = |t: u64| log.iter().filter(|s| s.at == ms(t)).collect::<Vec<_>>();
    let leaves = at(1000);
    assert_eq!(leaves.len(), 4, "each leaf to the hub");
    assert!(
        leaves.iter().all(|s| s.to == 0 && s.msg.full),
        "introductions"
    );
    let hub = at(1020);
    assert_eq!(hub.len(), 4, "the hub to each leaf");
    assert!(hub.iter().all(|s| s.from == 0 && s.msg.ack.is_some()));
    let acks = at(2000);
    assert_eq!(acks.len(), 4, "each leaf acknowledges the hub's message");
    assert!(acks.iter().all(|s| s.msg.delta.is_empty() && !s.msg.full));
    assert_eq!(
        log.len(),
        12,
        "2(n-1) data messages and n-1 acknowledgements"
    );
    assert!(nodes.iter().all(|n| n.poll_timeout().is_none()), "quiet");
}

#[test]
fn a_lost_delta_is_resent_once_per_retransmit_until_it_lands() {
    let config = GossipConfig::default();
    let mut nodes = cluster(2, &config);
    add(&mut nodes[1], ms(0), 5);
    let cut = run(&mut nodes, ms(0), ms(10_000), &|_, _| true);
    let tries: Vec<Time> = cut.iter().map(|s| s.at).collect();
    assert_eq!(tries[0], ms(1000), "the first round");
    for pair in tries.windows(2) {
        assert!(
            pair[1].saturating_since(pair[0]) >= config.retransmit,
            "{tries:?}"
        );
    }
    assert!(tries.len() >= 4, "it keeps trying: {tries:?}");
    assert!(!holds(&nodes[0], &[5]));
    let healed = run(&mut nodes, ms(10_001), ms(20_000), &|_, _| false);
    assert!(holds(&nodes[0], &[5]));
    assert!(healed.len() <= 4, "{healed:?}");
    assert!(nodes.iter().all(|n| n.poll_timeout().is_none()));
}

#[test]
fn without_resend_a_lost_delta_stays_lost() {
    for resend in [true, false] {
        let config = GossipConfig {
            resend,
            ..GossipConfig::default()
        };
        let mut nodes = cluster(2, &config);
        add(&mut nodes[1], ms(0), 5);
        run(&mut nodes, ms(0), ms(1500), &|_, _| true);
        add(&mut nodes[1], ms(1500), 6);
        run(&mut nodes, ms(1500), ms(20_000), &|_, _| false);
        assert!(holds(&nodes[0], &[6]), "later data still flows");
        assert_eq!(holds(&nodes[0], &[5]), resend, "resend: {resend}");
    }
}

#[test]
fn a_leaf_cut_off_from_its_hub_gossips_with_the_other_leaves() {
    let mut nodes = cluster(3, &GossipConfig::default());
    add(&mut nodes[1], ms(0), 9);
    let hub_cut = |a: usize, b: usize| (a, b) == (0, 1) || (a, b) == (1, 0);
    run(&mut nodes, ms(0), ms(8000), &hub_cut);
    assert!(holds(&nodes[2], &[9]), "straight to the other leaf");
    assert!(holds(&nodes[0], &[9]), "which forwards it to the hub");
}

#[test]
fn a_restarted_peer_is_sent_everything_again() {
    let config = GossipConfig::default();
    let mut nodes = cluster(2, &config);
    add(&mut nodes[0], ms(0), 1);
    add(&mut nodes[1], ms(0), 2);
    run(&mut nodes, ms(0), ms(5000), &|_, _| false);
    assert!(holds(&nodes[1], &[1, 2]));
    // n1 restarts empty, 10 s later on the wall clock.
    nodes[1] = node(1, 2, &config, 10_000);
    add(&mut nodes[0], ms(10_000), 3);
    // The restarted node's clock starts at zero; drive both on n0's clock (the grids
    // agree: both are aligned to the wall clock).
    let mut restarted = std::mem::replace(&mut nodes[1], node(1, 2, &config, 0));
    let mut n0 = std::mem::replace(&mut nodes[0], node(0, 2, &config, 0));
    let mut introduced = false;
    for t in 10_000..20_000 {
        let now0 = ms(t);
        let now1 = ms(t - 10_000);
        let mut to1 = Vec::new();
        if n0.poll_timeout().is_some_and(|d| d <= now0) {
            n0.on_timeout(now0, &mut |_, m| to1.push(m));
        }
        for m in to1 {
            restarted.on_gossip(now1, "n0", m);
        }
        let mut to0 = Vec::new();
        if restarted.poll_timeout().is_some_and(|d| d <= now1) {
            restarted.on_timeout(now1, &mut |_, m| to0.push(m));
        }
        for m in to0 {
            introduced |= m.full;
            n0.on_gossip(now0, "n1", m);
        }
    }
    assert!(introduced, "the restarted node introduces itself");
    assert!(holds(&restarted, &[1, 2, 3]), "{:?}", restarted.state());
}

#[test]
fn a_mesh_with_fanout_offers_new_data_to_that_many_peers_per_round() {
    let config = GossipConfig {
        topology: Topology::Mesh,
        fanout: 1,
        ..GossipConfig::new(Duration::from_millis(100))
    };
    let mut nodes = cluster(5, &config);
    add(&mut nodes[3], ms(0), 4);
    let log = run(&mut nodes, ms(0), ms(3000), &|_, _| false);
    let first: Vec<_> = log.iter().filter(|s| s.at == ms(100)).collect();
    assert_eq!(first.len(), 1, "one peer in the first round");
    assert!(nodes.iter().all(|n| holds(n, &[4])), "epidemic spread");
    // Besides acknowledgements owed (the recipient sent data since the last message to
    // it), a node sends at most `fanout` messages per round.
    for t in 0..=3000 {
        for from in 0..5 {
            let offers = (0..log.len())
                .filter(|&k| log[k].at == ms(t) && log[k].from == from && !owed(&log, k))
                .count();
            assert!(offers <= 1, "n{from} at {t} ms: {log:?}");
        }
    }
    assert!(nodes.iter().all(|n| n.poll_timeout().is_none()));
}

#[test]
fn a_full_state_rides_on_a_message_once_per_heartbeat() {
    let mut nodes = cluster(2, &GossipConfig::default());
    add(&mut nodes[1], ms(0), 1);
    run(&mut nodes, ms(0), ms(3000), &|_, _| false);
    add(&mut nodes[1], ms(4000), 2);
    let soon = run(&mut nodes, ms(4000), ms(6000), &|_, _| false);
    assert!(soon.iter().all(|s| !s.msg.full), "introduced: deltas only");
    assert_eq!(soon[0].msg.delta.run_count(), 1);
    add(&mut nodes[1], ms(11_500), 3);
    let later = run(&mut nodes, ms(11_500), ms(13_000), &|_, _| false);
    assert!(later[0].msg.full, "a heartbeat is due: the whole state");
    assert_eq!(later[0].msg.delta.len(), 3);
}
