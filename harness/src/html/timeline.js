"use strict";
// The message timeline on a canvas: one lane per node, service and client, time from left
// to right; messages as arrows from send to receipt (dropped ones red and crossed, those
// never delivered a grey dot at the sender), client operations as bars on their client's
// lane (ok blue, fail red, info orange, never completed grey), nemesis faults as shaded
// bands with a mark at each nemesis operation. Wheel zooms around the pointer, dragging
// pans, a click picks the nearest arrow or bar.

const TYPE_COLOURS = ["#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];
const OP_COLOURS = { ok: "#4a90d9", fail: "#d9534f", info: "#f0ad4e", pending: "#aaaaaa" };

class Timeline {
  constructor(canvas, run, handlers) {
    this.canvas = canvas;
    this.run = run;
    this.handlers = handlers;
    this.laneH = 18;
    this.labelW = 64;
    this.axisH = 22;
    this.view = [0, run.end];
    this.hiddenLanes = new Set();
    this.hiddenTypes = new Set();
    this.showIdleClients = false;
    this.highlight = null;
    this.selected = null;
    this.cursor = null;
    this.logMarks = null; // {lane, times}
    this.drawn = 0;
    this.colour = new Map();
    [...run.types.keys()].sort().forEach((t, i) => this.colour.set(t, TYPE_COLOURS[i % TYPE_COLOURS.length]));
    this.layout();
    this.bind();
  }

  // Visible lanes and their rows.
  layout() {
    this.rows = new Map();
    const visible = [];
    this.run.lanes.forEach((l, i) => {
      if (this.hiddenLanes.has(l.id)) return;
      if (l.kind === "client" && l.ops === 0 && !this.showIdleClients) return;
      this.rows.set(i, visible.length);
      visible.push(i);
    });
    this.visible = visible;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(400, this.canvas.parentElement.clientWidth);
    const h = this.axisH + Math.max(1, visible.length) * this.laneH + 4;
    this.w = w;
    this.h = h;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.canvas.style.width = w + "px";
    this.canvas.style.height = h + "px";
    this.ctx = this.canvas.getContext("2d");
    this.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  x(t) { return this.labelW + ((t - this.view[0]) / (this.view[1] - this.view[0])) * (this.w - this.labelW); }
  t(x) { return this.view[0] + ((x - this.labelW) / (this.w - this.labelW)) * (this.view[1] - this.view[0]); }
  y(lane) { const r = this.rows.get(lane); return r === undefined ? null : this.axisH + r * this.laneH + this.laneH / 2; }

  setView(t0, t1) {
    const min = 1e3; // 1 µs at least
    if (!(t1 - t0 >= min)) t1 = t0 + min;
    this.view = [t0, t1];
    this.render();
    if (this.handlers.onView) this.handlers.onView(this.view);
  }

  zoom(factor, atX) {
    const tc = this.t(atX);
    this.setView(tc - (tc - this.view[0]) * factor, tc + (this.view[1] - tc) * factor);
  }

  messageVisible(m) {
    if (this.hiddenTypes.has(m.typeName)) return false;
    if (!this.rows.has(m.srcLane) || !this.rows.has(m.destLane)) return false;
    const end = m.at === null || m.at === undefined ? m.sent : m.at;
    return end >= this.view[0] && m.sent <= this.view[1];
  }

  render() {
    const c = this.ctx, run = this.run;
    c.clearRect(0, 0, this.w, this.h);
    c.font = "11px sans-serif";
    this.visible.forEach((lane, r) => {
      const y = this.axisH + r * this.laneH;
      c.fillStyle = r % 2 ? "#f6f6f6" : "#ffffff";
      c.fillRect(0, y, this.w, this.laneH);
      c.fillStyle = "#333";
      c.fillText(run.lanes[lane].id, 4, y + this.laneH - 5);
    });
    c.save();
    c.beginPath();
    c.rect(this.labelW, 0, this.w - this.labelW, this.h);
    c.clip();
    this.renderFaults();
    this.renderAxis();
    this.renderOps();
    this.renderMessages();
    this.renderMarks();
    c.restore();
    if (this.handlers.onRender) this.handlers.onRender(this.drawn);
  }

  renderFaults() {
    const c = this.ctx;
    c.fillStyle = "rgba(230,60,60,0.12)";
    for (const [a, b] of this.run.nemesis.windows) {
      const x0 = this.x(a), x1 = this.x(b);
      c.fillRect(x0, this.axisH, Math.max(1, x1 - x0), this.h - this.axisH);
    }
    c.strokeStyle = "#c0392b";
    c.lineWidth = 1;
    for (const op of this.run.nemesis.marks) {
      const x = this.x(op.time);
      c.beginPath(); c.moveTo(x, this.axisH); c.lineTo(x, this.h); c.stroke();
    }
  }

  renderAxis() {
    const c = this.ctx;
    const span = (this.view[1] - this.view[0]) / 1e9;
    const steps = [1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];
    const step = steps.find((s) => span / s <= 12) || 300;
    c.fillStyle = "#555";
    c.strokeStyle = "#ddd";
    const digits = Math.max(0, Math.min(6, Math.ceil(-Math.log10(step))));
    for (let s = Math.ceil(this.view[0] / 1e9 / step) * step; s <= this.view[1] / 1e9; s += step) {
      const x = this.x(s * 1e9);
      c.beginPath(); c.moveTo(x, this.axisH - 4); c.lineTo(x, this.h); c.stroke();
      c.fillText(s.toFixed(digits) + " s", x + 2, 12);
    }
  }

  renderOps() {
    const c = this.ctx;
    for (const s of this.run.spans) {
      const y = this.y(s.lane);
      if (y === null) continue;
      const t1 = s.t1 === null ? this.run.end : s.t1;
      if (t1 < this.view[0] || s.t0 > this.view[1]) continue;
      const x0 = this.x(s.t0), x1 = Math.max(this.x(t1), x0 + 2);
      c.fillStyle = OP_COLOURS[s.kind] || OP_COLOURS.pending;
      c.fillRect(x0, y - this.laneH / 2 + 3, x1 - x0, this.laneH - 6);
      if (x1 - x0 > 40) {
        c.fillStyle = "#fff";
        c.fillText(s.inv.f, x0 + 3, y + 4);
      }
    }
  }

  renderMessages() {
    const c = this.ctx;
    const groups = new Map();
    let drawn = 0;
    for (const m of this.run.messages) {
      if (!this.messageVisible(m)) continue;
      drawn++;
      const key = m.fate === "delivered" ? m.typeName : m.fate;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(m);
    }
    this.drawn = drawn;
    const heads = drawn < 4000;
    for (const [key, list] of groups) {
      const dropped = key === "dropped", lost = key === "undelivered";
      c.strokeStyle = dropped ? "#d62728" : lost ? "#999" : this.colour.get(key) || "#333";
      c.fillStyle = c.strokeStyle;
      c.lineWidth = 1;
      c.setLineDash(dropped ? [4, 3] : []);
      c.beginPath();
      for (const m of list) {
        const x0 = this.x(m.sent), y0 = this.y(m.srcLane);
        if (lost) { c.moveTo(x0 + 2.5, y0); c.arc(x0, y0, 2.5, 0, 2 * Math.PI); continue; }
        const x1 = this.x(m.at), y1 = this.y(m.destLane);
        c.moveTo(x0, y0); c.lineTo(x1, y1);
        if (dropped) { c.moveTo(x1 - 3, y1 - 3); c.lineTo(x1 + 3, y1 + 3); c.moveTo(x1 - 3, y1 + 3); c.lineTo(x1 + 3, y1 - 3); }
        else if (heads) this.head(x0, y0, x1, y1);
      }
      c.stroke();
    }
    c.setLineDash([]);
  }

  head(x0, y0, x1, y1) {
    const len = Math.hypot(x1 - x0, y1 - y0);
    if (len < 10) return;
    const a = Math.atan2(y1 - y0, x1 - x0), c = this.ctx;
    c.moveTo(x1, y1); c.lineTo(x1 - 6 * Math.cos(a - 0.4), y1 - 6 * Math.sin(a - 0.4));
    c.moveTo(x1, y1); c.lineTo(x1 - 6 * Math.cos(a + 0.4), y1 - 6 * Math.sin(a + 0.4));
  }

  renderMarks() {
    const c = this.ctx;
    if (this.logMarks && this.rows.has(this.logMarks.lane)) {
      const y = this.y(this.logMarks.lane);
      c.strokeStyle = "#000";
      c.beginPath();
      for (const t of this.logMarks.times) {
        if (t < this.view[0] || t > this.view[1]) continue;
        const x = this.x(t);
        c.moveTo(x, y - this.laneH / 2); c.lineTo(x, y - this.laneH / 2 + 4);
      }
      c.stroke();
    }
    const box = (s) => {
      const y = this.y(s.lane);
      if (y === null) return;
      const x0 = this.x(s.t0), x1 = Math.max(this.x(s.t1 === null ? this.run.end : s.t1), x0 + 2);
      c.strokeRect(x0 - 2, y - this.laneH / 2 + 1, x1 - x0 + 4, this.laneH - 2);
    };
    c.lineWidth = 2;
    if (this.highlight) { c.strokeStyle = "#e6007e"; box(this.highlight); }
    if (this.selected && this.selected.sent !== undefined && this.messageVisible(this.selected)) {
      const m = this.selected;
      c.strokeStyle = "#e6007e";
      c.beginPath();
      c.moveTo(this.x(m.sent), this.y(m.srcLane));
      c.lineTo(this.x(m.at === null ? m.sent : m.at), this.y(m.destLane));
      c.stroke();
    }
    if (this.cursor !== null) {
      c.strokeStyle = "#000"; c.lineWidth = 1; c.setLineDash([2, 2]);
      const x = this.x(this.cursor);
      c.beginPath(); c.moveTo(x, 0); c.lineTo(x, this.h); c.stroke();
      c.setLineDash([]);
    }
    c.lineWidth = 1;
  }

  // The bar under (x, y), else the nearest arrow within 5 px.
  pick(x, y) {
    const row = Math.floor((y - this.axisH) / this.laneH);
    const lane = this.visible[row];
    if (x < this.labelW) return lane === undefined ? null : { lane: this.run.lanes[lane] };
    for (const s of this.run.spans) {
      if (s.lane !== lane) continue;
      const x0 = this.x(s.t0), x1 = Math.max(this.x(s.t1 === null ? this.run.end : s.t1), x0 + 2);
      if (x >= x0 - 1 && x <= x1 + 1) return { span: s };
    }
    let best = null, bestD = 5;
    for (const m of this.run.messages) {
      if (!this.messageVisible(m)) continue;
      const x0 = this.x(m.sent), y0 = this.y(m.srcLane);
      const x1 = m.at === null ? x0 : this.x(m.at), y1 = m.at === null ? y0 : this.y(m.destLane);
      const d = segmentDistance(x, y, x0, y0, x1, y1);
      if (d < bestD) { bestD = d; best = m; }
    }
    return best ? { message: best } : null;
  }

  bind() {
    const cv = this.canvas;
    cv.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = cv.getBoundingClientRect();
      this.zoom(e.deltaY > 0 ? 1.25 : 0.8, e.clientX - r.left);
    }, { passive: false });
    let drag = null;
    cv.addEventListener("mousedown", (e) => { drag = { x: e.clientX, view: this.view.slice(), moved: false }; });
    window.addEventListener("mousemove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (!drag.moved) return;
      const dt = (dx / (this.w - this.labelW)) * (drag.view[1] - drag.view[0]);
      this.setView(drag.view[0] - dt, drag.view[1] - dt);
    });
    window.addEventListener("mouseup", (e) => {
      if (!drag) return;
      const moved = drag.moved;
      drag = null;
      if (moved) return;
      const r = cv.getBoundingClientRect();
      const hit = this.pick(e.clientX - r.left, e.clientY - r.top);
      if (hit && hit.message) this.selected = hit.message;
      if (hit && hit.span) this.highlight = hit.span;
      this.render();
      if (this.handlers.onPick) this.handlers.onPick(hit);
    });
    window.addEventListener("resize", () => { this.layout(); this.render(); });
  }
}

function segmentDistance(px, py, x0, y0, x1, y1) {
  const dx = x1 - x0, dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  let u = len2 === 0 ? 0 : ((px - x0) * dx + (py - y0) * dy) / len2;
  u = Math.max(0, Math.min(1, u));
  return Math.hypot(px - (x0 + u * dx), py - (y0 + u * dy));
}
