// cvid dashboard: charts drawn as SVG through the DOM (text is always set as text).
"use strict";

const CvidCharts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const DAY = 86400000;

  function s(tag, attrs, ...kids) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== null && v !== undefined) el.setAttribute(k, String(v));
    }
    for (const k of kids) el.append(k);
    return el;
  }

  const title = (text) => s("title", {}, text);
  const fmt = (v) => Number(v).toLocaleString("en-US", { maximumFractionDigits: 3 });
  const day = (ms) => new Date(ms).toISOString().slice(0, 10);

  function svgRoot(width, height, label, desc) {
    const id = `d${Math.random().toString(36).slice(2)}`;
    const root = s("svg", {
      viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${id}t ${id}d`,
      class: "chart", preserveAspectRatio: "xMinYMin meet",
    });
    root.append(s("title", { id: `${id}t` }, label), s("desc", { id: `${id}d` }, desc));
    return root;
  }

  function timeTicks(lo, hi) {
    const y0 = new Date(lo).getUTCFullYear();
    const y1 = new Date(hi).getUTCFullYear();
    const step = Math.max(1, Math.ceil((y1 - y0 + 1) / 8));
    const out = [];
    for (let y = y0; y <= y1 + 1; y += step) {
      const t = Date.UTC(y, 0, 1);
      if (t >= lo && t <= hi) out.push({ t, label: String(y) });
    }
    if (out.length < 2) {
      out.length = 0;
      for (let i = 0; i <= 4; i++) {
        const t = lo + ((hi - lo) * i) / 4;
        out.push({ t, label: day(t) });
      }
    }
    return out;
  }

  function valueTicks(lo, hi) {
    const span = hi - lo;
    const raw = span / 5;
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((m) => m >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
    return out;
  }

  const SHAPES = {
    declared: { label: "declared (by the party)", draw: (x, y, r) => s("circle", { cx: x, cy: y, r }) },
    observed: {
      label: "observed (satellite, open source, notices)",
      draw: (x, y, r) => s("polygon", {
        points: `${x},${y - r * 1.3} ${x + r * 1.2},${y + r} ${x - r * 1.2},${y + r}`,
      }),
    },
    verified: {
      label: "verified (inspection, measurement)",
      draw: (x, y, r) => s("rect", { x: x - r, y: y - r, width: 2 * r, height: 2 * r }),
    },
  };

  // Each party's reported quantity over time against the limit, on an axis around the limit.
  function limitChart(term, asOf, changes) {
    const W = 760;
    const H = 340;
    const box = { l: 78, r: 150, t: 20, b: 70 };
    const asOfMs = Date.parse(asOf);
    const points = term.series.flatMap((s_) => s_.points.map((p) => ({ ...p, party: s_.party })));
    const limits = term.limits.map((l) => ({ t: Date.parse(l.from), v: l.value }));
    const times = [...points.map((p) => Date.parse(p.at)), ...limits.map((l) => l.t).filter((t) => t <= asOfMs), asOfMs];
    let lo = Math.min(...times);
    let hi = Math.max(...times);
    if (hi - lo < 30 * DAY) lo = hi - 365 * DAY;
    const padT = (hi - lo) * 0.03;
    lo -= padT;
    hi += padT;
    const vals = [
      ...points.flatMap((p) => [p.value - (p.uncertainty || 0), p.value + (p.uncertainty || 0)]),
      ...limits.filter((l) => l.v !== null).map((l) => l.v),
    ];
    let vlo;
    let vhi;
    if (term.axis && Number.isFinite(term.axis.min) && Number.isFinite(term.axis.max) && term.axis.max > term.axis.min) {
      // The view model's axis: around the limit, never forced to zero (docs/view-model.md).
      vlo = term.axis.min;
      vhi = term.axis.max;
    } else {
      vlo = Math.min(...vals);
      vhi = Math.max(...vals);
      const ref = Math.abs(limits.find((l) => l.v !== null)?.v || vhi || 1);
      const pad = Math.max((vhi - vlo) * 0.12, ref * 0.02, 1);
      vlo -= pad;
      vhi += pad;
    }
    const x = (t) => box.l + ((t - lo) / (hi - lo)) * (W - box.l - box.r);
    const y = (v) => H - box.b - ((v - vlo) / (vhi - vlo)) * (H - box.t - box.b);
    const breaches = points.filter((p) => breach(term, limits, p));
    const desc = `${term.title}: ${points.length} reported values in ${term.unit}; ` +
      `the value axis runs from ${fmt(vlo)} to ${fmt(vhi)} (not from zero) around the limit; ` +
      `${breaches.length} beyond the limit.`;
    const svg = svgRoot(W, H, `${term.title} against its limit`, desc);
    svg.setAttribute("data-axis-min", String(vlo));
    svg.setAttribute("data-axis-max", String(vhi));
    const plot = s("g", {});
    svg.append(plot);
    // Axes.
    for (const v of valueTicks(vlo, vhi)) {
      plot.append(s("line", { x1: box.l, x2: W - box.r, y1: y(v), y2: y(v), class: "grid" }),
        s("text", { x: box.l - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, fmt(v)));
    }
    for (const tk of timeTicks(lo, hi)) {
      plot.append(s("line", { x1: x(tk.t), x2: x(tk.t), y1: box.t, y2: H - box.b, class: "grid" }),
        s("text", { x: x(tk.t), y: H - box.b + 16, class: "tick", "text-anchor": "middle" }, tk.label));
    }
    plot.append(s("text", { x: 12, y: box.t + 6, class: "axis-note" },
      `${term.unit} (axis not from zero)`));
    // The limit as a step line; the zone beyond it shaded and labelled.
    const segs = [];
    limits.forEach((l, i) => {
      const end = i + 1 < limits.length ? limits[i + 1].t : hi;
      const a = Math.max(l.t, lo);
      const b = Math.min(end, hi);
      if (l.v !== null && a < b) segs.push({ a, b, v: l.v });
    });
    for (const g of segs) {
      const beyond = term.bound === "min"
        ? s("rect", { x: x(g.a), width: x(g.b) - x(g.a), y: y(g.v), height: H - box.b - y(g.v), class: "beyond" })
        : s("rect", { x: x(g.a), width: x(g.b) - x(g.a), y: box.t, height: y(g.v) - box.t, class: "beyond" });
      beyond.append(title(`beyond the limit of ${fmt(g.v)} ${term.unit}`));
      plot.append(beyond, s("line", { x1: x(g.a), x2: x(g.b), y1: y(g.v), y2: y(g.v), class: "limit" }));
    }
    if (segs.length) {
      const last = segs[segs.length - 1];
      plot.append(s("text", { x: W - box.r + 6, y: y(last.v) + 4, class: "limit-label" },
        `limit ${fmt(last.v)}`));
      const first = segs[0].a;
      if (first > lo) {
        const pre = s("rect", { x: box.l, width: x(first) - box.l, y: box.t, height: H - box.t - box.b, class: "not-in-force" });
        pre.append(title(`no limit before ${day(first)}`));
        plot.append(pre,
          s("line", { x1: box.l, x2: x(first), y1: y(segs[0].v), y2: y(segs[0].v), class: "limit-before" }),
          s("text", { x: box.l + 4, y: y(segs[0].v) - 5, class: "tick" },
            `the limit of ${fmt(segs[0].v)} binds from ${day(first)}`));
      }
    }
    // Status changes of the term as event markers along the bottom.
    for (const c of changes) {
      const t = Date.parse(c.at);
      if (t < lo || t > hi || c.from === null) continue;
      const m = s("path", { d: `M${x(t)},${H - box.b + 22} l5,8 l-10,0 z`, class: `event status-${c.to}` });
      m.append(title(`${c.at.slice(0, 10)} ${c.party}: ${c.from} → ${c.to}. ${c.explanation}`));
      plot.append(m);
    }
    plot.append(s("text", { x: box.l, y: H - 8, class: "tick" },
      "▲ below the axis: a change of status (hover or see the table)"));
    // As of.
    plot.append(s("line", { x1: x(asOfMs), x2: x(asOfMs), y1: box.t, y2: H - box.b, class: "asof" }),
      s("text", { x: x(asOfMs) + 3, y: box.t + 10, class: "tick" }, `as of ${asOf.slice(0, 10)}`));
    // Each party: a line between reported values, broken where data is missing.
    term.series.forEach((ser, si) => {
      const pts = ser.points.filter((p) => !p.superseded)
        .map((p) => ({ ...p, t: Date.parse(p.at) })).sort((a, b) => a.t - b.t);
      // The gaps the view model names (where no figure holds); without them, a long silence.
      const named = Array.isArray(ser.gaps)
        ? ser.gaps.map((g) => ({ a: Date.parse(g.start), b: Date.parse(g.end) })) : null;
      const limit = named ? null : gapLimit(pts.map((p) => p.t));
      const broken = (a, b) => (named ? named.some((g) => g.a < b && g.b > a) : b - a > limit);
      for (const g of named || []) {
        const a = Math.max(g.a, lo);
        const b = Math.min(g.b, hi);
        if (b <= a) continue;
        const bar = s("rect", { x: x(a), width: Math.max(x(b) - x(a), 1), y: H - box.b - 10 - 8 * si, height: 6, class: `gap party-${si % 4}` });
        bar.append(title(`${ser.party}: no data from ${day(g.a)} to ${day(g.b)}`));
        plot.append(bar);
      }
      let d = "";
      pts.forEach((p, i) => {
        const gap = i > 0 && broken(pts[i - 1].t, p.t);
        if (gap && !named) {
          const g = s("rect", { x: x(pts[i - 1].t), width: x(p.t) - x(pts[i - 1].t), y: H - box.b - 10 - 8 * si, height: 6, class: `gap party-${si % 4}` });
          g.append(title(`${ser.party}: no data from ${day(pts[i - 1].t)} to ${day(p.t)}`));
          plot.append(g);
        }
        d += `${i === 0 || gap ? "M" : "L"}${x(p.t).toFixed(1)},${y(p.value).toFixed(1)}`;
      });
      if (d) plot.append(s("path", { d, class: `series party-${si % 4}` }));
      for (const p of ser.points) {
        const t = Date.parse(p.at);
        const px = x(t);
        const py = y(p.value);
        const g = s("g", { class: `point party-${si % 4} ${p.class}${p.superseded ? " superseded" : ""}`, "data-role": p.class, "data-index": p.index, "data-party": ser.party });
        if (p.uncertainty) {
          g.append(s("line", { x1: px, x2: px, y1: y(p.value - p.uncertainty), y2: y(p.value + p.uncertainty), class: "error-bar" }));
        }
        g.append((SHAPES[p.class] || SHAPES.observed).draw(px, py, 4.5));
        const isBreach = breach(term, limits, p);
        if (isBreach) {
          g.setAttribute("data-breach", "true");
          g.append(s("circle", { cx: px, cy: py, r: 9, class: "breach-ring" }),
            s("text", { x: px + 10, y: py - 8, class: "breach-label" }, "✖ breach"));
        }
        g.append(title(`${ser.party} ${p.at.slice(0, 10)}: ${fmt(p.value)} ${term.unit}` +
          (p.uncertainty ? ` ± ${fmt(p.uncertainty)}` : "") +
          ` (${p.class}, ${p.kind} by ${p.submitter}, log ${p.index})` +
          (p.superseded ? ", superseded" : "") + (isBreach ? ", beyond the limit" : "")));
        plot.append(g);
      }
      const lastPt = pts[pts.length - 1];
      if (lastPt) {
        plot.append(s("text", { x: Math.min(x(lastPt.t) + 8, W - box.r + 6), y: y(lastPt.value) + 16, class: `series-label party-${si % 4}` }, ser.party));
      }
    });
    // Legend: shape by kind of evidence, line by party.
    const lg = s("g", { class: "legend" });
    let ly = box.t + 24;
    for (const [k, v] of Object.entries(SHAPES)) {
      const g = s("g", { class: `point ${k}` });
      g.append(v.draw(W - box.r + 14, ly - 4, 4.5));
      lg.append(g, s("text", { x: W - box.r + 24, y: ly, class: "tick" }, k));
      ly += 18;
    }
    const hollow = s("g", { class: "point declared superseded" });
    hollow.append(SHAPES.declared.draw(W - box.r + 14, ly - 4, 4.5));
    lg.append(hollow, s("text", { x: W - box.r + 24, y: ly, class: "tick" }, "superseded"));
    ly += 18;
    term.series.forEach((ser, si) => {
      lg.append(s("line", { x1: W - box.r + 6, x2: W - box.r + 20, y1: ly - 4, y2: ly - 4, class: `series party-${si % 4}` }),
        s("text", { x: W - box.r + 24, y: ly, class: "tick" }, ser.party));
      ly += 18;
    });
    svg.append(lg);
    return { svg, breaches };
  }

  function limitAt(limits, t) {
    let v = null;
    for (const l of limits) if (l.t <= t) v = l.v;
    return v;
  }

  function breach(term, limits, p) {
    const v = limitAt(limits, Date.parse(p.at));
    if (v === null || p.superseded) return false;
    return term.bound === "min" ? p.value < v : p.value > v;
  }

  // A gap: more than twice the median interval between reports (and over 60 days).
  function gapLimit(ts) {
    if (ts.length < 3) return Infinity;
    const d = ts.slice(1).map((t, i) => t - ts[i]).sort((a, b) => a - b);
    return Math.max(2 * d[Math.floor(d.length / 2)], 60 * DAY);
  }

  // Labelled bands of status over time, one row per party (or step).
  function statusStrip(label, rows, lo, hi, asOf, glyph) {
    const W = 760;
    const rowH = 26;
    const box = { l: 120, r: 10, t: 6, b: 24 };
    const H = box.t + box.b + rowH * rows.length;
    const x = (t) => box.l + ((t - lo) / (hi - lo)) * (W - box.l - box.r);
    const svg = svgRoot(W, H, label, `${label}: status over time, ${rows.length} rows; each band labelled.`);
    rows.forEach((row, ri) => {
      const y0 = box.t + ri * rowH;
      svg.append(s("text", { x: box.l - 6, y: y0 + 17, class: "tick", "text-anchor": "end" }, row.name));
      row.bands.forEach((b) => {
        const a = Math.max(b.start, lo);
        const e = Math.min(b.end, hi);
        if (e <= a) return;
        const r = s("rect", { x: x(a), y: y0 + 2, width: Math.max(x(e) - x(a), 1), height: rowH - 4, class: `band status-${b.status}` });
        r.append(title(`${row.name}: ${b.status.replace(/_/g, " ")} from ${day(b.start)}. ${b.explanation || ""}`));
        svg.append(r);
        if (x(e) - x(a) > 34) {
          svg.append(s("text", { x: x(a) + 4, y: y0 + 17, class: "band-label" },
            glyph(b.status, x(e) - x(a) > 110)));
        }
      });
    });
    for (const tk of timeTicks(lo, hi)) {
      svg.append(s("text", { x: x(tk.t), y: H - 6, class: "tick", "text-anchor": "middle" }, tk.label));
    }
    const t = Date.parse(asOf);
    if (t >= lo && t <= hi) svg.append(s("line", { x1: x(t), x2: x(t), y1: box.t, y2: H - box.b, class: "asof" }));
    return svg;
  }

  return { limitChart, statusStrip, SHAPES };
})();
