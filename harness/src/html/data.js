"use strict";
// The run's data, read from the page's data blocks (see harness/src/html/mod.rs) into one
// model: results, history spans, messages, lanes, nemesis windows and node logs. Times are
// nanoseconds since the start of the run, as in history.jsonl and messages.jsonl.

const Run = (() => {
  function block(id) {
    const el = document.getElementById(id);
    if (!el || el.hasAttribute("data-missing")) return null;
    return el.textContent;
  }

  function parseJson(text, fallback) {
    if (!text || !text.trim()) return fallback;
    try { return JSON.parse(text); } catch (e) { return fallback; }
  }

  // JSON lines, all at once (one parse), or line by line when some line is broken.
  function parseLines(text) {
    if (!text) return [];
    const lines = text.split("\n").filter((l) => l.trim() !== "");
    try { return JSON.parse("[" + lines.join(",") + "]"); } catch (e) { /* below */ }
    const out = [];
    for (const l of lines) {
      try { out.push(JSON.parse(l)); } catch (e) { /* a cut last line */ }
    }
    return out;
  }

  const isClientProcess = (p) => p !== null && typeof p === "object";
  const processName = (p) => (isClientProcess(p) ? "p" + p.client : String(p));

  // Invoke/completion pairs by process, as History::pairs does: one span per invoke.
  function spansOf(ops) {
    const open = new Map();
    const spans = [];
    const byIndex = new Map();
    for (const op of ops) {
      if (!isClientProcess(op.process)) continue;
      const key = op.process.client;
      if (op.type === "invoke") {
        const s = { inv: op, done: null, t0: op.time, t1: null, kind: "pending", lane: -1 };
        open.set(key, s);
        spans.push(s);
        byIndex.set(op.index, s);
      } else {
        const s = open.get(key);
        if (!s) continue;
        open.delete(key);
        s.done = op;
        s.t1 = op.time;
        s.kind = op.type;
        byIndex.set(op.index, s);
      }
    }
    return { spans, byIndex };
  }

  // Each fault's operation and the recovery that ends its window (the harness's
  // sim/faults.rs WINDOWS table).
  const FAULT_WINDOWS = [
    ["start-partition", "stop-partition"],
    ["start-partition-oneway", "stop-partition-oneway"],
    ["kill", "start"],
    ["pause", "resume"],
    ["start-duplicate", "stop-duplicate"],
    ["skew-clock", "reset-clock"],
  ];

  // Nemesis windows [start, stop], per fault, and marks; a window still open ends at `end`.
  function nemesisOf(ops, end) {
    const marks = [];
    const windows = [];
    const open = new Map();
    for (const op of ops) {
      if (isClientProcess(op.process)) continue;
      marks.push(op);
      for (const [start, stop] of FAULT_WINDOWS) {
        if (op.f === start && !open.has(start)) open.set(start, op.time);
        else if (op.f === stop && open.has(start)) { windows.push([open.get(start), op.time]); open.delete(start); }
      }
    }
    for (const t of open.values()) windows.push([t, Math.max(t, end)]);
    return { marks, windows };
  }

  const clientNum = (id) => Number(id.slice(1));
  const isClientId = (id) => /^c\d+$/.test(id);

  // Each span's client: the first request from a client to the span's node sent while the
  // span is open and not yet claimed by another span (a client has one request in flight).
  function assignClients(spans, messages) {
    const bySent = new Map();
    for (const m of messages) {
      if (!isClientId(m.src)) continue;
      const k = m.dest;
      if (!bySent.has(k)) bySent.set(k, []);
      bySent.get(k).push(m);
    }
    for (const list of bySent.values()) list.sort((a, b) => a.sent - b.sent);
    const claimed = new Set();
    const sorted = spans.slice().sort((a, b) => a.t0 - b.t0);
    for (const s of sorted) {
      const list = bySent.get(s.inv.node);
      if (!list) continue;
      let lo = 0, hi = list.length;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid].sent < s.t0) lo = mid + 1; else hi = mid; }
      const end = s.t1 === null ? Infinity : s.t1;
      for (let i = lo; i < list.length && list[i].sent <= end; i++) {
        if (!claimed.has(list[i].id)) { claimed.add(list[i].id); s.client = list[i].src; break; }
      }
    }
  }

  // Node log lines: "[   2.041337] text" (harness/src/runner/process.rs).
  function logLines(text) {
    const out = [];
    const re = /^\[\s*(\d+)\.(\d{6})\] ?(.*)$/;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      const m = re.exec(line);
      if (m) out.push({ t: Number(m[1]) * 1e9 + Number(m[2]) * 1e3, text: m[3] });
      else out.push({ t: null, text: line });
    }
    return out;
  }

  function load() {
    const t0 = performance.now();
    const results = parseJson(block("results"), {}) || {};
    const ops = parseLines(block("history"));
    const rawMessages = parseLines(block("messages"));
    const summary = rawMessages.length && rawMessages[rawMessages.length - 1].summary
      ? rawMessages.pop().summary : null;
    const messages = rawMessages.filter((m) => m && typeof m.id === "number");
    const logs = parseJson(block("logs"), {}) || {};
    const { spans, byIndex } = spansOf(ops);
    let end = 0;
    for (const op of ops) end = Math.max(end, op.time || 0);
    for (const m of messages) end = Math.max(end, m.sent, m.at || 0);
    end = Math.max(end, 1e6);
    const nemesis = nemesisOf(ops, end);
    assignClients(spans, messages);

    // Lanes: nodes in the run's order, then services, then clients by number.
    const nodes = Array.isArray(results.nodes) ? results.nodes.slice() : [];
    const seen = new Set(nodes);
    const services = new Set();
    const clients = new Set();
    for (const m of messages) {
      for (const id of [m.src, m.dest]) {
        if (seen.has(id)) continue;
        if (isClientId(id)) clients.add(id); else if (/^n\d+$/.test(id)) { nodes.push(id); seen.add(id); } else services.add(id);
      }
    }
    for (const s of spans) if (s.client) clients.add(s.client);
    const lanes = [];
    const laneOf = new Map();
    const addLane = (id, kind) => { laneOf.set(id, lanes.length); lanes.push({ id, kind, ops: 0 }); };
    nodes.forEach((n) => addLane(n, "node"));
    [...services].sort().forEach((s) => addLane(s, "service"));
    [...clients].sort((a, b) => clientNum(a) - clientNum(b)).forEach((c) => addLane(c, "client"));
    for (const s of spans) {
      const id = s.client || processName(s.inv.process);
      if (!laneOf.has(id)) addLane(id, "client");
      s.lane = laneOf.get(id);
      lanes[s.lane].ops++;
    }
    const types = new Map();
    for (const m of messages) {
      m.srcLane = laneOf.get(m.src);
      m.destLane = laneOf.get(m.dest);
      const t = m.type || "(none)";
      m.typeName = t;
      types.set(t, (types.get(t) || 0) + 1);
    }
    const logsParsed = {};
    for (const [node, l] of Object.entries(logs)) logsParsed[node] = { lines: logLines(l.text || ""), bytes: l.bytes, shown: (l.text || "").length };
    return {
      results, ops, spans, byIndex, messages, summary, lanes, laneOf, types, nemesis,
      logs: logsParsed, end, parseMs: performance.now() - t0,
    };
  }

  return { load, processName, isClientProcess };
})();
