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
  const word = (st) => (STATUS[st] || ["", st])[1];
  const glyph = (st, long) => {
    const [i, w] = STATUS[st] || ["", st];
    return long ? `${i} ${w}` : i;
  };
  const badge = (st) => h("span", { class: `status status-${st}`, "data-status": st },
    h("span", { "aria-hidden": "true" }, (STATUS[st] || ["?"])[0] + " "), word(st));
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

  const state = { ledger: null, records: null, policy: undefined };

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

  // The status of every term/party at each of `times`, from a timeline's changes.
  function statusAt(changes, key, t) {
    let st = null;
    for (const c of changes) {
      if (Date.parse(c.at) > t) break;
      if (key(c)) st = c.to;
    }
    return st;
  }

  function since(changes, term, party, status, asOf) {
    let at = null;
    for (const c of changes) {
      if (Date.parse(c.at) > Date.parse(asOf)) break;
      if (c.type === "term" && c.id === term && c.party === party) at = c.to === status ? (at || c.at) : null;
    }
    return at;
  }

  function margin(f) {
    if (typeof f.value !== "number" || typeof f.limit !== "number") return "";
    const d = f.value - f.limit;
    const pct = f.limit !== 0 ? ` (${(100 * d / f.limit).toFixed(1)} %)` : "";
    return `${d > 0 ? "+" : ""}${fmt(d)}${pct}`;
  }

  async function overview() {
    const p = params();
    const asOf = asOfParam();
    const sinceDate = /^\d{4}-\d{2}-\d{2}$/.test(p.get("since") || "") ? p.get("since") : null;
    const [now, then, tlNow, tlThen] = await Promise.all([
      getJSON(`/v1/status?as_of=${asOf}&view=now`),
      getJSON(`/v1/status?as_of=${asOf}&view=then`),
      getJSON(`/v1/timeline?to=${asOf}&view=now`),
      getJSON(`/v1/timeline?to=${asOf}&view=then`).catch(() => null),
    ]);
    const thenOf = new Map(then.terms.map((r) => [`${r.term}/${r.party}`, r.status]));
    const findings = now.terms.filter((r) => FINDINGS.includes(r.status));
    const form = dateForm([["as_of", "As of", asOf], ["since", "Changes since", sinceDate || ""]],
      (fd) => {
        const q = new URLSearchParams({ as_of: fd.get("as_of") });
        if (fd.get("since")) q.set("since", fd.get("since"));
        location.hash = `#overview?${q}`;
      });
    const summary = h("p", { class: "summary" }, `As of ${asOf}, as known now: `,
      Object.entries(now.summary).map(([st, n], i) => [i ? ", " : "", badge(st), ` ${n}`]),
      ` · log size ${now.checkpoint ? now.checkpoint.size : 0}`);
    const fRows = findings.map((r) => {
      const f = r.facts || {};
      return h("tr", { "data-term": r.term, "data-party": r.party },
        h("th", { scope: "row" }, link(`term/${r.term}`, r.term)), h("td", {}, r.party),
        h("td", {}, badge(r.status)),
        h("td", {}, thenOf.has(`${r.term}/${r.party}`) ? badge(thenOf.get(`${r.term}/${r.party}`)) : ""),
        h("td", { class: "num" }, f.value !== undefined ? fmt(f.value) : ""),
        h("td", { class: "num" }, f.limit !== undefined ? fmt(f.limit) : ""),
        h("td", { class: "num" }, margin(f)),
        h("td", {}, day(since(tlNow.changes, r.term, r.party, r.status, asOf))),
        h("td", {}, r.explanation));
    });
    const findingsBlock = h("section", { "aria-labelledby": "h-findings", id: "findings" },
      h("h2", { id: "h-findings" }, `Findings (${findings.length})`),
      findings.length
        ? table(`Terms violated, overdue, disputed, reversed or unknown as of ${asOf}`,
          ["Term", "Party", "Now", "Then", "Value", "Limit", "Margin", "Since", "Why"], fRows, "findings")
        : h("p", { class: "none" }, h("span", { "aria-hidden": "true" }, "✓ "),
          `No findings as of ${asOf}: no term is violated, overdue, disputed, reversed or unknown.`));
    let changed = null;
    if (sinceDate) {
      const tl = await getJSON(`/v1/timeline?from=${sinceDate}&to=${asOf}&view=now`);
      const rows = tl.changes.filter((c) => c.from !== null).map((c) => h("tr", {},
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
      matrix("As known now", now, tlNow.changes, asOf),
      tlThen ? matrix("As known then", then, tlThen.changes, asOf)
        : h("p", {}, "The ledger cannot say what was known then."));
    page(now.agreement ? `${state.ledger.title || now.agreement}` : "Overview",
      form, summary, findingsBlock, changed, steps(now, then), matrices);
    live(`Overview as of ${asOf}: ${findings.length} findings.`);
  }

  function matrix(label, doc, changes, asOf) {
    const end = Date.parse(asOf);
    // From the day after the first change (its status is set by then) to the as-of date.
    const first = Math.min(end, changes.length ? Date.parse(changes[0].at.slice(0, 10)) + 86400000 : end);
    const n = 6;
    const times = [];
    for (let i = 0; i < n; i++) times.push(first + ((end - first) * i) / (n - 1));
    const cols = [...new Set(times.map((t) => new Date(t).toISOString().slice(0, 10)))];
    const rows = doc.terms.map((r) => h("tr", {},
      h("th", { scope: "row" }, link(`term/${r.term}`, `${r.term} · ${r.party}`)),
      cols.map((c) => {
        const st = statusAt(changes, (x) => x.type === "term" && x.id === r.term && x.party === r.party,
          Date.parse(c));
        return h("td", { class: `cell status-${st || "none"}`, "data-status": st || "" },
          st ? [h("span", { "aria-hidden": "true" }, `${glyph(st)} `), word(st)] : "—");
      })));
    return table(`${label}: each term's status at ${cols.join(", ")}`, ["Term · party", ...cols], rows,
      `matrix ${label === "As known now" ? "now" : "then"}`);
  }

  function steps(now, then) {
    if (!now.steps.length) return null;
    const thenOf = new Map(then.steps.map((s) => [s.step, s.state]));
    const group = (st, title) => {
      const rows = now.steps.filter((s) => s.state === st).map((s) => h("tr", { "data-step": s.step },
        h("th", { scope: "row" }, s.step), h("td", {}, s.by), h("td", {}, badge(s.state)),
        h("td", {}, thenOf.has(s.step) ? badge(thenOf.get(s.step)) : ""),
        h("td", {}, s.clause), h("td", {}, s.explanation)));
      return rows.length ? table(title, ["Step", "Owed by", "Now", "Then", "Clause", "Why"], rows, `steps ${st}`) : null;
    };
    return h("section", { "aria-labelledby": "h-steps", id: "steps" },
      h("h2", { id: "h-steps" }, "Reciprocal steps"),
      group("unlocked", "Owed now"),
      group("locked", "Locked: what would unlock them"),
      group("partly_delivered", "Partly delivered"),
      group("delivered", "Delivered"),
      group("reversed", "Delivered, then undone"),
      group("suspended", "Suspended by the owing party's notice"),
      group("withdrawn", "Withdrawn by the owing party's notice"));
  }

  async function termPage(id) {
    const asOf = asOfParam();
    const [now, then, tlNow, tlThen, series] = await Promise.all([
      getJSON(`/v1/status?as_of=${asOf}&view=now`),
      getJSON(`/v1/status?as_of=${asOf}&view=then`),
      getJSON(`/v1/timeline?to=${asOf}&view=now`),
      getJSON(`/v1/timeline?to=${asOf}&view=then`).catch(() => null),
      getJSON(`/dashboard/series?as_of=${asOf}&view=now`),
    ]);
    const rows = now.terms.filter((r) => r.term === id);
    if (!rows.length) {
      page("No such term", h("p", {}, `The agreement has no term ${id}.`), link("overview", "Back to the overview"));
      return;
    }
    const thenOf = new Map(then.terms.map((r) => [`${r.term}/${r.party}`, r.status]));
    const form = dateForm([["as_of", "As of", asOf]], (fd) => {
      location.hash = `#term/${encodeURIComponent(id)}?as_of=${fd.get("as_of")}`;
    });
    const mine = tlNow.changes.filter((c) => c.type === "term" && c.id === id);
    const statusRows = rows.map((r) => h("tr", { "data-party": r.party },
      h("th", { scope: "row" }, r.party), h("td", {}, badge(r.status)),
      h("td", {}, badge(thenOf.get(`${r.term}/${r.party}`))), h("td", {}, r.clause),
      h("td", {}, r.evidence.map((i, k) => [k ? ", " : "", h("a", { href: `#record/${i}?as_of=${asOf}` }, `log ${i}`)])),
      h("td", {}, r.explanation)));
    const kids = [form,
      table(`Status of ${id} as of ${asOf}`, ["Party", "Now", "Then", "Clause", "Evidence", "Why"], statusRows, "term-status")];
    const chartTerm = series.terms.find((t) => t.term === id);
    if (chartTerm) {
      const { svg, breaches } = CvidCharts.limitChart(chartTerm, series.as_of, mine);
      const pts = chartTerm.series.flatMap((s) => s.points.map((p) => h("tr", {},
        h("td", {}, s.party), h("td", {}, day(p.at)), h("td", { class: "num" }, fmt(p.value)),
        h("td", {}, p.uncertainty ? `± ${fmt(p.uncertainty)}` : ""), h("td", {}, p.class),
        h("td", {}, `${p.kind} by ${p.submitter}`),
        h("td", {}, h("a", { href: `#record/${p.index}?as_of=${asOf}` }, `log ${p.index}`)),
        h("td", {}, [p.superseded ? "superseded" : "", breaches.includes(p) ? "✖ beyond the limit" : ""].filter(Boolean).join("; ")))));
      kids.push(h("section", { "aria-labelledby": "h-chart" },
        h("h2", { id: "h-chart" }, `${chartTerm.title} against the limit (${chartTerm.unit})`),
        h("figure", {}, svg, h("figcaption", {}, `Shapes tell declared, observed and verified values apart; ` +
          `${breaches.length} value(s) beyond the limit are ringed and labelled; ` +
          `a missing stretch of reports is a break in the line with a bar beneath it.`)),
        table(`The values plotted (${chartTerm.unit})`, ["Party", "Date", "Value", "Uncertainty", "Evidence is", "Record", "Log", "Notes"], pts, "points")));
    }
    const lo = mine.length ? Date.parse(mine[0].at) : Date.parse(asOf) - 365 * 86400000;
    const hi = Date.parse(asOf) + Math.max((Date.parse(asOf) - lo) / 30, 7 * 86400000);
    const bands = (changes) => rows.map((r) => {
      const cs = changes.filter((c) => c.type === "term" && c.id === id && c.party === r.party);
      return {
        name: r.party,
        bands: cs.map((c, i) => ({ start: Date.parse(c.at), end: i + 1 < cs.length ? Date.parse(cs[i + 1].at) : hi, status: c.to, explanation: c.explanation })),
      };
    });
    kids.push(h("section", { "aria-labelledby": "h-timeline" },
      h("h2", { id: "h-timeline" }, "Timeline"),
      h("h3", {}, "As known now"), CvidCharts.statusStrip(`${id}, as known now`, bands(tlNow.changes), lo, hi, asOf, glyph),
      tlThen ? [h("h3", {}, "As known then"), CvidCharts.statusStrip(`${id}, as known then`, bands(tlThen.changes), lo, hi, asOf, glyph)] : null,
      table(`Changes of ${id} up to ${asOf}, as known now`, ["Date", "Party", "From", "To", "Evidence", "Why"],
        mine.map((c) => h("tr", {}, h("td", {}, day(c.at)), h("td", {}, c.party),
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
    document.body.dataset.ready = location.hash || "#overview";
  }

  window.addEventListener("hashchange", route);
  window.addEventListener("DOMContentLoaded", route);
})();
