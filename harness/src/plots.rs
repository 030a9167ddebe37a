//! SVG plots of a run: latency of every op over time (log scale, coloured by completion
//! type, like Maelstrom's latency-raw) and the operation rate over time. Both shade the
//! nemesis's fault windows, one colour per fault (`crate::sim::faults::WINDOWS`: from a
//! fault's operation to its next recovery, e.g. `kill` to `start`, or to the end), as
//! Maelstrom's perf graphs do.

use std::path::Path;

use plotters::prelude::*;

use crate::history::{span, History, OpType};
use crate::sim::faults::{Window, WINDOWS};

/// Errors while drawing.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// plotters failed (file or drawing trouble).
    #[error("plot {file}: {why}")]
    Draw {
        /// The file.
        file: String,
        /// What plotters said.
        why: String,
    },
}

/// Turns a plotters error on `file` into a [`PlotError`].
pub(crate) fn draw_err<E: std::fmt::Display>(file: &str) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        file: file.to_owned(),
        why: e.to_string(),
    }
}

/// Writes `latency-raw.svg` and `rate.svg` into `dir`.
pub fn write_all(dir: &Path, h: &History) -> Result<(), PlotError> {
    latency(dir, h)?;
    rate(dir, h)
}

/// The opacity of the fault shading.
const FAULT_OPACITY: f64 = 0.35;

/// The nemesis's fault windows in seconds, per kind of fault: from a fault's operation to
/// its next recovery (a second fault while one is open extends it); a window still open at
/// the end of the history closes at `end`. In kind order, then by time.
pub fn nemesis_windows(h: &History, end: f64) -> Vec<(Window, f64, f64)> {
    let mut out = Vec::new();
    for w in WINDOWS {
        let mut open: Option<f64> = None;
        for op in h.ops.iter().filter(|o| !o.is_client()) {
            let t = op.time.as_secs_f64();
            if op.f == w.start {
                open.get_or_insert(t);
            } else if op.f == w.stop {
                if let Some(a) = open.take() {
                    out.push((w, a, t));
                }
            }
        }
        if let Some(a) = open {
            out.push((w, a, end.max(a)));
        }
    }
    out
}

fn fault_colour(w: &Window) -> RGBAColor {
    let (r, g, b) = w.rgb;
    RGBAColor(r, g, b, FAULT_OPACITY)
}

/// Shades every fault window, one legend entry per kind of fault.
fn shade<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'_, DB, CT>,
    windows: &[(Window, f64, f64)],
    y: (f64, f64),
    file: &str,
) -> Result<(), PlotError> {
    for kind in WINDOWS {
        let mine: Vec<(f64, f64)> = windows
            .iter()
            .filter(|(w, _, _)| *w == kind)
            .map(|&(_, a, b)| (a, b))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let colour = fault_colour(&kind);
        chart
            .draw_series(
                mine.iter()
                    .map(|&(a, b)| Rectangle::new([(a, y.0), (b, y.1)], colour.filled())),
            )
            .map_err(draw_err(file))?
            .label(kind.fault.name())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    Ok(())
}

fn points(h: &History) -> Vec<(f64, f64, OpType)> {
    h.completed()
        .into_iter()
        .filter_map(|(inv, done)| {
            let d = done?;
            let ms = span::ms(d.time.saturating_since(inv.time)).max(0.01);
            Some((inv.time.as_secs_f64(), ms, d.kind))
        })
        .collect()
}

fn latency(dir: &Path, h: &History) -> Result<(), PlotError> {
    let file = "latency-raw.svg";
    let path = dir.join(file);
    let pts = points(h);
    let t_max = pts.iter().map(|p| p.0).fold(1.0, f64::max);
    let l_max = pts.iter().map(|p| p.1).fold(1.0, f64::max) * 2.0;
    let root = SVGBackend::new(&path, (900, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(file))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("latency (ms, log scale)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..t_max * 1.02, (0.01..l_max).log_scale())
        .map_err(draw_err(file))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("latency (ms)")
        .draw()
        .map_err(draw_err(file))?;
    shade(&mut chart, &nemesis_windows(h, t_max), (0.01, l_max), file)?;
    for (kind, colour, label) in [
        (OpType::Ok, BLUE, "ok"),
        (OpType::Fail, RED, "fail"),
        (OpType::Info, RGBColor(230, 150, 0), "info"),
    ] {
        chart
            .draw_series(
                pts.iter()
                    .filter(|p| p.2 == kind)
                    .map(|p| Circle::new((p.0, p.1), 2, colour.filled())),
            )
            .map_err(draw_err(file))?
            .label(label)
            .legend(move |(x, y)| Circle::new((x, y), 3, colour.filled()));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .draw()
        .map_err(draw_err(file))?;
    root.present().map_err(draw_err(file))
}

fn rate(dir: &Path, h: &History) -> Result<(), PlotError> {
    let file = "rate.svg";
    let path = dir.join(file);
    let pts = points(h);
    let secs = pts.iter().map(|p| p.0).fold(0.0, f64::max).ceil() as usize + 1;
    let mut buckets = vec![[0u32; 3]; secs];
    for p in &pts {
        let k = match p.2 {
            OpType::Ok => 0,
            OpType::Fail => 1,
            _ => 2,
        };
        if let Some(b) = buckets.get_mut(p.0 as usize) {
            b[k] += 1;
        }
    }
    let y_max = buckets
        .iter()
        .flat_map(|b| b.iter())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64
        * 1.1;
    let root = SVGBackend::new(&path, (900, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_err(file))?;
    let mut chart = ChartBuilder::on(&root)
        .caption("operation rate (ops/s, by completion)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..secs as f64, 0.0..y_max)
        .map_err(draw_err(file))?;
    chart
        .configure_mesh()
        .x_desc("time (s)")
        .y_desc("ops/s")
        .draw()
        .map_err(draw_err(file))?;
    shade(
        &mut chart,
        &nemesis_windows(h, secs as f64),
        (0.0, y_max),
        file,
    )?;
    for (k, colour, label) in [
        (0, BLUE, "ok"),
        (1, RED, "fail"),
        (2, RGBColor(230, 150, 0), "info"),
    ] {
        chart
            .draw_series(LineSeries::new(
                buckets
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (i as f64 + 0.5, b[k] as f64)),
                colour,
            ))
            .map_err(draw_err(file))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 15, y)], colour));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .draw()
        .map_err(draw_err(file))?;
    root.present().map_err(draw_err(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::testkit::Hb;
    use crate::sim::faults::{ops, Fault};
    use glomers_node::Time;
    use serde_json::json;

    fn faulty_run() -> History {
        let mut b = Hb::new();
        b.op(0, "read", json!(null), OpType::Ok, json!([]));
        b.at(Time::from_millis(1000)).nemesis(ops::START_PARTITION);
        b.at(Time::from_millis(1200)).nemesis(ops::KILL);
        b.op(0, "read", json!(null), OpType::Ok, json!([]));
        b.at(Time::from_millis(2000)).nemesis(ops::START);
        b.at(Time::from_millis(2500)).nemesis(ops::STOP_PARTITION);
        b.at(Time::from_millis(3000)).nemesis(ops::START_PARTITION);
        b.at(Time::from_millis(3500)).nemesis(ops::PAUSE);
        b.op(0, "read", json!(null), OpType::Ok, json!([]));
        b.build()
    }

    #[test]
    fn fault_windows_run_from_each_fault_to_its_own_recovery_or_the_end() {
        let w: Vec<(Fault, f64, f64)> = nemesis_windows(&faulty_run(), 9.0)
            .into_iter()
            .map(|(w, a, b)| (w.fault, a, b))
            .collect();
        assert_eq!(
            w,
            vec![
                (Fault::Partition, 1.0, 2.5),
                (Fault::Partition, 3.0, 9.0),
                (Fault::Kill, 1.2, 2.0),
                (Fault::Pause, 3.5, 9.0),
            ]
        );
        assert!(nemesis_windows(&Hb::new().build(), 9.0).is_empty());
    }

    #[test]
    fn a_restart_alone_opens_no_window() {
        let mut b = Hb::new();
        b.at(Time::from_millis(1000)).nemesis(ops::START);
        b.at(Time::from_millis(2000)).nemesis(ops::RESUME);
        assert!(nemesis_windows(&b.build(), 9.0).is_empty());
    }

    #[test]
    fn both_plots_shade_each_fault_in_its_colour() {
        let dir = std::env::temp_dir().join(format!("glomers-plots-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let fill = |w: &Window| {
            let (r, g, b) = w.rgb;
            format!("opacity=\"{FAULT_OPACITY}\" fill=\"#{r:02X}{g:02X}{b:02X}\"")
        };
        let kind = |f: Fault| {
            WINDOWS
                .iter()
                .find(|w| w.fault == f)
                .copied()
                .expect("kind")
        };
        let cases = [(faulty_run(), [2, 1, 1]), (Hb::new().build(), [0, 0, 0])];
        for (h, shaded) in cases {
            write_all(&dir, &h).expect("plots drawn");
            for f in ["latency-raw.svg", "rate.svg"] {
                let svg = std::fs::read_to_string(dir.join(f)).expect("svg");
                for (fault, n) in [Fault::Partition, Fault::Kill, Fault::Pause]
                    .into_iter()
                    .zip(shaded)
                {
                    // The windows, plus the legend's swatch when there is any.
                    let want = if n == 0 { 0 } else { n + 1 };
                    assert_eq!(
                        svg.matches(&fill(&kind(fault))).count(),
                        want,
                        "{f} {fault}"
                    );
                }
            }
        }
    }
}
