// `node www/bench/scan_reads.mjs` (after `cargo xtask build --bench-api`): what reading
// the heads of 2,000 disk-backed `File`s costs in headless Chromium, by the
// way they are read: reads in flight, FileReader or arrayBuffer(), one read
// per head or one read of a Blob made of many heads, the main thread or Web
// Workers (how many, FileReaderSync), the head size, posting the Files to
// workers, making the head Blobs without reading them, the first look at a
// File's size, and auraloader's scanFiles beside them. It is how the scan's
// reads were chosen (src/browser/scan.rs); `cargo xtask bench scan` has the
// scan itself beside dicom-parser.
//
// The files: the same synthetic CT study as `cargo xtask bench scan` (2,000
// files of 512 KiB, made by `cargo xtask gen-study` into a temp dir), chosen
// in the page's `<input type=file multiple>` with playwright's setInputFiles
// (a local path, so the page gets disk-backed Files). Chromium ($CHROME, through
// www/tools/chromium.mjs) loads a page whose every request this script answers.
// Every way runs ROUNDS times, the ways interleaved round by round so that
// other work on the machine spreads over all of them; the table shows the
// median and the fastest run, and the CPU time Chromium's browser process and
// the page's renderer process (with its workers) spent in the median run.
// Writes the "Scan: what the head reads cost" section of BENCHMARKS.md.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { launchChromium } from "../tools/chromium.mjs";

const root = new URL("../../", import.meta.url);
const repo = root.pathname;
const ROUNDS = Math.max(1, Math.min(15, Number(process.env.ROUNDS ?? 5)));
const K = 1024;
const SECTION = "## Scan: what the head reads cost";

const serve = {
  "/npm/auraloader.js": ["text/javascript", new URL("target/bench-dist/npm/auraloader.js", root)],
  "/npm/auraloader_bg.wasm": ["application/wasm", new URL("target/bench-dist/npm/auraloader_bg.wasm", root)],
  "/scan_reads.js": ["text/javascript", new URL("www/bench/scan_reads.js", root)],
};
const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>head reads</title></head>
<body><input id="picker" type="file" multiple><p id="status">loading</p>
<script type="module" src="/scan_reads.js"></script></body></html>`;

// [label, way, params, fresh]: `fresh` ways run on a new selection of the files
// (new File objects the page has not looked at).
const main = "main thread";
const ways = [
  ["one `slice(0, 8 KiB).arrayBuffer()` per head, 1 in flight", main, "each", { inFlight: 1, bytes: 8 * K }],
  ["the same, 4 in flight", main, "each", { inFlight: 4, bytes: 8 * K }],
  ["the same, 16 in flight", main, "each", { inFlight: 16, bytes: 8 * K }],
  ["the same, 64 in flight", main, "each", { inFlight: 64, bytes: 8 * K }],
  ["the same with `FileReader.readAsArrayBuffer`, 16 in flight", main, "fileReader", { inFlight: 16, bytes: 8 * K }],
  ["one read of an empty slice per file (no file IO), 16 in flight", main, "empty", { inFlight: 16 }],
  ["one read of a Blob of 16 heads (8 KiB each), 2 in flight", main, "batch", { inFlight: 2, bytes: 8 * K, batch: 16 }],
  ["one read of a Blob of 32 heads, 2 in flight", main, "batch", { inFlight: 2, bytes: 8 * K, batch: 32 }],
  ["one read of a Blob of 64 heads, 2 in flight", main, "batch", { inFlight: 2, bytes: 8 * K, batch: 64 }],
  ["one read of a Blob of 256 heads, 2 in flight", main, "batch", { inFlight: 2, bytes: 8 * K, batch: 256 }],
  ["the 2,000 head Blobs alone (`slice()`, never read)", main, "slices", { bytes: 8 * K }],
  ["the first look at each File's size (a new selection)", main, "sizes", {}, true],
  ...[1, 2, 4].map((count) => [
    `one read of a Blob of 32 heads, 2 requests in flight per worker`,
    `${count} worker${count > 1 ? "s" : ""}`,
    "workers",
    { count, inFlight: 2, bytes: 8 * K, batch: 32, mode: "batch" },
  ]),
  ["one read of a Blob of 16 heads, 2 in flight per worker", "2 workers", "workers", { count: 2, inFlight: 2, bytes: 8 * K, batch: 16, mode: "batch" }],
  ["one read of a Blob of 64 heads, 2 in flight per worker", "2 workers", "workers", { count: 2, inFlight: 2, bytes: 8 * K, batch: 64, mode: "batch" }],
  ["one read of a Blob of 256 heads, 1 in flight per worker", "2 workers", "workers", { count: 2, inFlight: 1, bytes: 8 * K, batch: 256, mode: "batch" }],
  ["one `arrayBuffer()` per head, 32 files per request, 2 in flight per worker", "2 workers", "workers", { count: 2, inFlight: 2, bytes: 8 * K, batch: 32, mode: "each" }],
  ["one `FileReaderSync` read per head, 32 files per request, 2 in flight per worker", "2 workers", "workers", { count: 2, inFlight: 2, bytes: 8 * K, batch: 32, mode: "sync" }],
  ...[1, 4, 16, 64].map((kib) => [
    `one read of a Blob of 32 heads of ${kib} KiB, 2 in flight per worker`,
    "2 workers",
    "workers",
    { count: 2, inFlight: 2, bytes: kib * K, batch: 32, mode: "batch" },
  ]),
  ["the head Blobs alone (`slice()`, never read), 32 files per request", "2 workers", "workers", { count: 2, inFlight: 2, bytes: 8 * K, batch: 32, mode: "blobs" }],
  ["posting the Files, 32 per request (nothing read)", "2 workers", "workers", { count: 2, inFlight: 2, batch: 32, kind: "post" }],
  ["posting the Files of a new selection, 32 per request (nothing read)", "2 workers", "workers", { count: 2, inFlight: 2, batch: 32, kind: "post" }, true],
  ["auraloader `scanFiles` (its defaults)", "its workers", "scan", {}],
  ["auraloader `scanFiles`, 16 KiB first reads", "its workers", "scan", { firstRead: 16 * K }],
  ["auraloader `scanFiles`, 512-byte first reads (every file needs a second read; the first read widens)", "its workers", "scan", { firstRead: 512 }],
  ["auraloader `scanFiles` on a new selection (Files never looked at)", "its workers", "scan", {}, true],
  ["auraloader `scanFiles`, reads on the main thread", main, "scan", { workers: 0 }],
];

/** Writes the study like `cargo xtask bench scan` does; returns its folder. */
function generate(dir) {
  const run = spawnSync(
    "cargo",
    [
      "run", "--quiet", "--package", "xtask", "--", "gen-study", "--out", dir,
      // 2,000 files of 512 KiB, as `cargo xtask bench scan` writes them.
      "--studies", "1", "--series", "4", "--instances", "500", "--pixel-bytes", "523386",
      "--transfer-syntax", "explicit-le", "--seed", "1",
    ],
    { cwd: repo, encoding: "utf8", timeout: 600_000, stdio: ["ignore", "inherit", "inherit"] },
  );
  if (run.status !== 0) throw new Error("cargo xtask gen-study failed");
}

function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path).split("\\").join("/"));
    }
  };
  walk(dir);
  return out;
}

/** CPU time (ms) of this script's Chromium processes: the browser process,
 * the renderers (the page and its workers) and the others; empty without
 * /proc. */
function chromiumCpu() {
  const procs = new Map();
  let entries = [];
  try {
    entries = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
  } catch {
    return {};
  }
  for (const pid of entries) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      procs.set(Number(pid), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // gone
    }
  }
  const ours = (pid) => {
    for (let i = 0; i < 16 && pid; i++) {
      if (pid === process.pid) return true;
      pid = procs.get(pid)?.ppid;
    }
    return false;
  };
  const out = { browser: 0, renderer: 0, other: 0 };
  for (const [pid, p] of procs) {
    if (pid === process.pid || !ours(pid)) continue;
    let type = "browser";
    try {
      const match = readFileSync(`/proc/${pid}/cmdline`, "utf8").match(/--type=([a-z-]+)/);
      if (match) type = match[1] === "renderer" ? "renderer" : "other";
    } catch {
      continue;
    }
    out[type] += p.ticks * 10; // USER_HZ is 100 on Linux
  }
  return out;
}

const scratch = mkdtempSync(join(tmpdir(), "auraloader-scan-reads-"));
const data = join(scratch, "files");
let results;
let tuning;
let version;
const loadText = () => loadavg().map((l) => l.toFixed(2)).join(" / ");
const load = loadText();
let busiest = loadavg()[0];
try {
  generate(data);
  const list = filesUnder(data);
  const chosen = list.map((p) => join(data, p));
  const browser = await launchChromium();
  try {
    version = browser.version();
    const page = await browser.newPage();
    page.setDefaultTimeout(600_000);
    await page.route("http://auraloader.bench/**", async (route) => {
      const path = new URL(route.request().url()).pathname;
      if (path === "/") return route.fulfill({ contentType: "text/html", body: PAGE });
      const file = serve[path];
      if (!file) return route.fulfill({ status: 404, body: "not found" });
      return route.fulfill({ contentType: file[0], body: readFileSync(file[1]) });
    });
    await page.goto("http://auraloader.bench/");
    await page.waitForFunction(() => document.getElementById("status").textContent === "ready");
    const choose = async () => {
      await page.locator("#picker").setInputFiles(chosen);
      await page.evaluate((m) => window.sweep.take(m), list);
    };
    await choose();
    tuning = await page.evaluate(() => window.sweep.loadWasm());
    // The files have been looked at once (a warm-up of every way on 8 files
    // does that for them too); the "new selection" ways choose them again.
    await page.evaluate(() => window.sweep.run("sizes", {}, true));
    results = ways.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [label, , name, params, fresh]] of ways.entries()) {
        if (fresh) await choose();
        const before = chromiumCpu();
        const run = await page.evaluate(([n, p, f]) => window.sweep.run(n, p, f), [name, params, !!fresh]);
        const after = chromiumCpu();
        const cpu = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]));
        results[i].push({ ...run, cpu });
        process.stdout.write(`round ${round + 1}/${ROUNDS}: ${label}: ${run.ms.toFixed(0)} ms\n`);
        busiest = Math.max(busiest, loadavg()[0]);
        // After a run on a new selection, the page has looked at its Files.
      }
    }
  } finally {
    await browser.close();
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const loadAtEnd = loadText();
busiest = Math.max(busiest, loadavg()[0]);
const busy = busiest > cpus().length
  ? ". A 1-minute load average above the CPU count: other work ran beside it, so the numbers are noisy (compare\nthe rows, which ran interleaved)"
  : "";
const FILES = 2000;
const byMedian = (runs) => [...runs].sort((a, b) => a.ms - b.ms)[Math.floor(runs.length / 2)];
const med = (i) => byMedian(results[i]).ms;
const index = (label, where) => ways.findIndex((w) => w[0] === label && (where === undefined || w[1] === where));
const rows = ways.map(([label, where], i) => {
  const runs = results[i];
  const m = byMedian(runs);
  const fastest = Math.min(...runs.map((r) => r.ms));
  const longest = Math.max(...runs.map((r) => r.longestTaskMs));
  const cpu = (k) => (m.cpu[k] === undefined ? "n/a" : `${m.cpu[k]} ms`);
  return `| ${label} | ${where} | ${(m.ms / 1000).toFixed(3)} s | ${(fastest / 1000).toFixed(3)} s | ${(m.ms / FILES).toFixed(3)} ms | ${(m.bytes / 1048576).toFixed(1)} MiB | ${cpu("browser")} | ${cpu("renderer")} | ${longest > 50 ? `${longest} ms` : "none over 50 ms"} |`;
});
const ratio = (a, b) => (med(b) > 0 ? (med(a) / med(b)).toFixed(2) : "?");
const each4 = index("the same, 4 in flight");
const each16 = index("the same, 16 in flight");
const each64 = index("the same, 64 in flight");
const each1 = index("one `slice(0, 8 KiB).arrayBuffer()` per head, 1 in flight");
const batch32main = index("one read of a Blob of 32 heads, 2 in flight");
const w = (count) => index("one read of a Blob of 32 heads, 2 requests in flight per worker", `${count} worker${count > 1 ? "s" : ""}`);
const size = (kib) => index(`one read of a Blob of 32 heads of ${kib} KiB, 2 in flight per worker`);
const slicesMain = index("the 2,000 head Blobs alone (`slice()`, never read)");
const sizesFresh = index("the first look at each File's size (a new selection)");
const scanDefault = index("auraloader `scanFiles` (its defaults)");
const scanSmall = index("auraloader `scanFiles`, 512-byte first reads (every file needs a second read; the first read widens)");
const postSeen = index("posting the Files, 32 per request (nothing read)");
const postFresh = index("posting the Files of a new selection, 32 per request (nothing read)");

const section = `${SECTION}

Command: \`cargo xtask build --bench-api && node www/bench/scan_reads.mjs\` (rerunning replaces this section; \`ROUNDS=n\` for
other than 5 rounds). Date: ${new Date().toISOString().slice(0, 10)}.
Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? "unknown CPU"}, load average ${load} at the start and
${loadAtEnd} at the end${busy}; Chromium ${version}, headless.

How the scan's reads were chosen. The files are those of the scan section above (2,000 synthetic CT files
of 512 KiB, headers under 1 KiB), chosen in the page's \`<input type=file multiple>\` by a local path, so the
page gets disk-backed \`File\`s. Each way reads the first bytes of every file (8 KiB unless said) and does
nothing with them. The ways run ${ROUNDS} times, interleaved round by round; "median" and "fastest" are
over the rounds, "per file" is the median over 2,000, CPU is what Chromium's browser process and the page's
renderer (its main thread and workers) spent in the median run (\`/proc\`). Unless the row says "a new
selection", the page has looked at the Files before. auraloader's defaults here: ${tuning.batch} files per
request, ${tuning.inFlight} requests in flight per worker, ${tuning.firstRead / K} KiB first reads, ${tuning.workers} workers.

| way | where | median | fastest | per file | bytes read | browser process CPU | renderer CPU | longest main-thread task |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
${rows.join("\n")}

What it shows, as ratios of medians (each below 1 is a gain):
- reads in flight on the main thread, one read per head: 4 over 1 in flight ${ratio(each4, each1)}, 16 over 4
  ${ratio(each16, each4)}, 64 over 16 ${ratio(each64, each16)};
- one read of a Blob of 32 heads over one read per head (16 in flight), main thread: ${ratio(batch32main, each16)};
- workers for the batched reads: 2 over 1 ${ratio(w(2), w(1))}, 4 over 2 ${ratio(w(4), w(2))};
- head size, batched reads in 2 workers: 16 KiB over 8 KiB ${ratio(size(16), w(2))}, 64 KiB over 8 KiB ${ratio(size(64), w(2))},
  1 KiB over 8 KiB ${ratio(size(1), w(2))};
- making the 2,000 head Blobs on the main thread, with no read, took ${(med(slicesMain) / FILES).toFixed(3)} ms per file, in one
  task (each \`slice()\` waits for the browser process), and the first look at a new selection's sizes
  ${(med(sizesFresh) / FILES).toFixed(3)} ms per file; posting 2,000 Files already looked at to workers took ${med(postSeen).toFixed(0)} ms, a new
  selection's ${med(postFresh).toFixed(0)} ms (the post makes Chromium stat them);
- \`scanFiles\` when every file needs a second read (512-byte first reads, so the first read widens after a
  few batches) over its defaults: ${ratio(scanSmall, scanDefault)}.
`;

const path = new URL("BENCHMARKS.md", root);
let text = readFileSync(path, "utf8");
const start = text.indexOf(SECTION);
if (start >= 0) {
  const next = text.indexOf("\n## ", start + 1);
  text = text.slice(0, start) + section + (next >= 0 ? text.slice(next + 1) : "");
} else {
  // After the scan section.
  const scan = text.indexOf("## Scan: finding the studies in a folder");
  const next = scan >= 0 ? text.indexOf("\n## ", scan + 1) : -1;
  text = next >= 0 ? `${text.slice(0, next + 1)}${section}\n${text.slice(next + 1)}` : `${text.trimEnd()}\n\n${section}`;
}
writeFileSync(path, text);
console.log(section);
