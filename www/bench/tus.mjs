// The runner of `cargo xtask bench tus` (run by the xtask with CHROME and
// AURALOADER_DIST set; it can also be run by hand: `node www/bench/tus.mjs
// --mib 1024 --chunk-mib 5 --runs 3`).
//
// One headless Chromium page uploads the same disk-backed File (pseudo-random
// bytes written to a temp dir, selected in an <input type=file> as a user's
// pick would be) over loopback to the official Node tus server (@tus/server +
// @tus/file-store storing into the temp dir), once with auraloader's driver
// (the internal `startTusUploads` export of the built npm package) and once
// with tus-js-client (its browser bundle), alternating which goes first, the
// same chunk size for both. While each upload runs, the page's JS heap
// (CDP Performance.getMetrics JSHeapUsedSize) and auraloader's wasm memory
// (memory.buffer.byteLength) are sampled every 100 ms; garbage is collected
// before each run. After each run the stored file is compared with the
// source (SHA-256) and deleted. The last stdout line is
// `BENCH_RESULT <json>`.

import { createHash } from "node:crypto";
import { closeSync, createReadStream, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const www = resolve(new URL("..", import.meta.url).pathname);
const repo = resolve(www, "..");
const dist = resolve(process.env.AURALOADER_DIST ?? join(repo, "dist"));
const { launchChromium } = await import(join(www, "tools/chromium.mjs"));
const { startStatic, startTusServer, pseudoRandomBytes } = await import(join(www, "tools/tus-servers.mjs"));

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}

const MIB = 1024 * 1024;
const size = option("--mib", 1024) * MIB;
const chunkSize = option("--chunk-mib", 5) * MIB;
const runs = Math.min(10, option("--runs", 3));
const RUN_LIMIT_MS = 15 * 60_000;

const PAGE = `<!doctype html><meta charset="utf-8"><title>tus benchmark</title>
<input type="file" id="picker">
<script src="/tus.min.js"></script>
<script type="module">
import init, * as wasm from "/npm/auraloader.js";
const exports = await init({ module_or_path: "/npm/auraloader_bg.wasm" });
window.wasmBytes = () => exports.memory.buffer.byteLength;
window.startBench = (client, o) => {
  const file = document.getElementById("picker").files[0];
  window.benchResult = null;
  const t0 = performance.now();
  const finish = (ok, error) => { window.benchResult = { ok, error, ms: performance.now() - t0 }; };
  if (client === "auraloader") {
    const run = wasm.startTusUploads({
      endpoint: o.endpoint, token: "bench", chunkSize: o.chunkSize, store: "memory",
      uploads: [{ blob: file, metadata: { filename: "bench.bin" } }],
    }, (e) => { if (e.type !== "overall" && e.type !== "progress") window.lastEvent = e; });
    window.diagnostics = () => run.diagnostics();
    run.done().then((outcomes) => {
      const r = outcomes[0];
      finish(r !== null && r.state === "completed", r && r.error);
    }, (e) => finish(false, String(e)));
  } else {
    const upload = new tus.Upload(file, {
      endpoint: o.endpoint, chunkSize: o.chunkSize, retryDelays: [0, 1000, 3000, 5000],
      storeFingerprintForResuming: false, metadata: { filename: "bench.bin" },
      onSuccess: () => finish(true, null),
      onError: (e) => finish(false, String(e)),
    });
    upload.start();
  }
  return file.size;
};
window.ready = true;
</script>`;

function writeSource(path) {
  const fd = openSync(path, "w");
  const block = 16 * MIB;
  for (let at = 0, i = 1; at < size; at += block, i++) {
    writeSync(fd, pseudoRandomBytes(Math.min(block, size - at), i));
  }
  closeSync(fd);
}

function sha256(path) {
  return new Promise((ok, fail) => {
    const hash = createHash("sha256");
    createReadStream(path).on("data", (d) => hash.update(d)).on("end", () => ok(hash.digest("hex"))).on("error", fail);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
  const tus = await startTusServer({ www, directory: store });
  closers.push(tus.close);
  const site = await startStatic({
    routes: { "/": PAGE, "/favicon.ico": "", "/tus.min.js": { file: join(www, "node_modules/tus-js-client/dist/tus.min.js") } },
    mounts: { "/npm/": join(dist, "npm") },
  });
  closers.push(site.close);
  browser = await launchChromium();
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => {
    errors.push(String(e));
    console.error(`bench tus: page error: ${e}`);
  });
  page.on("console", (m) => console.error(`bench tus: page console: ${m.text()}`));
  await page.goto(`${site.origin}/`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 60_000 });
  await page.setInputFiles("#picker", source);
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  const heap = async () => {
    const { metrics } = await cdp.send("Performance.getMetrics");
    return metrics.find((m) => m.name === "JSHeapUsedSize")?.value ?? 0;
  };

  const results = { auraloader: [], "tus-js-client": [] };
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? ["auraloader", "tus-js-client"] : ["tus-js-client", "auraloader"];
    for (const client of order) {
      await cdp.send("HeapProfiler.collectGarbage");
      await sleep(200);
      const heapBase = await heap();
      const wasmBase = await page.evaluate(() => window.wasmBytes());
      const picked = await page.evaluate(([c, o]) => window.startBench(c, o), [client, { endpoint: tus.url, chunkSize }]);
      if (picked !== size) throw new Error(`the page sees ${picked} bytes, not ${size}`);
      let heapPeak = heapBase;
      let wasmPeak = wasmBase;
      let result = null;
      const started = Date.now();
      while (result === null) {
        if (Date.now() - started > RUN_LIMIT_MS) throw new Error(`${client} did not finish within ${RUN_LIMIT_MS / 60_000} min`);
        await sleep(100);
        heapPeak = Math.max(heapPeak, await heap());
        const [wasmNow, done] = await page.evaluate(() => [window.wasmBytes(), window.benchResult]);
        wasmPeak = Math.max(wasmPeak, wasmNow);
        result = done;
        if (client === "auraloader" && (Date.now() - started) % 10_000 < 110) {
          console.error(`bench tus: ${client} running for ${Math.round((Date.now() - started) / 1000)} s; last event ${JSON.stringify(await page.evaluate(() => [window.lastEvent ?? null, window.diagnostics?.()]))}`);
        }
      }
      if (!result.ok) throw new Error(`${client} failed: ${result.error}`);
      const stored = readdirSync(store).filter((f) => !f.endsWith(".json"));
      if (stored.length !== 1) throw new Error(`expected one stored upload, found ${stored.length}`);
      const storedPath = join(store, stored[0]);
      const exact = statSync(storedPath).size === size && (await sha256(storedPath)) === sourceHash;
      for (const f of readdirSync(store)) unlinkSync(join(store, f));
      if (!exact) throw new Error(`${client}: the stored bytes differ from the source`);
      const entry = {
        ms: result.ms,
        mibPerSecond: size / MIB / (result.ms / 1000),
        heapBase,
        heapPeak,
        heapAbove: heapPeak - heapBase,
        wasmBase,
        wasmPeak,
      };
      results[client].push(entry);
      console.error(`bench tus: run ${run + 1} ${client}: ${entry.mibPerSecond.toFixed(1)} MiB/s, JS heap +${(entry.heapAbove / MIB).toFixed(1)} MiB, wasm ${(wasmPeak / MIB).toFixed(1)} MiB`);
    }
  }
  const version = (pkg) => JSON.parse(readFileSync(join(www, "node_modules", pkg, "package.json"), "utf8")).version;
  const output = {
    ok: errors.length === 0,
    errors,
    bytes: size,
    chunkSize,
    runs,
    chromium: browser.version(),
    node: process.version,
    versions: {
      "tus-js-client": version("tus-js-client"),
      "@tus/server": version("@tus/server"),
      "@tus/file-store": version("@tus/file-store"),
    },
    results,
  };
  console.log(`BENCH_RESULT ${JSON.stringify(output)}`);
} finally {
  await browser?.close().catch(() => {});
  for (const close of closers) await close().catch(() => {});
  rmSync(scratch, { recursive: true, force: true });
}
