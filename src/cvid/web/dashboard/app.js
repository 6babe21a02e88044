// cvid dashboard: overview, term and evidence pages over the ledger's JSON API.
// Every text from the ledger is set with textContent (never parsed as HTML).
"use strict";

(() => {
  const $ = (sel) => document.querySelector(sel);

  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const k of kids.flat(Infinity)) {
      if (k === null || k === undefined || k === false) continue;
      el.append(k instanceof Node ? k : String(k));
    }
    return el;
  }

  // Status words and icons: a status is never told by colour alone.
  const STATUS = {
    not_in_force: ["–", "not in force"],
    pending: ["…", "pending"],
    met_claimed: ["✓", "met (claimed)"],
    met_verified: ["✔", "met (verified)"],
    overdue: ["⌛", "overdue"],
    violated: ["✖", "violated"],
    reversed: ["↺", "reversed"],
    disputed: ["⚖", "disputed"],
    unknown: ["?", "unknown"],
    locked: ["⊘", "locked"],
    unlocked: ["➜", "owed now"],
    delivered: ["✔", "delivered"],
    partly_delivered: ["◐", "partly delivered"],
    suspended: ["⏸", "suspended"],
    withdrawn: ["⏏", "withdrawn"],
  };
  const FINDINGS = ["violated", "overdue", "disputed", "reversed", "unknown"];
  // A status this page does not know yet (a newer ledger's) is shown by its own words under a
  // neutral mark and style, never left blank.
  const entry = (st) => STATUS[st] || ["•", String(st).replace(/_/g, " ")];
  const word = (st) => entry(st)[1];
  const glyph = (st, long) => {
    const [i, w] = entry(st);
    return long ? `${i} ${w}` : i;
  };
  const badge = (st) => h("span", { class: `status status-${STATUS[st] ? st : "other"}`, "data-status": st },
    h("span", { "aria-hidden": "true" }, entry(st)[0] + " "), word(st));
  const fmt = (v) => (typeof v === "number"
    ? v.toLocaleString("en-US", { maximumFractionDigits: 3 }) : v);
  const day = (iso) => (iso ? String(iso).slice(0, 10) : "");
  const live = (text) => { $("#live").textContent = text; };

  async function getJSON(url) {
    const r = await fetch(url, { cache: "no-store" });
    const body = await r.text();
    let doc;
    try {
      doc = JSON.parse(body);
    } catch {
      throw new Error(`${url}: the server answered ${r.status} with something other than JSON`);
    }
    if (!r.ok) throw new Error(doc.detail || `${url}: the server answered ${r.status}`);
    return doc;
  }

  const state = { ledger: null, records: null, policy: undefined, view: null };

  function params() {
    const [, q] = location.hash.split("?");
    return new URLSearchParams(q || "");
  }

  function asOfParam() {
    const p = params().get("as_of");
    return /^\d{4}-\d{2}-\d{2}$/.test(p || "") ? p : new Date().toISOString().slice(0, 10);
  }

  function link(route, text, extra) {
    const q = new URLSearchParams(extra || {});
    if (!q.has("as_of")) q.set("as_of", asOfParam());
    return h("a", { href: `#${route}?${q}` }, text);
  }

  // The page's heading takes the focus after each navigation (for keyboard and readers).
  function page(title, ...kids) {
    const main = $("#main");
    main.replaceChildren(h("h1", { tabindex: "-1", id: "page-title" }, title), ...kids);
    document.title = `${title} · cvid`;
    for (const a of document.querySelectorAll("#nav a")) {
      const on = location.hash.startsWith(a.getAttribute("href").split("?")[0]);
      if (on) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    $("#page-title").focus();
  }

  function table(caption, head, rows, cls) {
    return h("div", { class: "table-wrap", role: "region", "aria-label": caption, tabindex: "0" },
      h("table", { class: cls || "" }, h("caption", {}, caption),
        h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows)));
  }

  function dateForm(values, onsubmit) {
    const f = h("form", { class: "controls", "aria-label": "Dates" });
    for (const [name, label, value] of values) {
      const id = `in-${name}`;
      f.append(h("label", { for: id }, label),
        h("input", { type: "date", id, name, value, required: name === "as_of" }));
    }
    f.append(h("button", { type: "submit" }, "Show"));
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      onsubmit(new FormData(f));
    });
    return f;
  }

  // Every status on the overview and term pages comes from the view model (GET /v1/view,
  // docs/view-model.md): the page computes none of its own.
  async function viewModel(asOf) {
    if (state.view && state.view.key === asOf) return state.view.model;
    const model = await getJSON(`/v1/view?at=${asOf}&views=now,then`);
    state.view = { key: asOf, model };
    return model;
  }

  // A track's status at instant t: the band holding then (bands end where the next begins).
  function statusAt(track, t) {
    if (!track) return null;
    for (const b of track.bands) if (Date.parse(b.start) <= t && t < Date.parse(b.end)) return b.status;
    const last = track.bands[track.bands.length - 1];
    return last && Date.parse(last.end) <= t && Date.parse(last.start) <= t ? last.status : null;
  }

  function margin(f) {
    if (typeof f.margin !== "number") return "";
    const pct = typeof f.margin_percent === "number" ? ` (${f.margin_percent.toFixed(1)} %)` : "";
    return `${f.margin > 0 ? "+" : ""}${fmt(f.margin)}${pct}`;
  }

  async function overview() {
    const p = params();
    const asOf = asOfParam();
    const sinceDate = /^\d{4}-\d{2}-\d{2}$/.test(p.get("since") || "") ? p.get("since") : null;
    const model = await viewModel(asOf);
    const now = model.status.now;
    const then = model.status.then || null;
    const tlNow = model.timelines.now;
    const tlThen = model.timelines.then || null;
    const findings = model.findings.filter((f) => f.view === "now");
    const form = dateForm([["as_of", "As of", asOf], ["since", "Changes since", sinceDate || ""]],
      (fd) => {
        const q = new URLSearchParams({ as_of: fd.get("as_of") });
        if (fd.get("since")) q.set("since", fd.get("since"));
        location.hash = `#overview?${q}`;
      });
    const summary = h("p", { class: "summary" }, `As of ${asOf}, as known now: `,
      Object.entries(now.summary).map(([st, n], i) => [i ? ", " : "", badge(st), ` ${n}`]),
      ` · log size ${model.checkpoint ? model.checkpoint.size : 0}`);
    const fRows = findings.map((f) => h("tr", { "data-term": f.term, "data-party": f.party },
      h("th", { scope: "row" }, link(`term/${f.term}`, f.term)), h("td", {}, f.party),
      h("td", {}, badge(f.status)),
      h("td", {}, f.other ? badge(f.other) : ""),
      h("td", { class: "num" }, f.value !== null ? fmt(f.value) : ""),
      h("td", { class: "num" }, f.limit !== null ? fmt(f.limit) : ""),
      h("td", { class: "num" }, margin(f)),
      h("td", {}, day(f.since)),
      h("td", {}, f.explanation)));
    const findingsBlock = h("section", { "aria-labelledby": "h-findings", id: "findings" },
      h("h2", { id: "h-findings" }, `Findings (${findings.length})`),
      findings.length
        ? table(`Terms violated, overdue, disputed, reversed or unknown as of ${asOf}`,
          ["Term", "Party", "Now", "Then", "Value", "Limit", "Margin", "Since", "Why"], fRows, "findings")
        : h("p", { class: "none" }, h("span", { "aria-hidden": "true" }, "✓ "),
          `No findings as of ${asOf}: no term is violated, overdue, disputed, reversed or unknown.`));
    let changed = null;
    if (sinceDate) {
      const from = Date.parse(sinceDate);
      const rows = tlNow.changes.filter((c) => c.from !== null && Date.parse(c.at) > from).map((c) => h("tr", {},
        h("td", {}, day(c.at)), h("th", { scope: "row" }, c.type === "term" ? link(`term/${c.id}`, c.id) : c.id),
        h("td", {}, c.party || "step"), h("td", {}, badge(c.from)), h("td", {}, badge(c.to)),
        h("td", {}, c.explanation)));
      changed = h("section", { "aria-labelledby": "h-changed", id: "changed" },
        h("h2", { id: "h-changed" }, `What changed from ${sinceDate} to ${asOf} (${rows.length})`),
        rows.length ? table(`Changes of status from ${sinceDate} to ${asOf}`,
          ["Date", "Term or step", "Party", "From", "To", "Why"], rows, "changes")
          : h("p", {}, `Nothing changed from ${sinceDate} to ${asOf}.`));
    }
    const matrices = h("section", { "aria-labelledby": "h-matrix", id: "matrix" },
      h("h2", { id: "h-matrix" }, "Terms over time"),
      matrix("As known now", now, tlNow, asOf),
      tlThen && then ? matrix("As known then", then, tlThen, asOf)
        : h("p", {}, "The ledger cannot say what was known then."));
    page(model.title || model.agreement || "Overview",
      form, summary, findingsBlock, changed, steps(model), matrices);
    live(`Overview as of ${asOf}: ${findings.length} findings.`);
  }

  function matrix(label, judged, tl, asOf) {
    const end = Date.parse(asOf);
    // From the day after the timeline starts (each status is set by then) to the as-of date.
    const first = Math.min(end, Date.parse(tl.start.slice(0, 10)) + 86400000);
    const n = 6;
    const times = [];
    for (let i = 0; i < n; i++) times.push(first + ((end - first) * i) / (n - 1));
    const cols = [...new Set(times.map((t) => new Date(t).toISOString().slice(0, 10)))];
    const rows = judged.terms.map((r) => {
      const track = tl.tracks.find((k) => k.type === "term" && k.id === r.term && k.party === r.party);
      return h("tr", {},
        h("th", { scope: "row" }, link(`term/${r.term}`, `${r.term} · ${r.party}`)),
        cols.map((c, i) => {
          // The last column is the as-of date itself: the view model's status then.
          const st = i === cols.length - 1 && c === asOf ? r.status : statusAt(track, Date.parse(c));
          return h("td", { class: `cell status-${st || "none"}`, "data-status": st || "" },
            st ? [h("span", { "aria-hidden": "true" }, `${glyph(st)} `), word(st)] : "—");
        }));
    });
    return table(`${label}: each term's status at ${cols.join(", ")}`, ["Term · party", ...cols], rows,
      `matrix ${label === "As known now" ? "now" : "then"}`);
  }

  const STEP_GROUPS = [
    ["unlocked", "Owed now"],
    ["locked", "Locked: what would unlock them"],
    ["partly_delivered", "Partly delivered"],
    ["delivered", "Delivered"],
    ["reversed", "Delivered, then undone"],
    ["suspended", "Suspended by the owing party's notice"],
    ["withdrawn", "Withdrawn by the owing party's notice"],
  ];

  function steps(model) {
    const now = model.status.now;
    if (!now.steps.length) return null;
    const then = model.status.then;
    const thenOf = new Map((then ? then.steps : []).map((s) => [s.step, s.state]));
    const needs = new Map(model.steps.map((s) => [s.step, s.missing]));
    const group = (st, title) => {
      const rows = now.steps.filter((s) => s.state === st).map((s) => h("tr", { "data-step": s.step },
        h("th", { scope: "row" }, s.step), h("td", {}, s.by), h("td", {}, badge(s.state)),
        h("td", {}, thenOf.has(s.step) ? badge(thenOf.get(s.step)) : ""),
        h("td", {}, (needs.get(s.step) || []).map((m) => `${m.term} (${m.party}) met and verified; now ${word(m.status)}`).join("; ")),
        h("td", {}, s.clause), h("td", {}, s.explanation)));
      return rows.length ? table(title, ["Step", "Owed by", "Now", "Then", "Still needs", "Clause", "Why"], rows, `steps ${st}`) : null;
    };
    // A state this page does not know yet still gets its group, under its own word.
    const known = new Set(STEP_GROUPS.map(([st]) => st));
    const others = [...new Set(now.steps.map((s) => s.state).filter((st) => !known.has(st)))];
    return h("section", { "aria-labelledby": "h-steps", id: "steps" },
      h("h2", { id: "h-steps" }, "Reciprocal steps"),
      STEP_GROUPS.map(([st, title]) => group(st, title)),
      others.map((st) => group(st, word(st))));
  }

  // The view model's series of one term (one per party), as the limit chart draws them, in
  // the view the page shows: the points known then, superseded as that view says.
  function chartTerm(model, id, view) {
    const mine = model.series.filter((s_) => s_.term === id);
    if (!mine.length) return null;
    const first = mine[0];
    return {
      term: id, title: first.title, unit: first.unit, bound: first.bound,
      limits: first.limits.map((l) => ({ from: l.start, value: l.value })),
      axis: mine.reduce((a, s_) => ({ min: Math.min(a.min, s_.axis.min), max: Math.max(a.max, s_.axis.max) }),
        { min: Infinity, max: -Infinity }),
      series: mine.map((s_) => ({
        party: s_.party,
        gaps: s_.gaps,
        points: s_.points.filter((p) => p.known[view]).map((p) => ({
          ...p, class: p.role, superseded: Boolean(p.superseded[view]),
        })),
      })),
    };
  }

  async function termPage(id) {
    const asOf = asOfParam();
    const model = await viewModel(asOf);
    const now = model.status.now;
    const then = model.status.then || null;
    const tlNow = model.timelines.now;
    const tlThen = model.timelines.then || null;
    const rows = now.terms.filter((r) => r.term === id);
    if (!rows.length) {
      page("No such term", h("p", {}, `The agreement has no term ${id}.`), link("overview", "Back to the overview"));
      return;
    }
    const thenOf = new Map((then ? then.terms : []).map((r) => [`${r.term}/${r.party}`, r.status]));
    const form = dateForm([["as_of", "As of", asOf]], (fd) => {
      location.hash = `#term/${encodeURIComponent(id)}?as_of=${fd.get("as_of")}`;
    });
    const mine = tlNow.changes.filter((c) => c.type === "term" && c.id === id);
    const statusRows = rows.map((r) => h("tr", { "data-party": r.party },
      h("th", { scope: "row" }, r.party), h("td", {}, badge(r.status)),
      h("td", {}, thenOf.has(`${r.term}/${r.party}`) ? badge(thenOf.get(`${r.term}/${r.party}`)) : ""),
      h("td", {}, r.clause),
      h("td", {}, r.evidence.map((i, k) => [k ? ", " : "", h("a", { href: `#record/${i}?as_of=${asOf}` }, `log ${i}`)])),
      h("td", {}, r.explanation)));
    const kids = [form,
      table(`Status of ${id} as of ${asOf}`, ["Party", "Now", "Then", "Clause", "Evidence", "Why"], statusRows, "term-status")];
    const chart = chartTerm(model, id, "now");
    if (chart) {
      const { svg, breaches } = CvidCharts.limitChart(chart, model.as_of, mine);
      const pts = chart.series.flatMap((s_) => s_.points.map((p) => h("tr", {},
        h("td", {}, s_.party), h("td", {}, day(p.at)), h("td", { class: "num" }, fmt(p.value)),
        h("td", {}, p.uncertainty ? `± ${fmt(p.uncertainty)}` : ""), h("td", {}, p.class),
        h("td", {}, `${p.kind} by ${p.submitter}`),
        h("td", {}, h("a", { href: `#record/${p.index}?as_of=${asOf}` }, `log ${p.index}`)),
        h("td", {}, [p.superseded ? "superseded" : "", breaches.includes(p) ? "✖ beyond the limit" : "",
          p.disputed_by.length ? `disputed by log ${p.disputed_by.join(", ")}` : ""].filter(Boolean).join("; ")))));
      const gaps = chart.series.flatMap((s_) => s_.gaps.map((g) => `${s_.party}: ${day(g.start)} to ${day(g.end)}`));
      kids.push(h("section", { "aria-labelledby": "h-chart" },
        h("h2", { id: "h-chart" }, `${chart.title} against the limit (${chart.unit})`),
        h("figure", {}, svg, h("figcaption", {}, `Shapes tell declared, observed and verified values apart; ` +
          `${breaches.length} value(s) beyond the limit are ringed and labelled; ` +
          `a missing stretch of reports is a break in the line with a bar beneath it` +
          (gaps.length ? ` (no data: ${gaps.join("; ")}).` : "."))),
        table(`The values plotted (${chart.unit})`, ["Party", "Date", "Value", "Uncertainty", "Evidence is", "Record", "Log", "Notes"], pts, "points")));
    }
    const lo = Date.parse(tlNow.start);
    const hi = Date.parse(asOf) + Math.max((Date.parse(asOf) - lo) / 30, 7 * 86400000);
    const bands = (tl) => rows.map((r) => {
      const track = tl.tracks.find((k) => k.type === "term" && k.id === id && k.party === r.party);
      return {
        name: r.party,
        bands: (track ? track.bands : []).map((b) => ({
          start: Date.parse(b.start), end: Date.parse(b.end), status: b.status, explanation: b.explanation,
        })),
      };
    });
    kids.push(h("section", { "aria-labelledby": "h-timeline" },
      h("h2", { id: "h-timeline" }, "Timeline"),
      h("h3", {}, "As known now"), CvidCharts.statusStrip(`${id}, as known now`, bands(tlNow), lo, hi, asOf, glyph),
      tlThen ? [h("h3", {}, "As known then"), CvidCharts.statusStrip(`${id}, as known then`, bands(tlThen), lo, hi, asOf, glyph)] : null,
      table(`Changes of ${id} up to ${asOf}, as known now`, ["Date", "Party", "From", "To", "Evidence", "Why"],
        mine.map((c) => h("tr", { "data-party": c.party }, h("td", {}, day(c.at)), h("td", {}, c.party),
          h("td", {}, c.from ? badge(c.from) : "(start)"), h("td", {}, badge(c.to)),
          h("td", {}, c.evidence.map((i, k) => [k ? ", " : "", h("a", { href: `#record/${i}?as_of=${asOf}` }, `log ${i}`)])),
          h("td", {}, c.explanation))), "timeline")));
    page(`Term ${id}`, ...kids);
    live(`Term ${id} as of ${asOf}: ${rows.map((r) => `${r.party} ${word(r.status)}`).join(", ")}.`);
  }

  async function allRecords() {
    if (state.records) return state.records;
    const out = [];
    let after = null;
    for (;;) {
      const doc = await getJSON(`/v1/records?limit=1000${after !== null ? `&after=${after}` : ""}`);
      out.push(...doc.records);
      if (doc.next === null || doc.next === undefined) break;
      after = doc.next;
    }
    state.records = out;
    return out;
  }

  const FILTERS = [["kind", "Kind"], ["party", "Party"], ["submitter", "Submitter"], ["subject", "Subject"], ["speaker", "Speaker"]];

  function matches(r, f) {
    if (f.kind && r.kind !== f.kind) return false;
    if (f.party && r.party !== f.party && r.submitter !== f.party) return false;
    if (f.submitter && r.submitter !== f.submitter) return false;
    if (f.subject && r.subject !== f.subject) return false;
    if (f.speaker && r.speaker !== f.speaker) return false;
    if (f.text) {
      const hay = JSON.stringify([r.quote, r.speaker, r.subject, r.kind, r.values, r.attachments]).toLowerCase();
      if (!hay.includes(f.text.toLowerCase())) return false;
    }
    return true;
  }

  async function evidencePage() {
    const records = await allRecords();
    const p = params();
    const f = Object.fromEntries([...FILTERS.map(([k]) => [k, p.get(k) || ""]), ["text", p.get("text") || ""]]);
    const form = h("form", { class: "controls filters", role: "search", "aria-label": "Filter the evidence" });
    for (const [k, label] of FILTERS) {
      const vals = [...new Set(records.flatMap((r) => (k === "party" ? [r.party, r.submitter] : [r[k]])).filter((v) => v))].sort();
      form.append(h("label", { for: `f-${k}` }, label),
        h("select", { id: `f-${k}`, name: k }, h("option", { value: "" }, "any"),
          vals.map((v) => h("option", { value: v, selected: v === f[k] }, v))));
    }
    form.append(h("label", { for: "f-text" }, "Text"), h("input", { id: "f-text", name: "text", type: "search", value: f.text }),
      h("button", { type: "submit" }, "Filter"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
      q.set("as_of", asOfParam());
      location.hash = `#evidence?${q}`;
    });
    const shown = records.filter((r) => matches(r, f));
    const list = h("ol", { class: "records", "aria-label": "Records" }, shown.map((r) => h("li", { "data-index": r.index },
      h("h2", {}, h("a", { href: `#record/${r.index}?as_of=${asOfParam()}` }, `Log ${r.index}: ${r.kind} · ${r.subject}`)),
      h("p", { class: "meta" }, `party ${r.party}, submitted by ${r.submitter}, observed ${day(r.observed_at)}`,
        r.status !== "current" ? ` · ${r.status}` : ""),
      r.quote ? h("blockquote", {}, r.quote) : null,
      r.speaker ? h("p", { class: "speaker" }, `— ${r.speaker}`) : null)));
    page("Evidence", form, h("p", { class: "count" }, `${shown.length} of ${records.length} records`), list);
    live(`${shown.length} of ${records.length} records match.`);
  }

  function safeUrl(u) {
    try {
      const url = new URL(u);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function canonicalEqual(a, b) {
    const norm = (v) => (Array.isArray(v) ? v.map(norm)
      : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, norm(v[k])])) : v);
    return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
  }

  async function trust() {
    if (state.policy === undefined) {
      const r = await fetch("/dashboard/policy", { cache: "no-store" });
      state.policy = r.ok ? await r.text() : "";
    }
    const stored = JSON.parse(localStorage.getItem(`cvid.trust.${state.ledger.origin}`) || "null");
    return stored || { logKey: state.ledger.log_vkey, policy: state.policy, clockKey: state.ledger.clock_vkey || "" };
  }

  async function recordPage(index) {
    const doc = await getJSON(`/v1/records/${index}`);
    const r = doc.record;
    const src = r.source || {};
    const url = src.url ? safeUrl(src.url) : null;
    const dl = (pairs) => h("dl", {}, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
    const values = Object.entries(r.values || {}).map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k),
      h("td", {}, v && typeof v === "object" ? `${fmt(v.value)} ${v.unit}${v.uncertainty ? ` ± ${fmt(v.uncertainty)}` : ""}` : String(v))));
    const t = await trust();
    const results = h("ol", { id: "verify-steps", class: "verify-steps" });
    const verdict = h("p", { id: "verify-result", class: "verify-result", role: "status" }, "Checking…");
    const logKey = h("input", { id: "t-log", value: t.logKey, size: 60, spellcheck: "false" });
    const clockKey = h("input", { id: "t-clock", value: t.clockKey || "", size: 60, spellcheck: "false" });
    const policy = h("textarea", { id: "t-policy", rows: 6, cols: 70, spellcheck: "false" }, t.policy || "");
    const run = async () => {
      verdict.textContent = "Checking…";
      verdict.className = "verify-result";
      results.replaceChildren();
      const out = await CvidVerify.check({ base: "/v1/log", index, logKey: logKey.value, policyText: policy.value.trim() ? policy.value : "", clockKey: clockKey.value.trim() });
      if (out.entry) {
        let same = false;
        try {
          same = canonicalEqual(JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(out.entry)), r);
        } catch { same = false; }
        out.steps.push({ name: "record shown", ok: same, detail: same ? "the record on this page has the content of the logged entry" : "the record on this page is not the logged entry" });
        out.ok = out.ok && same;
      }
      for (const s of out.steps) {
        results.append(h("li", { class: s.ok ? "ok" : "fail", "data-step": s.name },
          h("span", { "aria-hidden": "true" }, s.ok ? "✔ " : "✖ "), h("strong", {}, `${s.name}: ${s.ok ? "holds" : "FAILS"}`), ` — ${s.detail}`));
      }
      verdict.className = `verify-result ${out.ok ? "ok" : "fail"}`;
      verdict.textContent = out.ok
        ? `✔ Verified in this browser: record ${index} is in the log at size ${out.checkpoint.size}, signed by the log key${policy.value.trim() ? " and cosigned under the witness policy" : ""}.`
        : `✖ Not verified: ${(out.steps.find((s) => !s.ok) || { detail: "no check ran" }).detail}`;
      verdict.dataset.ok = out.ok ? "true" : "false";
      live(verdict.textContent);
    };
    const trustForm = h("form", { class: "trust", "aria-label": "Keys to trust" },
      h("p", {}, "These keys came from the server being checked. Paste keys you got elsewhere " +
        "(the regime's publication, a witness) to check the server against them; they are kept in this browser."),
      h("label", { for: "t-log" }, "Log key (signed-note verifier key)"), logKey,
      h("label", { for: "t-clock" }, "Clock key (cosigner key, optional)"), clockKey,
      h("label", { for: "t-policy" }, "Witness policy (tlog-policy, optional)"), policy,
      h("button", { type: "submit" }, "Check again"));
    trustForm.addEventListener("submit", (e) => {
      e.preventDefault();
      localStorage.setItem(`cvid.trust.${state.ledger.origin}`, JSON.stringify({ logKey: logKey.value, policy: policy.value, clockKey: clockKey.value }));
      run();
    });
    page(`Record ${index}`,
      h("p", { class: "meta" }, `${r.kind} · ${r.subject} · party ${r.party}, submitted by ${r.submitter}`,
        ` · observed ${day(r.observed_at)}, reported ${day(r.reported_at)}, logged ${day(doc.logged_at)} · log index ${doc.index} · ${doc.status}`,
        doc.superseded_by !== null ? ` (superseded by log ${doc.superseded_by})` : "",
        doc.disputed_by.length ? ` · disputed by log ${doc.disputed_by.join(", ")}` : ""),
      h("section", { "aria-labelledby": "h-source" }, h("h2", { id: "h-source" }, "Source"),
        src.quote ? h("blockquote", {}, src.quote) : null,
        dl([["Title", src.title], ["Speaker", src.speaker], ["Venue", src.venue], ["Published", src.published],
          ["URL", url ? h("a", { href: url, rel: "noopener noreferrer nofollow", referrerpolicy: "no-referrer" }, url) : src.url]]),
        r.summary ? h("p", {}, r.summary) : null),
      values.length ? table("Values", ["Name", "Value"], values, "values") : null,
      h("section", { "aria-labelledby": "h-att" }, h("h2", { id: "h-att" }, "Attachments"),
        (r.attachments || []).length
          ? h("ul", {}, r.attachments.map((a) => h("li", {}, `${a.name || "(unnamed)"} · ${a.media_type || ""} · ${a.size} bytes · SHA-256 `, h("code", {}, a.sha256))))
          : h("p", {}, "None.")),
      h("section", { "aria-labelledby": "h-verify", id: "verify" }, h("h2", { id: "h-verify" }, "Verified in this browser"),
        verdict, results, h("details", {}, h("summary", {}, "Keys to trust"), trustForm)),
      link("evidence", "Back to the evidence"));
    await run();
  }

  async function route() {
    delete document.body.dataset.ready;
    const rendering = location.hash || "#overview";
    const [path] = location.hash.replace(/^#/, "").split("?");
    const parts = path.split("/");
    $("#report-link").setAttribute("href", `/v1/report?as_of=${asOfParam()}`);
    for (const a of document.querySelectorAll("#nav a[data-keep]")) {
      a.setAttribute("href", `#${a.dataset.keep}?as_of=${asOfParam()}`);
    }
    try {
      if (!state.ledger) state.ledger = await getJSON("/v1/ledger");
      $("#ledger-name").textContent = `${state.ledger.agreement} · log ${state.ledger.origin} · size ${state.ledger.size}`;
      if (parts[0] === "term" && parts[1]) await termPage(decodeURIComponent(parts[1]));
      else if (parts[0] === "evidence") await evidencePage();
      else if (parts[0] === "record" && /^\d+$/.test(parts[1] || "")) await recordPage(Number(parts[1]));
      else await overview();
    } catch (e) {
      page("Something went wrong", h("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e)));
    }
    // Ready names the hash this page shows, and only while it is still the hash asked for: a
    // navigation that came while this one rendered is queued behind it and marks its own.
    if ((location.hash || "#overview") === rendering) document.body.dataset.ready = rendering;
  }

  // One page at a time, in the order asked: a slow earlier page never paints over a later one.
  let routing = Promise.resolve();
  const queueRoute = () => { routing = routing.then(route, route); };
  window.addEventListener("hashchange", queueRoute);
  window.addEventListener("DOMContentLoaded", queueRoute);
})();
