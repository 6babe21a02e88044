// cvid dashboard: checks in the browser, with WebCrypto, that a record is in the log.
//
// - the checkpoint is a C2SP signed-note signed (Ed25519) by the log key the reader trusts;
// - the witnesses' C2SP tlog-cosignature/v1 lines on it meet a C2SP tlog-policy (k of n);
// - the record's entry, read from the log's C2SP tlog-tiles entry bundle, is included in the
//   checkpoint's tree: its RFC 9162 inclusion proof is computed from the hash tiles and
//   verified against the checkpoint's root (leaf = SHA-256(0x00 || entry),
//   node = SHA-256(0x01 || left || right)).
// Nothing here trusts the server's own proof or its JSON: only the keys given and the bytes.
"use strict";

const CvidVerify = (() => {
  const enc = new TextEncoder();
  const TILE_HEIGHT = 8;
  const TILE_WIDTH = 256;

  class VerifyError extends Error {}

  function b64decode(text, what) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
      throw new VerifyError(`${what} is not base64`);
    }
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function b64encode(bytes) {
    let s = "";
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function concat(...parts) {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const leafHash = (entry) => sha256(concat(Uint8Array.of(0), entry));
  const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

  // A verifier key "name+hexid+base64(type || key)" of the given signature type.
  async function parseKey(text, type, what) {
    // A key name has no "+" (C2SP signed-note); the base64 key may.
    const m = /^([^+\s]+)\+([0-9a-fA-F]{8})\+(\S+)$/.exec(text.trim());
    if (!m) throw new VerifyError(`${what} is not name+hexid+base64key`);
    const [, name, id, b64] = m;
    const raw = b64decode(b64, what);
    if (raw.length !== 33 || raw[0] !== type) {
      throw new VerifyError(`${what} is not an Ed25519 key of type 0x0${type}`);
    }
    const pk = raw.slice(1);
    const kid = (await sha256(concat(enc.encode(name + "\n"), Uint8Array.of(type), pk))).slice(0, 4);
    if (hex(kid) !== id.toLowerCase()) throw new VerifyError(`${what}: its key ID is not ${id}`);
    const key = await crypto.subtle.importKey("raw", pk, { name: "Ed25519" }, false, ["verify"]);
    return { name, kid, key };
  }

  // A signed note: its text (with its final newline) and signature lines.
  function parseNote(data) {
    const at = data.indexOf("\n\n");
    if (at < 0) throw new VerifyError("the checkpoint is not a signed note (no blank line)");
    const text = data.slice(0, at + 1);
    const sigs = [];
    for (const line of data.slice(at + 2).split("\n")) {
      if (line === "") continue;
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new VerifyError(`a signature line of the checkpoint is malformed: ${line}`);
      const raw = b64decode(m[2], `the signature of ${m[1]}`);
      if (raw.length < 5) throw new VerifyError(`the signature of ${m[1]} is too short`);
      sigs.push({ name: m[1], kid: raw.slice(0, 4), body: raw.slice(4) });
    }
    const lines = text.split("\n");
    if (lines.length < 4) throw new VerifyError("the checkpoint has no origin, size and root");
    const size = lines[1];
    if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new VerifyError("the checkpoint's size is not a number");
    const root = b64decode(lines[2], "the checkpoint's root");
    if (root.length !== 32) throw new VerifyError("the checkpoint's root is not 32 bytes");
    return { text, sigs, origin: lines[0], size: Number(size), root };
  }

  const mine = (note, k) => note.sigs.filter((s) => s.name === k.name && equal(s.kid, k.kid));

  async function verifyNote(note, k) {
    const found = mine(note, k);
    if (found.length === 0) return false;
    for (const s of found) {
      if (s.body.length === 64 &&
          await crypto.subtle.verify({ name: "Ed25519" }, k.key, s.body, enc.encode(note.text))) {
        return true;
      }
    }
    return false;
  }

  // The verified time of k's cosignature on the note (exactly one line), or null.
  async function verifyCosignature(note, k) {
    const found = mine(note, k);
    if (found.length !== 1 || found[0].body.length !== 72) return null;
    const body = found[0].body;
    let t = 0n;
    for (let i = 0; i < 8; i++) t = (t << 8n) | BigInt(body[i]);
    const msg = enc.encode(`cosignature/v1\ntime ${t}\n${note.text}`);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, k.key, body.slice(8), msg);
    return ok ? Number(t) : null;
  }

  // A C2SP tlog-policy: log, witness, group and quorum lines.
  async function parsePolicy(text) {
    const p = { logs: [], witnesses: new Map(), groups: new Map(), quorum: null };
    const defined = (n, where) => {
      if (n !== "none" && !p.witnesses.has(n) && !p.groups.has(n)) {
        throw new VerifyError(`policy line ${where}: ${n} is not defined above`);
      }
    };
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const f = lines[i].replace(/#.*/, "").trim().split(/\s+/).filter(Boolean);
      if (f.length === 0) continue;
      const where = i + 1;
      if (f[0] === "log" && f.length >= 2) {
        p.logs.push(await parseKey(f[1], 1, `policy line ${where}: the log key`));
      } else if (f[0] === "witness" && f.length >= 3) {
        const k = await parseKey(f[2], 4, `policy line ${where}: the key of ${f[1]}`);
        p.witnesses.set(f[1], k);
      } else if (f[0] === "group" && f.length >= 4) {
        const members = f.slice(3);
        members.forEach((m) => defined(m, where));
        const n = members.length;
        const k = f[2] === "all" ? n : f[2] === "any" ? 1 : Number(f[2]);
        if (!Number.isInteger(k) || k < 1 || k > n) {
          throw new VerifyError(`policy line ${where}: ${f[2]} is not a threshold of ${n}`);
        }
        p.groups.set(f[1], { k, members });
      } else if (f[0] === "quorum" && f.length === 2) {
        defined(f[1], where);
        p.quorum = f[1];
      } else {
        throw new VerifyError(`policy line ${where} is not a log, witness, group or quorum line`);
      }
    }
    if (p.quorum === null) throw new VerifyError("the policy has no quorum line");
    return p;
  }

  function holds(p, name, cosigned) {
    if (name === "none") return true;
    if (p.witnesses.has(name)) return cosigned.has(name);
    const g = p.groups.get(name);
    return g.members.filter((m) => holds(p, m, cosigned)).length >= g.k;
  }

  // Tile paths of C2SP tlog-tiles: N as x001/x234/067.
  function tileIndex(n) {
    let s = String(n % 1000).padStart(3, "0");
    n = Math.floor(n / 1000);
    while (n > 0) {
      s = `x${String(n % 1000).padStart(3, "0")}/${s}`;
      n = Math.floor(n / 1000);
    }
    return s;
  }

  // Reads hashes from the tiles of a tree of the given size, fetching each tile once.
  class Tiles {
    constructor(base, size, fetchImpl) {
      this.base = base.replace(/\/$/, "");
      this.size = size;
      this.fetch = fetchImpl;
      this.cache = new Map();
      this.fetched = [];
    }

    async get(path) {
      if (!this.cache.has(path)) {
        this.cache.set(path, (async () => {
          const r = await this.fetch(`${this.base}/${path}`);
          if (!r.ok) throw new VerifyError(`${path}: the server answered ${r.status}`);
          this.fetched.push(path);
          return new Uint8Array(await r.arrayBuffer());
        })());
      }
      return this.cache.get(path);
    }

    path(level, n) {
      const count = Math.floor(this.size / TILE_WIDTH ** level);
      const width = Math.min(TILE_WIDTH, count - n * TILE_WIDTH);
      if (width <= 0) throw new VerifyError(`tile ${level}/${n} is beyond the tree`);
      const suffix = width < TILE_WIDTH ? `.p/${width}` : "";
      return { path: `${level === "entries" ? "entries" : level}/${tileIndex(n)}${suffix}`, width };
    }

    async entry(i) {
      const n = Math.floor(i / TILE_WIDTH);
      const { path, width } = this.path(0, n);
      const p = `tile/entries/${path.slice(2)}`;
      const data = await this.get(p);
      let o = 0;
      const entries = [];
      while (o < data.length) {
        if (o + 2 > data.length) throw new VerifyError(`${p}: an entry's length is cut short`);
        const len = (data[o] << 8) | data[o + 1];
        if (o + 2 + len > data.length) throw new VerifyError(`${p}: an entry is cut short`);
        entries.push(data.slice(o + 2, o + 2 + len));
        o += 2 + len;
      }
      if (entries.length !== width) {
        throw new VerifyError(`${p}: holds ${entries.length} entries, not ${width}`);
      }
      return entries[i % TILE_WIDTH];
    }

    // The hash of the full subtree of height `height` at `index` (its leaves
    // index*2^height .. (index+1)*2^height-1), from the tile at level floor(height/8).
    async node(height, index) {
      const level = Math.floor(height / TILE_HEIGHT);
      const h = height % TILE_HEIGHT;
      const first = index * 2 ** h;
      const n = Math.floor(first / TILE_WIDTH);
      const { path, width } = this.path(level, n);
      const data = await this.get(`tile/${path}`);
      if (data.length !== 32 * width) {
        throw new VerifyError(`tile/${path}: ${data.length} bytes, not ${32 * width}`);
      }
      let nodes = [];
      for (let j = first % TILE_WIDTH; j < first % TILE_WIDTH + 2 ** h; j++) {
        if (j >= width) throw new VerifyError(`tile/${path} lacks hash ${j}`);
        nodes.push(data.slice(32 * j, 32 * j + 32));
      }
      while (nodes.length > 1) {
        const up = [];
        for (let j = 0; j < nodes.length; j += 2) up.push(await nodeHash(nodes[j], nodes[j + 1]));
        nodes = up;
      }
      return nodes[0];
    }

    // MTH of leaves [a, b), b <= size (RFC 9162 section 2.1.1).
    async mth(a, b) {
      const n = b - a;
      if ((n & (n - 1)) === 0 && a % n === 0) return this.node(Math.log2(n), a / n);
      const k = 2 ** Math.floor(Math.log2(n - 1));
      return nodeHash(await this.mth(a, a + k), await this.mth(a + k, b));
    }

    // PATH(m, D[a:b]) (RFC 9162 section 2.1.3.1).
    async path_(m, a, b) {
      const n = b - a;
      if (n <= 1) return [];
      const k = 2 ** Math.floor(Math.log2(n - 1));
      if (m - a < k) return [...await this.path_(m, a, a + k), await this.mth(a + k, b)];
      return [...await this.path_(m, a + k, b), await this.mth(a, a + k)];
    }

    inclusionProof(m) {
      return this.path_(m, 0, this.size);
    }
  }

  // RFC 9162 section 2.1.3.2: verify an inclusion proof.
  async function verifyInclusion(index, size, leaf, proof, root) {
    if (index >= size) return false;
    let fn = index;
    let sn = size - 1;
    let r = leaf;
    for (const p of proof) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) {
            fn = Math.floor(fn / 2);
            sn = Math.floor(sn / 2);
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && equal(r, root);
  }

  // Check record `index` against the log at `base` (a tlog-tiles prefix). Returns
  // {ok, steps: [{name, ok, detail}], entry, checkpoint}; never throws.
  async function check({ base, index, logKey, policyText, clockKey, fetchImpl }) {
    const steps = [];
    const step = (name, ok, detail) => steps.push({ name, ok, detail });
    const f = fetchImpl || ((u) => fetch(u, { cache: "no-store" }));
    let entry = null;
    let note = null;
    try {
      if (!globalThis.crypto || !crypto.subtle) {
        throw new VerifyError(
          "this page has no WebCrypto (it needs a secure context: https, or http on localhost)");
      }
      const k = await parseKey(logKey, 1, "the log key");
      const r = await f(`${base.replace(/\/$/, "")}/checkpoint`);
      if (!r.ok) throw new VerifyError(`checkpoint: the server answered ${r.status}`);
      note = parseNote(await r.text());
      const signed = note.origin === k.name && await verifyNote(note, k);
      step("log signature", signed, signed
        ? `checkpoint of size ${note.size} signed by ${k.name}`
        : `the checkpoint has no valid signature by ${k.name}`);
      if (!signed) return { ok: false, steps, entry, checkpoint: note };
      if (clockKey) {
        const ck = await parseKey(clockKey, 4, "the clock key");
        const t = await verifyCosignature(note, ck);
        step("clock cosignature", t !== null, t !== null
          ? `cosigned by ${ck.name} at ${new Date(t * 1000).toISOString()}`
          : `no valid cosignature by the clock ${ck.name}`);
      }
      if (policyText) {
        const p = await parsePolicy(policyText);
        if (p.logs.length && !(await Promise.all(p.logs.map((l) => verifyNote(note, l)))).some(Boolean)) {
          step("witness policy", false, "the checkpoint is not signed by a log of the policy");
        } else {
          const cosigned = new Map();
          for (const [name, wk] of p.witnesses) {
            const t = await verifyCosignature(note, wk);
            if (t !== null) cosigned.set(name, t);
          }
          const ok = holds(p, p.quorum, cosigned);
          const g = p.groups.get(p.quorum);
          const names = [...cosigned.keys()];
          const missing = [...p.witnesses.keys()].filter((n) => !cosigned.has(n));
          const need = g ? `${g.k} of ${g.members.length}` : p.quorum;
          step("witness policy", ok,
            `quorum ${p.quorum} needs ${need}; valid cosignatures: ${names.join(", ") || "none"}` +
            (missing.length ? `; missing or invalid: ${missing.join(", ")}` : ""));
        }
      }
      if (index >= note.size) {
        step("inclusion", false, `record ${index} is not in the checkpoint's ${note.size} entries`);
        return { ok: false, steps, entry, checkpoint: note };
      }
      const tiles = new Tiles(base, note.size, f);
      entry = await tiles.entry(index);
      const leaf = await leafHash(entry);
      const stored = await tiles.node(0, index);
      const leafOk = equal(leaf, stored);
      step("entry", leafOk, leafOk
        ? `entry ${index} (${entry.length} bytes) hashes to the tree's leaf ${b64encode(leaf)}`
        : `entry ${index} hashes to ${b64encode(leaf)}, the hash tile holds ${b64encode(stored)}`);
      const proof = await tiles.inclusionProof(index);
      const included = await verifyInclusion(index, note.size, leaf, proof, note.root);
      step("inclusion", included, included
        ? `an inclusion proof of ${proof.length} hashes from the tiles reaches the checkpoint's root`
        : "the inclusion proof from the tiles does not reach the checkpoint's root");
    } catch (e) {
      step("error", false, e instanceof Error ? e.message : String(e));
    }
    return { ok: steps.length > 0 && steps.every((s) => s.ok), steps, entry, checkpoint: note };
  }

  return { check, parseNote, parsePolicy, verifyInclusion, tileIndex, VerifyError, b64encode, Tiles, leafHash };
})();
