//! SVG timelines of the operations that cannot be linearized: one lane per process, each
//! operation a bar from its invocation to its completion (an indeterminate one runs to the
//! right edge, drawn lighter), labelled with what it did and its history index. Operations of the longest
//! partial linearization are blue and numbered in that order; the ones that could not be
//! ordered after them are red.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde_json::Value;

use crate::history::{History, Op, OpType, Process};
use crate::plots::PlotError;

/// One bar.
#[derive(Debug, Clone, PartialEq)]
struct Bar {
    lane: usize,
    start_ms: f64,
    end_ms: Option<f64>,
    label: String,
    /// Position in the partial linearization (from 1), or `None` if unorderable.
    order: Option<usize>,
}

/// The invocation and completion of the operation named by history index `name`.
fn entries(h: &History, pairs: &[Option<usize>], name: usize) -> Option<(Op, Option<Op>)> {
    let op = h.ops.get(name)?;
    if op.kind == OpType::Invoke {
        return Some((op.clone(), None));
    }
    let inv = h.ops.get(pairs.get(name).copied().flatten()?)?;
    Some((inv.clone(), Some(op.clone())))
}

/// `w 3`, `r 2`, `cas 1→4`, from the history's values.
fn label(inv: &Op, done: Option<&Op>) -> String {
    let x = |v: &Value| v.get(1).cloned().unwrap_or(Value::Null);
    match inv.f.as_str() {
        "read" => format!(
            "r {}",
            done.map(|d| x(&d.value.json())).unwrap_or(Value::Null)
        ),
        "write" => format!("w {}", x(&inv.value.json())),
        "cas" => {
            let p = x(&inv.value.json());
            format!(
                "cas {}→{}",
                p.get(0).unwrap_or(&Value::Null),
                p.get(1).unwrap_or(&Value::Null)
            )
        }
        f => f.to_owned(),
    }
}

fn indices(a: &Value, field: &str) -> Vec<usize> {
    a[field]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|i| i.as_u64().map(|i| i as usize))
                .collect()
        })
        .unwrap_or_default()
}

/// The bars of one anomaly, and the processes (lane names) in lane order.
fn bars(h: &History, anomaly: &Value) -> (Vec<Bar>, Vec<u64>) {
    let pairs = h.pairs();
    let ops = indices(anomaly, "ops");
    let linearized = indices(anomaly, "linearized");
    let found: Vec<(usize, Op, Option<Op>)> = ops
        .iter()
        .filter_map(|&n| entries(h, &pairs, n).map(|(i, d)| (n, i, d)))
        .collect();
    let lanes: Vec<u64> = found
        .iter()
        .filter_map(|(_, i, _)| match i.process {
            Process::Client(p) => Some(p),
            Process::Nemesis => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let bars = found
        .iter()
        .map(|(n, inv, done)| Bar {
            lane: match inv.process {
                Process::Client(p) => lanes.iter().position(|&l| l == p).unwrap_or(0),
                Process::Nemesis => 0,
            },
            start_ms: inv.time.as_millis_f64(),
            end_ms: done
                .as_ref()
                .filter(|d| d.kind == OpType::Ok)
                .map(|d| d.time.as_millis_f64()),
            label: format!("{} #{n}", label(inv, done.as_ref())),
            order: linearized.iter().position(|l| l == n).map(|p| p + 1),
        })
        .collect();
    (bars, lanes)
}

/// Draws one anomaly's timeline into `path`.
fn draw(path: &Path, title: &str, bars: &[Bar], lanes: &[u64]) -> Result<(), PlotError> {
    let file = path.display().to_string();
    let err = |e: &dyn std::fmt::Display| PlotError::Draw {
        file: file.clone(),
        why: e.to_string(),
    };
    let t0 = bars
        .iter()
        .map(|b| b.start_ms)
        .fold(f64::INFINITY, f64::min);
    let t1 = bars
        .iter()
        .map(|b| b.end_ms.unwrap_or(b.start_ms))
        .fold(t0, f64::max);
    let span = (t1 - t0).max(1.0);
    let (x0, x1) = (t0 - span * 0.05, t1 + span * 0.25);
    let height = 120 + 60 * lanes.len() as u32;
    let root = SVGBackend::new(path, (1000, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(90)
        .build_cartesian_2d(x0..x1, 0.0..lanes.len() as f64)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("time (ms since the start of the run)")
        .y_labels(lanes.len() * 2 + 1)
        .y_label_formatter(&|y| {
            let lane = (*y - 0.5).round();
            if (y - 0.5 - lane).abs() < 1e-6 && lane >= 0.0 {
                lanes
                    .get(lane as usize)
                    .map(|p| format!("process {p}"))
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .draw()
        .map_err(|e| err(&e))?;
    for b in bars {
        let y = b.lane as f64;
        let end = b.end_ms.unwrap_or(x1);
        let colour = match b.order {
            Some(_) => RGBColor(70, 120, 200),
            None => RGBColor(210, 50, 50),
        };
        let fill = if b.end_ms.is_some() {
            colour.filled()
        } else {
            colour.mix(0.35).filled()
        };
        chart
            .draw_series([Rectangle::new(
                [(b.start_ms, y + 0.3), (end, y + 0.7)],
                fill,
            )])
            .map_err(|e| err(&e))?;
        let text = match b.order {
            Some(k) => format!("{} [{k}]", b.label),
            None => format!("{} [cannot be ordered]", b.label),
        };
        chart
            .draw_series([Text::new(
                text,
                (b.start_ms, y + 0.82),
                ("sans-serif", 13).into_font().color(&BLACK),
            )])
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))
}

/// Draws the timeline of every `nonlinearizable` anomaly in `details["anomalies"]` that
/// names a `plot` file, into `dir`. Returns the files written.
pub fn write_all(dir: &Path, h: &History, details: &Value) -> Result<Vec<PathBuf>, PlotError> {
    let mut written = Vec::new();
    for a in details["anomalies"].as_array().into_iter().flatten() {
        let Some(file) = a["plot"].as_str() else {
            continue;
        };
        if a["kind"] != "nonlinearizable" {
            continue;
        }
        let (bars, lanes) = bars(h, a);
        if bars.is_empty() {
            continue;
        }
        let title = format!(
            "key {}: operations that cannot be linearized",
            super::key_label(&a["key"])
        );
        let path = dir.join(file);
        draw(&path, &title, &bars, &lanes)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::linearizable::{check, LinOpts};
    use crate::checkers::testkit::Hb;
    use serde_json::json;

    /// A stale read: w 1, w 2 (process 1), then r 1 (process 2).
    fn stale() -> History {
        let mut hb = Hb::new();
        hb.op(0, "write", json!([4, 1]), OpType::Ok, json!([4, 1]));
        hb.op(1, "write", json!([4, 2]), OpType::Ok, json!([4, 2]));
        hb.invoke(3, "cas", json!([4, [2, 3]]));
        hb.op(2, "read", json!([4, null]), OpType::Ok, json!([4, 1]));
        hb.build()
    }

    #[test]
    fn bars_follow_the_anomaly() {
        let h = stale();
        let r = check(&h, &LinOpts::default());
        let a = &r.details["anomalies"][0];
        let (bars, lanes) = bars(&h, a);
        assert_eq!(lanes, vec![0, 1, 2]);
        let shown: Vec<(usize, &str, Option<usize>)> = bars
            .iter()
            .map(|b| (b.lane, b.label.as_str(), b.order))
            .collect();
        assert_eq!(
            shown,
            vec![
                (0, "w 1 #1", Some(1)),
                (1, "w 2 #3", Some(2)),
                (2, "r 1 #6", None)
            ]
        );
        assert!(bars
            .iter()
            .all(|b| b.end_ms.is_some_and(|e| e > b.start_ms)));
    }

    #[test]
    fn writes_one_svg_per_shrunk_anomaly() {
        let h = stale();
        let r = check(&h, &LinOpts::default());
        let dir = std::env::temp_dir().join(format!("glomers-timeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let files = write_all(&dir, &h, &r.details).expect("drawn");
        assert_eq!(files, vec![dir.join("nonlinearizable-4.svg")]);
        let svg = std::fs::read_to_string(&files[0]).expect("svg");
        assert!(svg.contains("r 1 #6 [cannot be ordered]"), "{svg}");
        assert!(svg.contains("w 2 #3 [2]"));
        // A valid history draws nothing.
        let ok = check(&Hb::new().build(), &LinOpts::default());
        assert!(write_all(&dir, &h, &ok.details)
            .expect("nothing")
            .is_empty());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
