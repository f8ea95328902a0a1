// `node www/bench/ui.mjs` (after `cargo xtask build --bench-api`): does the page stay
// responsive while the widget scans 2,000 files? Headless Chromium (the
// machine's, through www/tools/chromium.mjs; $CHROME names it) loads a page
// whose every request is answered by this script (no server, no network):
// the bench build's wasm module (target/bench-dist/npm, `cargo xtask build --bench-api`), the demo's sample-study generator and
// dicom-parser from www/node_modules, and a fake `GET /uploader/config`.
//
// In one page, on the same 2,000 generated files (2 series of 1,000
// synthetic 64×64 CT images, ~8 KiB each, in-memory `File`s), each run
// timed with a `longtask` PerformanceObserver:
//   1. the mounted widget: `addFiles()` until the review table shows
//      (scan + UI rendering, the whole "processing" step);
//   2. the bare scan (`scanFiles`, no UI), to show what the UI adds;
//   3. peer: dicom-parser (npm) reading each file and parsing up to Pixel
//      Data, 32 reads in flight, as a JS page using it would.
// Writes the "UI: responsiveness while scanning" section of BENCHMARKS.md.
// Numbers only: no attribute value is printed.
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { createRequire } from "node:module";
import { launchChromium } from "../tools/chromium.mjs";

const root = new URL("../../", import.meta.url);
const require = createRequire(new URL("www/package.json", root));
const RUNS = 3;
const PER_SERIES = 1000;

const files = {
  "/npm/auraloader.js": ["text/javascript", new URL("target/bench-dist/npm/auraloader.js", root)],
  "/npm/auraloader_bg.wasm": ["application/wasm", new URL("target/bench-dist/npm/auraloader_bg.wasm", root)],
  "/sample-study.js": ["text/javascript", new URL("www/demo/sample-study.js", root)],
  "/dicomParser.js": ["text/javascript", require.resolve("dicom-parser/dist/dicomParser.min.js")],
};

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ui bench</title>
<script src="/dicomParser.js"></script></head><body><div id="uploader"></div><pre id="result"></pre>
<script type="module">
import init, * as wasm from "/npm/auraloader.js";
import { sampleStudyFiles } from "/sample-study.js";
await init({ module_or_path: "/npm/auraloader_bg.wasm" });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function timed(fn) {
  const tasks = [];
  const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries()));
  observer.observe({ type: "longtask" });
  const start = performance.now();
  const outcome = await fn();
  const end = performance.now();
  await sleep(250);
  tasks.push(...observer.takeRecords());
  observer.disconnect();
  const inside = tasks.filter((t) => t.startTime + t.duration >= start && t.startTime <= end);
  return { ...outcome, ms: end - start, longTasks: inside.filter((t) => t.duration > 50).length,
    longestTaskMs: inside.reduce((m, t) => Math.max(m, t.duration), 0) };
}
const files = sampleStudyFiles({ perSeries: ${PER_SERIES} }).filter((f) => f.name !== "README.TXT");
const widget = new wasm.StandaloneAuraloader({ apiToken: "k", apiBaseUrl: location.origin + "/api",
  uploadToken: "aubt_bench", containerId: "uploader" });
await widget.init();
widget.mount();
await sleep(100);
const table = () => document.querySelector("#uploader .auraloader").shadowRoot.querySelector("tbody tr");
const readers = {
  widget: async () => {
    widget.reset();
    await sleep(50);
    await widget.addFiles(files);
    for (let i = 0; i < 500 && !table(); i++) await sleep(2);
    return { found: table() ? 1 : 0 };
  },
  scan: async () => {
    const report = await wasm.scanFiles(files, undefined, undefined);
    return { found: report.studies.length };
  },
  dicomParser: async () => {
    const studies = new Set();
    let next = 0;
    const pending = [];
    const start = (file) => file.arrayBuffer();
    for (let i = 0; i < files.length; i++) {
      while (pending.length < 32 && next < files.length) pending.push(start(files[next++]));
      const bytes = new Uint8Array(await pending.shift());
      const set = dicomParser.parseDicom(bytes, { untilTag: "x7fe00010" });
      studies.add(set.string("x0020000d"));
    }
    return { found: studies.size };
  },
};
const results = {};
for (const [name, run] of Object.entries(readers)) {
  await run(); // warm-up
  results[name] = [];
  for (let i = 0; i < ${RUNS}; i++) {
    results[name].push(await timed(run));
    await sleep(200);
  }
}
document.getElementById("result").textContent = JSON.stringify({ files: files.length,
  bytes: files.reduce((n, f) => n + f.size, 0), results });
document.body.dataset.done = "1";
</script></body></html>`;

const load = loadavg().map((l) => l.toFixed(2)).join(" / ");
const browser = await launchChromium();
let data;
let version;
try {
  version = browser.version();
  const page = await browser.newPage();
  page.setDefaultTimeout(300_000);
  await page.route("http://auraloader.bench/**", async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === "/") return route.fulfill({ contentType: "text/html", body: PAGE });
    if (path === "/api/uploader/config") {
      return route.fulfill({
        contentType: "application/json",
        body: JSON.stringify({ lift: { endpoint: "http://auraloader.bench/files/", token: "t.s", bucket: "b" }, mode: "bulk" }),
      });
    }
    const file = files[path];
    if (!file) return route.fulfill({ status: 404, body: "not found" });
    return route.fulfill({ contentType: file[0], body: readFileSync(file[1]) });
  });
  await page.goto("http://auraloader.bench/");
  await page.waitForSelector("body[data-done='1']");
  data = JSON.parse(await page.locator("#result").textContent());
} finally {
  await browser.close();
}

const median = (runs, key) => [...runs.map((r) => r[key])].sort((a, b) => a - b)[Math.floor(runs.length / 2)];
const row = (label, runs) => {
  const ms = median(runs, "ms");
  const longest = Math.max(...runs.map((r) => r.longestTaskMs));
  const over = runs.reduce((n, r) => n + r.longTasks, 0);
  return `| ${label} | ${(data.files / (ms / 1000)).toFixed(0)} | ${(ms / 1000).toFixed(3)} s | ${longest ? `${Math.round(longest)} ms` : "none over 50 ms"} | ${over} | ${runs.map((r) => Math.round(r.ms)).join(" / ")} ms |`;
};
const dicomParserVersion = JSON.parse(readFileSync(require.resolve("dicom-parser/package.json"), "utf8")).version;
const section = `## UI: responsiveness while scanning

Command: \`cargo xtask build --bench-api && node www/bench/ui.mjs\` (rerunning replaces this section). Date: ${new Date().toISOString().slice(0, 10)}.
Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? "unknown CPU"}, load average ${load} at the start
(other builds were running: numbers are noisy); Chromium ${version}, headless.

Input: ${data.files} in-memory \`File\`s (${(data.bytes / 1048576).toFixed(1)} MiB) of one synthetic
CT study made by the demo's sample generator (\`www/demo/sample-study.js\`, 2 series of
${PER_SERIES} 64×64 images), in one page with every request answered by the script. Each reader
is warmed up once, then run ${RUNS} times; the table shows the median wall time, and over all runs
the longest main-thread task and the count of tasks over 50 ms (\`PerformanceObserver\` type \`longtask\`).

| reader | files/s | wall time | longest task (all runs) | tasks over 50 ms (all runs) | runs |
| --- | ---: | ---: | --- | ---: | --- |
${row("auraloader widget: `addFiles()` until the review table shows (scan + UI)", data.results.widget)}
${row("auraloader `scanFiles` alone (no UI)", data.results.scan)}
${row(`dicom-parser ${dicomParserVersion}, untilTag x7fe00010, 32 reads in flight`, data.results.dicomParser)}

Target of issue 7: no task over 50 ms on the main thread while scanning 2,000 files.
`;

const path = new URL("BENCHMARKS.md", root);
let text = readFileSync(path, "utf8");
const start = text.indexOf("## UI: responsiveness while scanning");
if (start >= 0) {
  const next = text.indexOf("\n## ", start + 1);
  text = text.slice(0, start) + section + (next >= 0 ? text.slice(next + 1) : "");
} else {
  text = `${text.trimEnd()}\n\n${section}`;
}
writeFileSync(path, text);
console.log(section);
