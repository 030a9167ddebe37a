"use strict";
// The page: verdict and checks with every anomaly linked to its operations, the timeline
// with its filters and detail panel, the lin-kv witness, and the node logs aligned with the
// timeline. `window.report` exposes the state for the browser tests.

const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
};
const secs = (ns) => (ns / 1e9).toFixed(6) + " s";
// results.json writes verdicts as "valid" / "invalid" / "unknown" (Jepsen's true / false too).
const verdictText = (v) => (v === true || v === "valid" ? "valid" : v === false || v === "invalid" ? "INVALID" : "unknown");
const verdictClass = (v) => ({ valid: "ok", INVALID: "bad" })[verdictText(v)] || "unknown";
const short = (v, n) => { const s = JSON.stringify(v); return s === undefined ? "" : s.length > n ? s.slice(0, n) + "…" : s; };

function header(run, loadMs) {
  const r = run.results;
  $("verdict").textContent = (r.workload_name || "run") + ": " + verdictText(r.valid);
  $("verdict").className = verdictClass(r.valid);
  const net = r.net && r.net.all ? r.net.all : {};
  const lat = r.perf && r.perf.latencies && r.perf.latencies.overall ? r.perf.latencies.overall.all : null;
  const facts = [
    ["seed", r.seed], ["nodes", Array.isArray(r.nodes) ? r.nodes.length : "-"],
    ["wall", r.wall_secs !== undefined ? r.wall_secs.toFixed(1) + " s" : "-"],
    ["messages", net.msg_count], ["msgs-per-op", net.msgs_per_op !== undefined ? net.msgs_per_op.toFixed(2) : "-"],
    ["latency p50 / p99", lat && lat.quantiles_ms ? Number(lat.quantiles_ms["0.5"]).toFixed(1) + " / " + Number(lat.quantiles_ms["0.99"]).toFixed(1) + " ms" : "-"],
  ];
  // Node processes' peak resident set (process runs only): the largest over the nodes.
  const peaks = Object.values(r.node_memory || {}).map((m) => m && m.peak_rss_kib).filter((k) => typeof k === "number");
  if (peaks.length) facts.push(["node peak RSS", (Math.max(...peaks) / 1024).toFixed(1) + " MiB"]);
  $("facts").replaceChildren(...facts.map(([k, v]) => el("span", { class: "fact" }, k + " ", el("b", {}, String(v === undefined ? "-" : v)))));
  const s = run.summary;
  $("log-note").textContent = run.messages.length + " messages in the log" +
    (s && s.omitted ? ", " + s.omitted + " more not logged (the log keeps the first " + s.max_lines + ")" : "") +
    (s && s.cut_bodies ? ", " + s.cut_bodies + " bodies cut at " + s.max_body_bytes + " bytes" : "") +
    "; page ready in " + loadMs.toFixed(0) + " ms";
}

// One block per checker section of results.json, each anomaly linked to its operations.
function checks(run, focusOp) {
  const out = [];
  for (const [name, sec] of Object.entries(run.results)) {
    if (!sec || typeof sec !== "object" || !("valid" in sec) || !("problems" in sec)) continue;
    const box = el("div", { class: "check " + verdictClass(sec.valid), id: "check-" + name },
      el("h3", {}, name + ": " + verdictText(sec.valid)));
    const anomalies = sec.details && Array.isArray(sec.details.anomalies) ? sec.details.anomalies : [];
    if (anomalies.length) {
      const list = el("ol", { class: "anomalies" });
      anomalies.forEach((a, i) => {
        const ops = Array.isArray(a.ops) ? a.ops : [];
        const links = ops.slice(0, 24).map((o) => el("a", { href: "#op-" + o, class: "op-link", "data-op": o,
          onclick: (e) => { e.preventDefault(); focusOp(o); } }, "op " + o));
        const li = el("li", { class: "anomaly", id: name + "-anomaly-" + i },
          el("span", { class: "kind" }, String(a.kind)), " ", String(a.text || ""), " ", ...links.flatMap((l) => [l, " "]));
        if (ops.length > 24) li.append("… " + (ops.length - 24) + " more");
        list.append(li);
      });
      box.append(list);
      if (sec.details.anomalies_omitted) box.append(el("p", {}, sec.details.anomalies_omitted + " more anomalies not listed"));
    } else if (Array.isArray(sec.problems) && sec.problems.length) {
      box.append(el("ul", {}, ...sec.problems.map((p) => el("li", {}, String(p)))));
    }
    out.push(box);
  }
  if (Array.isArray(run.results.node_problems)) {
    for (const p of run.results.node_problems) out.push(el("div", { class: "check bad" }, el("h3", {}, "node " + p.node + ": " + p.kind), el("pre", {}, JSON.stringify(p, null, 2))));
  }
  if (run.results.error) out.push(el("div", { class: "check bad" }, el("h3", {}, "run aborted"), String(run.results.error)));
  $("sections").replaceChildren(...(out.length ? out : [el("p", {}, "results.json is missing or holds no checks")]));
}

function opText(span) {
  const inv = span.inv, done = span.done;
  let s = inv.f + " " + short(inv.value, 60);
  if (done && done.type === "ok" && JSON.stringify(done.value) !== JSON.stringify(inv.value)) s += " → " + short(done.value, 60);
  if (done && done.error) s += " (" + done.error + ")";
  return s;
}

function showDetail(hit) {
  const d = $("detail");
  if (!hit) { d.textContent = ""; return; }
  if (hit.message) {
    const m = hit.message;
    const body = m.body !== null && m.body !== undefined ? JSON.stringify(m.body, null, 2)
      : (m.body_head || "") + "\n… (cut: " + m.body_bytes + " bytes in all)";
    d.textContent = "message " + m.id + " " + m.src + " → " + m.dest + "\nsent " + secs(m.sent) + ", " + m.fate +
      (m.at !== null && m.at !== undefined ? " at " + secs(m.at) : "") + "\n" + body;
  } else if (hit.span) {
    const s = hit.span;
    d.textContent = "operation " + s.inv.index + (s.done ? "/" + s.done.index : "") + " by " + Run.processName(s.inv.process) +
      (s.client ? " (client " + s.client + ")" : "") + " on " + (s.inv.node || "-") + ": " + s.kind + "\n" + secs(s.t0) +
      " → " + (s.t1 === null ? "never completed" : secs(s.t1)) + "\ninvoke " + JSON.stringify(s.inv.value, null, 2) +
      (s.done ? "\n" + s.done.type + " " + JSON.stringify(s.done.value, null, 2) : "");
  } else if (hit.lane) {
    d.textContent = hit.lane.kind + " " + hit.lane.id;
  }
}

function filters(run, tl) {
  const box = (label, checked, onchange, attrs) => el("label", { class: "filter" },
    el("input", Object.assign({ type: "checkbox", onchange: (e) => onchange(e.target.checked) }, checked ? { checked: "" } : {}, attrs || {})), " " + label);
  $("node-list").replaceChildren(...run.lanes.filter((l) => l.kind !== "client").map((l) =>
    box(l.id, true, (on) => { if (on) tl.hiddenLanes.delete(l.id); else tl.hiddenLanes.add(l.id); tl.layout(); tl.render(); }, { "data-lane": l.id })));
  $("type-list").replaceChildren(...[...run.types.entries()].sort().map(([t, n]) =>
    box(t + " (" + n + ")", true, (on) => { if (on) tl.hiddenTypes.delete(t); else tl.hiddenTypes.add(t); tl.render(); }, { "data-type": t })));
  $("show-clients").onchange = (e) => {
    for (const l of run.lanes) if (l.kind === "client") { if (e.target.checked) tl.hiddenLanes.delete(l.id); else tl.hiddenLanes.add(l.id); }
    tl.layout(); tl.render();
  };
  $("show-idle").onchange = (e) => { tl.showIdleClients = e.target.checked; tl.layout(); tl.render(); };
  $("apply-window").onclick = () => {
    const a = parseFloat($("t-from").value), b = parseFloat($("t-to").value);
    if (isFinite(a) && isFinite(b) && b > a) tl.setView(a * 1e9, b * 1e9);
  };
  $("zoom-reset").onclick = () => tl.setView(0, run.end);
  $("zoom-in").onclick = () => tl.zoom(0.5, tl.x((tl.view[0] + tl.view[1]) / 2));
  $("zoom-out").onclick = () => tl.zoom(2, tl.x((tl.view[0] + tl.view[1]) / 2));
}

// Shows history entry `index`: its span's lane made visible, the view around it, the bar
// outlined, the timeline scrolled into the window.
function focusOp(run, tl, index) {
  const s = run.byIndex.get(Number(index));
  const op = run.ops[Number(index)];
  if (!s && !op) return false;
  if (s) {
    const lane = run.lanes[s.lane];
    tl.hiddenLanes.delete(lane.id);
    if (lane.kind === "client" && lane.ops === 0) tl.showIdleClients = true;
    tl.layout();
    const t1 = s.t1 === null ? run.end : s.t1;
    const pad = Math.max((t1 - s.t0) * 1.5, 5e6);
    tl.highlight = s;
    tl.setView(s.t0 - pad, t1 + pad);
    showDetail({ span: s });
  } else {
    tl.cursor = op.time;
    tl.setView(op.time - 5e8, op.time + 5e8);
  }
  $("timeline-section").scrollIntoView({ block: "start" });
  return true;
}

function logs(run, tl) {
  const nodes = Object.keys(run.logs).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  let open = null;
  const show = (node) => {
    open = node;
    const l = run.logs[node];
    const lines = l.lines.slice(0, 20000);
    const view = el("div", { class: "log", id: "log-" + node });
    for (const line of lines) {
      const row = el("div", { class: "log-line" }, (line.t === null ? "" : secs(line.t) + "  ") + line.text);
      row.dataset.t = line.t === null ? "" : String(line.t);
      if (line.t !== null) row.onclick = () => { tl.cursor = line.t; const w = tl.view[1] - tl.view[0]; tl.setView(line.t - w / 2, line.t + w / 2); };
      view.append(row);
    }
    $("log-view").replaceChildren(el("p", {}, node + ": " + l.lines.length + " lines" + (lines.length < l.lines.length ? " (first 20000 shown)" : "") +
      (l.bytes > l.shown ? ", first " + l.shown + " of " + l.bytes + " bytes embedded; " : "; "), el("a", { href: "node-logs/" + node + ".log" }, "whole file")), view);
    const lane = run.laneOf.get(node);
    tl.logMarks = lane === undefined ? null : { lane, times: l.lines.filter((x) => x.t !== null).map((x) => x.t) };
    tl.render();
    align(tl.view);
  };
  // Lines inside the timeline's window are marked; the first is scrolled to.
  const align = (view) => {
    if (open === null) return;
    let first = null;
    for (const row of document.querySelectorAll("#log-view .log-line")) {
      const t = row.dataset.t === "" ? null : Number(row.dataset.t);
      const inside = t !== null && t >= view[0] && t <= view[1];
      row.classList.toggle("in-view", inside);
      if (inside && first === null) first = row;
    }
    if (first) first.parentElement.scrollTop = first.offsetTop - first.parentElement.offsetTop;
  };
  $("log-nodes").replaceChildren(...(nodes.length ? nodes.map((n) => el("button", { class: "log-button", "data-node": n, onclick: () => show(n) }, n)) : [el("p", {}, "no node logs")]));
  return { show, align };
}

function loadReport() {
  const t0 = performance.now();
  const run = Run.load();
  let logView = null;
  const tl = new Timeline($("timeline"), run, {
    onPick: (hit) => { if (hit && hit.lane && run.logs[hit.lane.id]) { logView.show(hit.lane.id); $("logs-section").scrollIntoView(); } showDetail(hit); },
    onRender: (n) => { $("msg-count").textContent = n + " of " + run.messages.length + " messages shown"; $("msg-count").dataset.drawn = String(n); },
    onView: (v) => { $("t-from").value = (v[0] / 1e9).toFixed(3); $("t-to").value = (v[1] / 1e9).toFixed(3); if (logView) logView.align(v); },
  });
  const focus = (i) => focusOp(run, tl, i);
  checks(run, focus);
  filters(run, tl);
  logView = logs(run, tl);
  Witness.draw(run, $("witness"), focus);
  // `#t=FROM-TO` (seconds) in the address opens the timeline on that window.
  const w = /^#t=([\d.]+)-([\d.]+)$/.exec(location.hash);
  if (w && Number(w[2]) > Number(w[1])) tl.setView(Number(w[1]) * 1e9, Number(w[2]) * 1e9);
  else tl.setView(0, run.end);
  const loadMs = performance.now() - t0;
  header(run, loadMs);
  window.report = {
    // readyAt: ms from the start of navigation (the page's time origin) to interactive.
    ready: true, loadMs, readyAt: performance.now(), run, timeline: tl, focusOp: focus,
    stats: () => ({ messages: run.messages.length, drawn: tl.drawn, view: tl.view.slice(),
      highlight: tl.highlight ? tl.highlight.inv.index : null, lanes: tl.visible.map((i) => run.lanes[i].id) }),
  };
}

window.addEventListener("DOMContentLoaded", loadReport);
