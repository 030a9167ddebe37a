"use strict";
// The witness of each `nonlinearizable` anomaly (lin-kv), drawn from the anomaly object
// and the history alone, as Knossos and porcupine draw theirs: one row per process, each
// operation a bar from invocation to completion (to the end of the figure when it never
// completed), labelled with what it did and returned. Operations that cannot be ordered
// are outlined red and crossed: those named by the anomaly's optional `unorderable` list,
// or else all of its `ops` (a minimal set: every one of them is needed for the
// contradiction). A click on a bar shows the operation on the timeline.

const Witness = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, text) => {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };

  function label(s) {
    const v = (x) => JSON.stringify(x);
    let t = s.inv.f + " " + v(s.inv.value);
    if (s.done && s.done.type === "ok" && v(s.done.value) !== v(s.inv.value)) t += " → " + v(s.done.value);
    if (s.done && s.done.type !== "ok") t += " (" + s.done.type + ")";
    if (!s.done) t += " (no reply)";
    return t.length > 70 ? t.slice(0, 70) + "…" : t;
  }

  function figure(run, a, focus) {
    const spans = [];
    for (const i of Array.isArray(a.ops) ? a.ops : []) {
      const s = run.byIndex.get(Number(i));
      if (s && !spans.includes(s)) spans.push(s);
    }
    if (!spans.length) return document.createTextNode("the operations " + JSON.stringify(a.ops) + " are not in history.jsonl");
    const marked = new Set((Array.isArray(a.unorderable) ? a.unorderable : a.ops).map(Number));
    const isMarked = (s) => marked.has(s.inv.index) || (s.done !== null && marked.has(s.done.index));
    const procs = [...new Set(spans.map((s) => Run.processName(s.inv.process)))].sort();
    const t0 = Math.min(...spans.map((s) => s.t0));
    const t1 = Math.max(...spans.map((s) => (s.t1 === null ? s.t0 : s.t1)));
    const end = t1 + Math.max((t1 - t0) * 0.1, 1e6);
    const W = 900, left = 60, right = 20, rowH = 34, top = 24;
    const x = (t) => left + ((t - t0) / (end - t0 || 1)) * (W - left - right);
    const H = top + procs.length * rowH + 10;
    const root = svg("svg", { width: W, height: H, viewBox: `0 0 ${W} ${H}`, class: "witness-figure" });
    root.append(svg("text", { x: left, y: 14, class: "axis" }, (t0 / 1e9).toFixed(6) + " s"));
    root.append(svg("text", { x: W - right, y: 14, "text-anchor": "end", class: "axis" }, (end / 1e9).toFixed(6) + " s"));
    procs.forEach((p, r) => root.append(svg("text", { x: 4, y: top + r * rowH + 20, class: "proc" }, p)));
    for (const s of spans) {
      const r = procs.indexOf(Run.processName(s.inv.process));
      const y = top + r * rowH + 4;
      const xa = x(s.t0), xb = Math.max(x(s.t1 === null ? end : s.t1), xa + 4);
      const bad = isMarked(s);
      const g = svg("g", { class: "witness-op" + (bad ? " unorderable" : ""), "data-op": s.inv.index });
      g.append(svg("rect", { x: xa, y, width: xb - xa, height: rowH - 10, rx: 3 }));
      g.append(svg("text", { x: xa + 4, y: y + 16 }, label(s)));
      if (bad) g.append(svg("text", { x: xb - 12, y: y + 16, class: "cross" }, "✗"));
      g.append(svg("title", {}, "op " + s.inv.index + (s.done ? "/" + s.done.index : "")));
      g.addEventListener("click", () => focus(s.inv.index));
      root.append(g);
    }
    return root;
  }

  function draw(run, into, focus) {
    const found = [];
    for (const [name, sec] of Object.entries(run.results)) {
      const list = sec && sec.details && Array.isArray(sec.details.anomalies) ? sec.details.anomalies : [];
      for (const a of list) if (a && a.kind === "nonlinearizable") found.push([name, a]);
    }
    const section = into.closest("section");
    if (!found.length) { if (section) section.hidden = true; return 0; }
    if (section) section.hidden = false;
    into.replaceChildren();
    for (const [name, a] of found) {
      const head = document.createElement("h3");
      head.textContent = name + ": key " + JSON.stringify(a.key) + " — " + (a.text || "");
      const box = document.createElement("div");
      box.className = "witness";
      box.append(head, figure(run, a, focus));
      into.append(box);
    }
    return found.length;
  }

  return { draw };
})();
