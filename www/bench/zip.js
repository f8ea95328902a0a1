// The browser half of `cargo xtask bench zip` (bundled by esbuild with
// @zip.js/zip.js and fflate; the wasm glue is loaded from the built npm
// package at /npm/).
//
// 1. Waits for the files: the xtask selects them in #picker through
//    WebDriver, so they are disk-backed `File` objects, as from a user's drop.
//    manifest.json splits them into sets (CT-like, small files, JPEG) and
//    says each file's zip method (what `Compression::Auto` picks for its
//    transfer syntax).
// 2. For each set, times `runs` runs of each zipper on the same files:
//    auraloader's prepareStudy in its Web Workers and on the main thread,
//    zip.js (ZipWriter + BlobReader, its defaults: level 5, web workers and
//    the browser's CompressionStream where available, all files added at
//    once) and fflate (`zipSync`, its default level 6, on the page's
//    thread, files read with arrayBuffer() inside the timed region; its
//    async `zip` starts one worker per file, which overloads a small
//    machine with hundreds of files). Each run records wall time,
//    archive bytes, the longest main-thread task (PerformanceObserver
//    `longtask`), the page's wasm memory and the workers' peak wasm memory.
// 3. The memory point: a 2 GiB study made of the CT-like files repeated
//    under distinct names (a synthetic source: the same disk-backed Files
//    read again), prepared once by auraloader's workers.
// 4. Writes the results as JSON into #result (data-done="1").
//
// Nothing here prints file content: only counts, bytes and times.

import { ZipWriter, BlobWriter, BlobReader } from "@zip.js/zip.js";
import { zipSync } from "fflate";

const status = document.getElementById("status");
const result = document.getElementById("result");
const picker = document.getElementById("picker");
const params = new URLSearchParams(location.search);
const runs = Math.max(1, Math.min(10, Number(params.get("runs") || 3)));
const bigBytes = Number(params.get("bigBytes") || 0);
const peers = params.get("peers") !== "0";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `fn` with a long-task observer; returns its result, time and long tasks. */
async function timed(fn) {
  const tasks = [];
  const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries()));
  observer.observe({ type: "longtask" });
  const start = performance.now();
  const outcome = await fn();
  const end = performance.now();
  await sleep(250); // long-task entries are delivered after the task
  tasks.push(...observer.takeRecords());
  observer.disconnect();
  const inside = tasks.filter((t) => t.startTime + t.duration >= start && t.startTime <= end);
  return {
    ...outcome,
    ms: end - start,
    longTasks: inside.length,
    longestTaskMs: inside.reduce((max, t) => Math.max(max, t.duration), 0),
  };
}

let wasmExports = null;
let wasm = null;
const memoryNow = () => wasmExports.memory.buffer.byteLength;
const heapNow = () => (performance.memory ? performance.memory.usedJSHeapSize : 0);

async function auraloaderRun(set, workers) {
  const options = workers ? {} : { workers: 0 };
  const prepared = await wasm.prepareStudy(set.files, set.names, set.methods, options);
  const archive = prepared.blob(0, prepared.length);
  const out = {
    bytesOut: archive.size,
    predicted: prepared.length,
    workers: prepared.workers,
    workerPeakMemory: prepared.workerPeakMemory,
  };
  prepared.free();
  return out;
}

async function zipjsRun(set) {
  const writer = new ZipWriter(new BlobWriter("application/zip"));
  await Promise.all(set.files.map((file, i) => writer.add(set.names[i], new BlobReader(file))));
  const blob = await writer.close();
  return { bytesOut: blob.size };
}

async function fflateRun(set) {
  const buffers = await Promise.all(set.files.map((file) => file.arrayBuffer()));
  const input = {};
  buffers.forEach((buffer, i) => {
    input[set.names[i]] = new Uint8Array(buffer);
  });
  const archive = zipSync(input);
  return { bytesOut: archive.byteLength };
}

async function main() {
  const manifest = await (await fetch("manifest.json")).json();
  wasm = await import("/npm/auraloader.js");
  wasmExports = await wasm.default({ module_or_path: "/npm/auraloader_bg.wasm" });
  const initialMemory = memoryNow();
  status.textContent = "waiting for files";
  await new Promise((resolve) => picker.addEventListener("change", resolve, { once: true }));
  const files = Array.from(picker.files);
  const listed = manifest.sets.flatMap((s) => s.files);
  if (files.length !== listed.length) {
    throw new Error(`${files.length} files selected, ${listed.length} in the manifest`);
  }
  let at = 0;
  const sets = manifest.sets.map((s) => {
    const set = {
      name: s.name,
      files: files.slice(at, at + s.files.length),
      names: s.files.map((f) => f.path),
      methods: s.files.map((f) => f.method),
      bytesIn: s.files.reduce((n, f) => n + f.size, 0),
    };
    set.files.forEach((file, i) => {
      if (file.size !== s.files[i].size) throw new Error(`file ${at + i} has the wrong size`);
    });
    at += s.files.length;
    return set;
  });

  // Warm-up: wasm compilation, worker start, JIT of every zipper.
  const first = { name: "warm-up", files: [sets[0].files[0]], names: ["a"], methods: ["deflated"] };
  const firstStart = performance.now();
  await auraloaderRun(first, true);
  const firstPrepareMs = performance.now() - firstStart;
  await auraloaderRun(first, false);
  await zipjsRun(first);
  await fflateRun(first);

  const zippers = [
    ["auraloader workers", (set) => auraloaderRun(set, true)],
    ["auraloader main thread", (set) => auraloaderRun(set, false)],
    ...(peers
      ? [
          ["zip.js", zipjsRun],
          ["fflate", fflateRun],
        ]
      : []),
  ];
  const results = [];
  for (const set of sets) {
    for (const [name, run] of zippers) {
      const measured = [];
      for (let r = 0; r < runs; r++) {
        status.textContent = `${set.name}, ${name}: run ${r + 1} of ${runs}`;
        await sleep(200);
        const heapBefore = heapNow();
        const m = await timed(() => run(set));
        m.heapGrowth = heapNow() - heapBefore;
        m.memory = memoryNow();
        measured.push(m);
      }
      const times = measured.map((m) => m.ms).sort((a, b) => a - b);
      const last = measured[measured.length - 1];
      results.push({
        set: set.name,
        name,
        files: set.files.length,
        bytesIn: set.bytesIn,
        bytesOut: last.bytesOut,
        predicted: last.predicted ?? null,
        sameSizeEveryRun: measured.every((m) => m.bytesOut === last.bytesOut),
        runsMs: measured.map((m) => m.ms),
        medianMs: times[Math.floor(times.length / 2)],
        longTasks: Math.max(...measured.map((m) => m.longTasks)),
        longestTaskMs: Math.max(...measured.map((m) => m.longestTaskMs)),
        workers: last.workers ?? null,
        workerPeakMemory: Math.max(...measured.map((m) => m.workerPeakMemory ?? 0)),
        pageWasmMemory: Math.max(...measured.map((m) => m.memory)),
      });
    }
  }

  let big = null;
  if (bigBytes > 0) {
    const base = sets[0];
    const big_set = { name: "big", files: [], names: [], methods: [], bytesIn: 0 };
    for (let copy = 0; big_set.bytesIn < bigBytes && copy < 10_000; copy++) {
      base.files.forEach((file, i) => {
        big_set.files.push(file);
        big_set.names.push(`copy${copy}/${base.names[i]}`);
        big_set.methods.push(base.methods[i]);
        big_set.bytesIn += file.size;
      });
    }
    status.textContent = `big study: ${big_set.files.length} files`;
    await sleep(200);
    const before = memoryNow();
    const m = await timed(() => auraloaderRun(big_set, true));
    big = {
      files: big_set.files.length,
      bytesIn: big_set.bytesIn,
      bytesOut: m.bytesOut,
      ms: m.ms,
      longTasks: m.longTasks,
      longestTaskMs: m.longestTaskMs,
      pageWasmMemoryBefore: before,
      pageWasmMemoryAfter: memoryNow(),
      workerPeakMemory: m.workerPeakMemory,
      workers: m.workers,
    };
  }
  return {
    ok: true,
    runs,
    initialMemory,
    firstPrepareMs,
    hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
    results,
    big,
  };
}

main()
  .catch((error) => ({ ok: false, error: String(error && error.stack ? error.stack : error) }))
  .then((outcome) => {
    status.textContent = outcome.ok ? "done" : "failed";
    result.textContent = JSON.stringify(outcome, null, 2);
    result.dataset.done = "1";
  });
