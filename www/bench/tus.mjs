// The runner of `cargo xtask bench tus` (run by the xtask with CHROME and
// AURALOADER_DIST set; it can also be run by hand, after `cargo xtask build`:
// `node www/bench/tus.mjs --mib 128 --study DIR` with DIR from
// `cargo xtask gen-study`; without --study only the single-file rows run).
//
// Two inputs, the same size, each selected in the page's
// <input type=file (multiple)> as a user's pick would be (disk-backed Files):
//
// - file: one file of pseudo-random bytes, written to a temp dir. Both clients
//   get the same File and send Blob slices of it: the transport alone.
// - study: a folder of synthetic DICOM files (from gen-study). auraloader
//   takes the widget's path: `prepareStudy` (the page's shared Web Workers
//   deflate the entries into Blobs) and the widget's tus driver sending the
//   prepared study's byte ranges (`startTusUploads` with `{zip}`, as
//   TusPipeline does). tus-js-client gets the study zipped the published
//   widget's way: every file read into memory, fflate `zipSync` on the page's
//   thread (the same deflate level and the same stored/deflated choice per
//   entry), the archive handed over as a Blob.
//
// Every run gets a fresh browser context (a fresh renderer process), so no
// run's garbage or RSS carries into the next; the clients alternate which
// goes first. Both send the same chunk size to the same @tus/server +
// @tus/file-store (storing into the temp dir). Time runs from the moment the
// page is handed the files to the last byte acknowledged (the user's wait);
// the zip time and the tus time are recorded apart.
//
// Memory, sampled every 100 ms while a run lasts, after a garbage collection
// in the page and in each worker before it starts:
// - the page's V8 heap (CDP Runtime.getHeapUsage usedSize) and its
//   ArrayBuffer backing stores (backingStorageSize, which JSHeapUsedSize
//   leaves out), and the page's wasm memory (auraloader's instance);
// - the same for every dedicated worker of the page (attached through
//   Target.setAutoAttach on the page's session; the worker's wasm memory from
//   its `memoryBytes()`);
// - the RSS of the page's renderer process (which hosts its workers) and of
//   the browser process (which keeps Blob data), from /proc/<pid>/status: the
//   sampled VmRSS and the kernel's peak VmHWM, reset before each run through
//   /proc/<pid>/clear_refs (where allowed). The renderer's pid is found with
//   CDP SystemInfo.getProcessInfo (the renderer whose CPU time grows while the
//   page spins).
// The page's main thread cannot answer CDP while fflate's zipSync runs, so
// the sampled peaks miss what it holds inside that one task; the renderer's
// VmHWM does not.
//
// Checks: the stored file equals the source (SHA-256); a stored study zip is
// read back with Node's zlib, entry by entry, and each entry's SHA-256 and
// size must equal its input file's (and its CRC-32 the central directory's).
// Stored uploads are deleted after each run. The last stdout line is
// `BENCH_RESULT <json>`. Nothing here prints file content.

import { createHash } from "node:crypto";
import {
  closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync,
  rmSync, statSync, unlinkSync, writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve, sep } from "node:path";
import { createInflateRaw, crc32 } from "node:zlib";

const www = resolve(new URL("..", import.meta.url).pathname);
const repo = resolve(www, "..");
const dist = resolve(process.env.AURALOADER_DIST ?? join(repo, "dist"));
const { launchChromium } = await import(join(www, "tools/chromium.mjs"));
const { startStatic, startTusServer, pseudoRandomBytes } = await import(join(www, "tools/tus-servers.mjs"));
const { zipEntries } = await import(join(www, "tools/zipfile.mjs"));
const { procStatus, rendererPid, resetPeak } = await import(join(www, "tools/proc.mjs"));

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} needs a number ≥ 0`);
  return value;
}
function textOption(name) {
  const i = process.argv.indexOf(name);
  return i < 0 ? null : process.argv[i + 1];
}

const MIB = 1024 * 1024;
const size = option("--mib", 1024) * MIB;
const chunkSize = option("--chunk-mib", 5) * MIB;
const fileRuns = Math.min(10, option("--runs", 3));
const studyRuns = Math.min(10, option("--study-runs", 2));
const level = Math.min(9, option("--level", 2));
const studyDir = textOption("--study");
const studyMethod = textOption("--study-method") ?? "deflated";
const RUN_LIMIT_MS = 15 * 60_000;
const SAMPLE_MS = 100;
if (!(size > 0) || !(chunkSize > 0)) throw new Error("--mib and --chunk-mib must be positive");
if (!["stored", "deflated"].includes(studyMethod)) throw new Error("--study-method is stored or deflated");

// The page loads only the client named in its query (?client=…), so each
// run's memory is its client's alone.
const PAGE = `<!doctype html><meta charset="utf-8"><title>tus benchmark</title>
<input type="file" id="picker">
<input type="file" id="study" multiple>
<script type="module">
const client = new URLSearchParams(location.search).get("client");
let wasm = null;
let exports = null;
let zipSync = null;
if (client === "auraloader") {
  wasm = await import("/npm/auraloader.js");
  exports = await wasm.default({ module_or_path: "/npm/auraloader_bg.wasm" });
} else {
  await new Promise((ok, fail) => {
    const script = document.createElement("script");
    script.src = "/tus.min.js";
    script.onload = ok;
    script.onerror = () => fail(new Error("tus.min.js did not load"));
    document.head.append(script);
  });
  ({ zipSync } = await import("/fflate.js"));
}
window.wasmBytes = () => (exports ? exports.memory.buffer.byteLength : 0);
// fflate stamps entries with the time unless told; a fixed one keeps every
// run's archive the same bytes, as auraloader's are.
const MTIME = new Date(Date.UTC(2020, 0, 1));
const tick = () => new Promise((r) => setTimeout(r, 0));
window.phase = "idle";

function studyFiles(o) {
  const files = Array.from(document.getElementById("study").files);
  if (files.length !== o.names.length) throw new Error(files.length + " files selected, " + o.names.length + " expected");
  files.forEach((f, i) => { if (f.size !== o.sizes[i]) throw new Error("file " + i + " has the wrong size"); });
  return files;
}

function fflateZip(buffers, o) {
  const input = {};
  buffers.forEach((b, i) => {
    input[o.names[i]] = [new Uint8Array(b), { level: o.methods[i] === "stored" ? 0 : o.level }];
  });
  return zipSync(input, { mtime: MTIME });
}

// Compiles and starts what a page has ready before an upload: the shared
// workers (the widget's scan starts them) and the JIT of both zippers.
window.warmUp = async (client, o) => {
  const files = studyFiles(o).slice(0, 1);
  const one = { ...o, names: o.names.slice(0, 1), methods: o.methods.slice(0, 1) };
  if (client === "auraloader") {
    (await wasm.prepareStudy(files, one.names, one.methods, {})).free();
  } else {
    fflateZip([await files[0].arrayBuffer()], one);
  }
  return true;
};

function send(client, body, o, finish) {
  if (client === "auraloader") {
    const run = wasm.startTusUploads({
      endpoint: o.endpoint, token: "bench", chunkSize: o.chunkSize, store: "memory",
      uploads: [{ ...body, metadata: { filename: "bench.bin" } }],
    }, (e) => { if (e.type !== "overall" && e.type !== "progress") window.lastEvent = e; });
    window.diagnostics = () => run.diagnostics();
    run.done().then((outcomes) => {
      const r = outcomes[0];
      finish(r !== null && r.state === "completed", r && r.error);
    }, (e) => finish(false, String(e)));
  } else {
    const upload = new tus.Upload(body.blob, {
      endpoint: o.endpoint, chunkSize: o.chunkSize, retryDelays: [0, 1000, 3000, 5000],
      storeFingerprintForResuming: false, metadata: { filename: "bench.bin" },
      onSuccess: () => finish(true, null),
      onError: (e) => finish(false, String(e)),
    });
    upload.start();
  }
}

window.startBench = (client, kind, o) => {
  window.benchResult = null;
  const t0 = performance.now();
  let zipped = t0;
  let sent = 0;
  let workers = null;
  const finish = (ok, error) => {
    const end = performance.now();
    window.phase = "done";
    window.benchResult = { ok, error, ms: end - t0, zipMs: zipped - t0, tusMs: end - zipped, sent, workers };
  };
  (async () => {
    let body;
    if (kind === "file") {
      body = { blob: document.getElementById("picker").files[0] };
      sent = body.blob.size;
    } else if (client === "auraloader") {
      window.phase = "zipping";
      const prepared = await wasm.prepareStudy(studyFiles(o), o.names, o.methods, {});
      sent = prepared.length;
      workers = prepared.workers;
      body = { zip: prepared };
    } else {
      window.phase = "reading";
      let buffers = await Promise.all(studyFiles(o).map((f) => f.arrayBuffer()));
      window.phase = "zipping";
      let archive = fflateZip(buffers, o);
      window.phase = "zipped";
      await tick();
      buffers = null;
      body = { blob: new Blob([archive], { type: "application/zip" }) };
      archive = null;
      sent = body.blob.size;
    }
    zipped = performance.now();
    window.phase = "uploading";
    send(client, body, o, finish);
  })().catch((e) => finish(false, String(e && e.stack ? e.stack : e)));
  return true;
};
window.ready = true;
</script>`;

// ---------------------------------------------------------------------------
// Inputs and checks.

function writeSource(path) {
  const fd = openSync(path, "w");
  const block = 16 * MIB;
  for (let at = 0, i = 1; at < size; at += block, i++) {
    writeSync(fd, pseudoRandomBytes(Math.min(block, size - at), i));
  }
  closeSync(fd);
}

function sha256(path, start, end) {
  return new Promise((ok, fail) => {
    const hash = createHash("sha256");
    createReadStream(path, start === undefined ? {} : { start, end })
      .on("data", (d) => hash.update(d))
      .on("end", () => ok(hash.digest("hex")))
      .on("error", fail);
  });
}

/** Every file under `dir`, sorted by relative path (forward slashes). */
function walk(dir) {
  const out = [];
  const visit = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile()) out.push(path);
    }
  };
  visit(dir);
  return out
    .map((path) => ({ path, name: relative(dir, path).split(sep).join("/"), size: statSync(path).size }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The SHA-256, length and CRC-32 of one entry's data, unzipped. */
function entryDigest(path, entry) {
  return new Promise((ok, fail) => {
    const hash = createHash("sha256");
    let length = 0;
    let crc = 0;
    const take = (d) => {
      hash.update(d);
      length += d.length;
      crc = crc32(d, crc);
    };
    const done = () => ok({ sha: hash.digest("hex"), length, crc: crc >>> 0 });
    if (entry.compressedSize === 0) {
      done();
      return;
    }
    const raw = createReadStream(path, { start: entry.dataOffset, end: entry.dataOffset + entry.compressedSize - 1 });
    raw.on("error", fail);
    if (entry.method === 0) {
      raw.on("data", take).on("end", done);
    } else if (entry.method === 8) {
      const inflate = createInflateRaw();
      inflate.on("data", take).on("end", done).on("error", fail);
      raw.pipe(inflate);
    } else {
      fail(new Error(`entry ${entry.name}: method ${entry.method}`));
    }
  });
}

/** Throws unless the zip at `path` holds exactly `inputs` (by name, SHA-256). */
async function verifyStudyZip(path, inputs) {
  const entries = zipEntries(path);
  if (entries.length !== inputs.length) throw new Error(`${entries.length} entries, ${inputs.length} inputs`);
  const byName = new Map(inputs.map((f) => [f.name, f]));
  const methods = { stored: 0, deflated: 0 };
  for (const entry of entries) {
    const input = byName.get(entry.name);
    if (!input) throw new Error(`entry ${entry.name} is not an input`);
    byName.delete(entry.name);
    const got = await entryDigest(path, entry);
    if (got.length !== input.size || got.length !== entry.size) throw new Error(`entry ${entry.name}: wrong size`);
    if (got.crc !== entry.crc) throw new Error(`entry ${entry.name}: CRC-32 differs from the central directory`);
    if (got.sha !== input.sha) throw new Error(`entry ${entry.name}: bytes differ from the input`);
    methods[entry.method === 8 ? "deflated" : "stored"] += 1;
  }
  return { entries: entries.length, methods };
}

// ---------------------------------------------------------------------------
// Memory.

/** CDP access to the dedicated workers of the page behind `cdp` (non-flat sessions). */
function workerSessions(cdp) {
  const workers = new Map();
  const pending = new Map();
  let next = 1;
  cdp.on("Target.attachedToTarget", (e) => {
    if (e.targetInfo.type === "worker") workers.set(e.sessionId, { sessionId: e.sessionId });
  });
  cdp.on("Target.detachedFromTarget", (e) => workers.delete(e.sessionId));
  cdp.on("Target.receivedMessageFromTarget", (e) => {
    const message = JSON.parse(e.message);
    const waiter = message.id !== undefined ? pending.get(message.id) : undefined;
    if (waiter) {
      pending.delete(message.id);
      waiter(message);
    }
  });
  const send = (sessionId, method, params = {}) =>
    new Promise((ok) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        ok({ error: "timeout" });
      }, 5_000);
      pending.set(id, (m) => {
        clearTimeout(timer);
        ok(m);
      });
      cdp
        .send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method, params }) })
        .catch((error) => ok({ error: String(error) }));
    });
  return {
    start: () => cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false }),
    ids: () => [...workers.keys()],
    send,
    /** {heap, backing, wasm} of one worker, or null. */
    async sample(sessionId) {
      const [usage, wasm] = await Promise.all([
        send(sessionId, "Runtime.getHeapUsage"),
        send(sessionId, "Runtime.evaluate", {
          expression: "typeof memoryBytes === 'function' ? memoryBytes() : 0",
          returnByValue: true,
        }),
      ]);
      if (!usage.result) return null;
      return {
        heap: usage.result.usedSize,
        backing: usage.result.backingStorageSize ?? 0,
        wasm: wasm.result?.result?.value ?? 0,
      };
    },
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// The run.

const scratch = mkdtempSync(join(tmpdir(), "auraloader-bench-tus-"));
let browser;
const closers = [];
try {
  const source = join(scratch, "source.bin");
  const store = join(scratch, "store");
  mkdirSync(store);
  console.error(`bench tus: writing ${size / MIB} MiB of pseudo-random bytes`);
  writeSource(source);
  const sourceHash = await sha256(source);
  let study = null;
  if (studyDir) {
    const files = walk(resolve(studyDir));
    if (files.length === 0) throw new Error(`no files in ${studyDir}`);
    console.error(`bench tus: hashing the ${files.length} files of the study`);
    for (const f of files) f.sha = await sha256(f.path);
    study = { files, bytes: files.reduce((n, f) => n + f.size, 0) };
  }
  const tus = await startTusServer({ www, directory: store });
  closers.push(tus.close);
  const site = await startStatic({
    routes: {
      "/": PAGE,
      "/favicon.ico": "",
      "/tus.min.js": { file: join(www, "node_modules/tus-js-client/dist/tus.min.js") },
      "/fflate.js": { file: join(www, "node_modules/fflate/esm/browser.js") },
    },
    mounts: { "/npm/": join(dist, "npm") },
  });
  closers.push(site.close);
  browser = await launchChromium();
  const browserCdp = await browser.newBrowserCDPSession();
  const errors = [];
  const pageOptions = study
    ? {
        names: study.files.map((f) => f.name),
        sizes: study.files.map((f) => f.size),
        methods: study.files.map(() => studyMethod),
        level,
      }
    : {};
  let peakResets = true;

  /** One run of `client` on `kind` in a fresh context; returns its record. */
  async function runOnce(client, kind) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.on("pageerror", (e) => {
        errors.push(String(e));
        console.error(`bench tus: page error: ${e}`);
      });
      page.on("console", (m) => console.error(`bench tus: page console: ${m.text()}`));
      const cdp = await context.newCDPSession(page);
      const workers = workerSessions(cdp);
      await workers.start();
      await page.goto(`${site.origin}/?client=${client}`);
      await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
      if (kind === "file") {
        await page.setInputFiles("#picker", source);
      } else {
        await page.setInputFiles("#study", study.files.map((f) => f.path));
        await page.evaluate(([c, o]) => window.warmUp(c, o), [client, pageOptions]);
      }
      const renderer = await rendererPid(browserCdp, page);
      const { processInfo } = await browserCdp.send("SystemInfo.getProcessInfo");
      const browserPid = processInfo.find((p) => p.type === "browser")?.id ?? null;

      // Baseline after garbage collection everywhere.
      await cdp.send("HeapProfiler.collectGarbage");
      for (const id of workers.ids()) await workers.send(id, "HeapProfiler.collectGarbage");
      await sleep(200);
      const pageSample = async () => {
        const [usage, wasm, phase] = await Promise.all([
          cdp.send("Runtime.getHeapUsage"),
          cdp.send("Runtime.evaluate", { expression: "window.wasmBytes()", returnByValue: true }),
          cdp.send("Runtime.evaluate", { expression: "[window.phase, window.benchResult]", returnByValue: true }),
        ]);
        const [phaseNow, result] = phase.result.value;
        return {
          memory: { heap: usage.usedSize, backing: usage.backingStorageSize ?? 0, wasm: wasm.result.value },
          phase: phaseNow,
          result,
        };
      };
      const total = (m) => m.heap + m.backing + m.wasm;
      const base = (await pageSample()).memory;
      const workerBase = [];
      for (const id of workers.ids()) {
        const s = await workers.sample(id);
        if (s) workerBase.push(s);
      }
      const baseHeld = total(base) + workerBase.reduce((n, s) => n + total(s), 0);
      const rssBase = { renderer: procStatus(renderer, "VmRSS"), browser: procStatus(browserPid, "VmRSS") };
      peakResets = resetPeak(renderer) && resetPeak(browserPid) && peakResets;

      const peak = {
        page: { heap: base.heap, backing: base.backing, wasm: base.wasm },
        workers: { heap: 0, backing: 0, wasm: 0 },
        held: baseHeld,
        heldByPhase: {},
        rss: { renderer: rssBase.renderer ?? 0, browser: rssBase.browser ?? 0 },
      };
      let pageLatest = base;
      let phaseLatest = "idle";
      const workerLatest = new Map();
      let stop = false;
      const combine = () => {
        let held = total(pageLatest);
        for (const s of workerLatest.values()) held += total(s);
        peak.held = Math.max(peak.held, held);
        peak.heldByPhase[phaseLatest] = Math.max(peak.heldByPhase[phaseLatest] ?? 0, held);
      };
      const rssLoop = (async () => {
        while (!stop) {
          peak.rss.renderer = Math.max(peak.rss.renderer, procStatus(renderer, "VmRSS") ?? 0);
          peak.rss.browser = Math.max(peak.rss.browser, procStatus(browserPid, "VmRSS") ?? 0);
          await sleep(SAMPLE_MS);
        }
      })();
      const workerLoop = (async () => {
        while (!stop) {
          // A worker that ended (the pool replaces a worker after it has
          // read a set amount) holds nothing any more.
          const live = new Set(workers.ids());
          for (const id of workerLatest.keys()) if (!live.has(id)) workerLatest.delete(id);
          for (const id of live) {
            const s = await workers.sample(id);
            if (!s) continue;
            workerLatest.set(id, s);
            for (const k of ["heap", "backing", "wasm"]) peak.workers[k] = Math.max(peak.workers[k], s[k]);
          }
          combine();
          await sleep(SAMPLE_MS);
        }
      })();

      const options = { ...pageOptions, endpoint: tus.url, chunkSize };
      await page.evaluate(([c, k, o]) => window.startBench(c, k, o), [client, kind, options]);
      const started = Date.now();
      let result = null;
      let lastLog = started;
      while (result === null) {
        if (Date.now() - started > RUN_LIMIT_MS) throw new Error(`${client} did not finish within ${RUN_LIMIT_MS / 60_000} min`);
        await sleep(SAMPLE_MS);
        const s = await pageSample();
        pageLatest = s.memory;
        phaseLatest = s.phase;
        for (const k of ["heap", "backing", "wasm"]) peak.page[k] = Math.max(peak.page[k], s.memory[k]);
        combine();
        result = s.result;
        if (Date.now() - lastLog > 10_000) {
          lastLog = Date.now();
          console.error(`bench tus: ${client} ${kind} running for ${Math.round((lastLog - started) / 1000)} s (${s.phase}), held ${(peak.held / MIB).toFixed(1)} MiB at most so far`);
        }
      }
      stop = true;
      await Promise.all([rssLoop, workerLoop]);
      if (!result.ok) throw new Error(`${client} (${kind}) failed: ${result.error}`);
      // The kernel's VmHWM can miss a peak that was given back by madvise;
      // the sampled VmRSS can miss one between samples: the larger counts.
      const hwm = { renderer: procStatus(renderer, "VmHWM"), browser: procStatus(browserPid, "VmHWM") };
      peak.rss.renderer = Math.max(peak.rss.renderer, hwm.renderer ?? 0);
      peak.rss.browser = Math.max(peak.rss.browser, hwm.browser ?? 0);

      const stored = readdirSync(store).filter((f) => !f.endsWith(".json"));
      if (stored.length !== 1) throw new Error(`expected one stored upload, found ${stored.length}`);
      const storedPath = join(store, stored[0]);
      const storedBytes = statSync(storedPath).size;
      let check;
      if (storedBytes !== result.sent) throw new Error(`${client}: stored ${storedBytes} bytes, sent ${result.sent}`);
      if (kind === "file") {
        if ((await sha256(storedPath)) !== sourceHash) throw new Error(`${client}: the stored bytes differ from the source`);
        check = "SHA-256 equal";
      } else {
        const v = await verifyStudyZip(storedPath, study.files);
        check = `${v.entries} entries (${v.methods.deflated} deflated, ${v.methods.stored} stored) equal their inputs`;
      }
      for (const f of readdirSync(store)) unlinkSync(join(store, f));
      const inputBytes = kind === "file" ? size : study.bytes;
      const entry = {
        ms: result.ms,
        zipMs: result.zipMs,
        tusMs: result.tusMs,
        sent: result.sent,
        inputBytes,
        workers: result.workers,
        mibPerSecond: inputBytes / MIB / (result.ms / 1000),
        tusMibPerSecond: result.sent / MIB / (result.tusMs / 1000),
        base: { page: base, held: baseHeld, rss: rssBase },
        peak,
        heldAbove: peak.held - baseHeld,
        hwm,
        check,
      };
      console.error(
        `bench tus: ${client} ${kind}: ${(result.ms / 1000).toFixed(2)} s (zip ${(result.zipMs / 1000).toFixed(2)} s, ` +
          `tus ${entry.tusMibPerSecond.toFixed(1)} MiB/s), held +${(entry.heldAbove / MIB).toFixed(1)} MiB, ` +
          `renderer VmHWM ${((hwm.renderer ?? 0) / MIB).toFixed(0)} MiB; ${check}`,
      );
      return entry;
    } finally {
      await context.close().catch(() => {});
    }
  }

  const results = { file: { auraloader: [], "tus-js-client": [] }, study: { auraloader: [], "tus-js-client": [] } };
  const plan = [["file", fileRuns], ...(study ? [["study", studyRuns]] : [])];
  for (const [kind, runs] of plan) {
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? ["auraloader", "tus-js-client"] : ["tus-js-client", "auraloader"];
      for (const client of order) {
        console.error(`bench tus: ${kind} run ${run + 1} of ${runs}: ${client}`);
        results[kind][client].push(await runOnce(client, kind));
      }
    }
  }
  const version = (pkg) => JSON.parse(readFileSync(join(www, "node_modules", pkg, "package.json"), "utf8")).version;
  const output = {
    ok: errors.length === 0,
    errors,
    bytes: size,
    chunkSize,
    fileRuns,
    studyRuns: study ? studyRuns : 0,
    level,
    studyMethod,
    study: study ? { files: study.files.length, bytes: study.bytes } : null,
    peakResets,
    chromium: browser.version(),
    node: process.version,
    versions: Object.fromEntries(
      ["tus-js-client", "@tus/server", "@tus/file-store", "fflate"].map((p) => [p, version(p)]),
    ),
    results,
  };
  console.log(`BENCH_RESULT ${JSON.stringify(output)}`);
} finally {
  await browser?.close().catch(() => {});
  for (const close of closers) await close().catch(() => {});
  rmSync(scratch, { recursive: true, force: true });
}
