// The browser half of `cargo xtask bench scan` (bundled by esbuild with
// dicom-parser; the wasm glue is loaded from the built npm package at /npm/).
//
// 1. Waits for the files: the xtask selects them in #picker through
//    WebDriver, so they are the disk-backed `File` objects a user's drop or
//    file picker gives the widget. Checks them against manifest.json.
// 2. Warms each reader up on one file (wasm compilation, JIT), recording the
//    first scanFiles call, then times each reader `runs` times:
//    auraloader's scanFiles (head reads in its Web Workers), and with the
//    reads on the main thread (scanFilesWith {workers: 0}); the bare head
//    reads (slice(0, 16 KiB) and arrayBuffer(), no parsing: the browser's
//    floor for one read per file), on the main thread and in as many workers
//    as auraloader uses (arrayBuffer() per file, FileReaderSync per file, or
//    one arrayBuffer() of a Blob made of a batch's 16 heads, as auraloader's
//    workers do);
//    dicom-parser's full parse; dicom-parser with untilTag x7fe00010. The
//    dicom-parser runs read each file with file.arrayBuffer() inside the
//    timed region, as a page using it would. Every reader keeps 32 reads in
//    flight, as auraloader's driver does.
// 3. Writes the results as JSON into #result (data-done="1").
//
// Nothing here prints attribute values: only counts, bytes and times.

import dicomParser from "dicom-parser";

const READS_IN_FLIGHT = 32; // as auraloader's scan driver (READS_IN_FLIGHT)
const HEAD_BYTES = 16 * 1024; // auraloader's SUGGESTED_FIRST_READ
const status = document.getElementById("status");
const result = document.getElementById("result");
const picker = document.getElementById("picker");
const params = new URLSearchParams(location.search);
const runs = Math.max(1, Math.min(10, Number(params.get("runs") || 3)));

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
    // [start after the run began, duration] of each long task, in ms.
    tasks: inside.map((t) => [Math.round(t.startTime - start), Math.round(t.duration)]),
  };
}

/** Calls `consume` with each file's bytes (`read(file)`), in order, with
 * READS_IN_FLIGHT reads in flight. */
async function eachRead(files, read, consume) {
  const pending = [];
  let next = 0;
  for (let i = 0; i < files.length; i++) {
    while (pending.length < READS_IN_FLIGHT && next < files.length) {
      pending.push(read(files[next++]));
    }
    consume(new Uint8Array(await pending.shift()));
  }
}

const TAGS = [
  "x00100010", "x00100020", "x00080020", "x00080060", "x00081030", "x0008103e",
  "x0020000d", "x0020000e", "x00080018", "x00080016", "x00280008",
];

async function dicomParserRun(files, options) {
  let bytesRead = 0;
  let instances = 0;
  let failed = 0;
  const studies = new Set();
  await eachRead(files, (file) => file.arrayBuffer(), (bytes) => {
    bytesRead += bytes.byteLength;
    try {
      const dataSet = dicomParser.parseDicom(bytes, options);
      const values = TAGS.map((tag) => dataSet.string(tag));
      if (values[6] && values[7] && values[8]) {
        instances += 1;
        studies.add(values[6]);
      } else {
        failed += 1;
      }
    } catch {
      failed += 1;
    }
  });
  return { bytesRead, instances, studies: studies.size, skipped: failed };
}

async function headReadsRun(files) {
  let bytesRead = 0;
  await eachRead(files, (file) => file.slice(0, HEAD_BYTES).arrayBuffer(), (bytes) => {
    bytesRead += bytes.byteLength;
  });
  return { bytesRead, instances: null, studies: null, skipped: null };
}

// The floor with the reads in Web Workers: each worker reads the heads of a
// batch of files and transfers the buffers back (as auraloader's workers do),
// with `arrayBuffer()` or with FileReaderSync.
const WORKER_BATCH = 16;
const floorWorkerScript = `
self.onmessage = async (event) => {
  const { id, files, bytes, sync, composite } = event.data;
  let buffers;
  if (composite) {
    const slices = files.map((f) => f.slice(0, Math.min(f.size, bytes)));
    const all = await new Blob(slices).arrayBuffer();
    let at = 0;
    buffers = slices.map((s) => all.slice(at, (at += s.size)));
  } else if (sync) {
    const reader = new FileReaderSync();
    buffers = files.map((f) => reader.readAsArrayBuffer(f.slice(0, Math.min(f.size, bytes))));
  } else {
    buffers = await Promise.all(files.map((f) => f.slice(0, Math.min(f.size, bytes)).arrayBuffer()));
  }
  self.postMessage({ id, buffers }, buffers);
};`;
let floorWorkers = null;
function startFloorWorkers() {
  if (floorWorkers) return floorWorkers;
  const url = URL.createObjectURL(new Blob([floorWorkerScript], { type: "text/javascript" }));
  const count = Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2));
  floorWorkers = Array.from({ length: count }, () => {
    const worker = new Worker(url);
    const waiting = new Map();
    worker.onmessage = (event) => {
      waiting.get(event.data.id)(event.data.buffers);
      waiting.delete(event.data.id);
    };
    return { worker, waiting, busy: 0 };
  });
  return floorWorkers;
}
let nextRequest = 0;
function workerHeads(files, sync, composite) {
  const pool = startFloorWorkers();
  const target = pool.reduce((a, b) => (b.busy < a.busy ? b : a));
  const id = nextRequest++;
  target.busy += 1;
  return new Promise((resolve) => {
    target.waiting.set(id, (buffers) => {
      target.busy -= 1;
      resolve(buffers);
    });
    target.worker.postMessage({ id, files, bytes: HEAD_BYTES, sync, composite });
  });
}

async function workerHeadReadsRun(files, sync, composite = false) {
  let bytesRead = 0;
  const pool = startFloorWorkers();
  const batches = [];
  for (let i = 0; i < files.length; i += WORKER_BATCH) batches.push(files.slice(i, i + WORKER_BATCH));
  const inFlight = pool.length * 3;
  const pending = [];
  let next = 0;
  for (let i = 0; i < batches.length; i++) {
    while (pending.length < inFlight && next < batches.length) pending.push(workerHeads(batches[next++], sync, composite));
    for (const buffer of await pending.shift()) bytesRead += buffer.byteLength;
  }
  return { bytesRead, instances: null, studies: null, skipped: null };
}

async function auraloaderRun(scanFiles, files, paths) {
  const report = await scanFiles(files, paths, () => {});
  return {
    bytesRead: report.bytesRead,
    instances: report.studies.reduce((n, s) => n + s.images, 0),
    studies: report.studies.length,
    skipped: report.skipped.length,
  };
}

async function main() {
  const manifest = await (await fetch("manifest.json")).json();
  const wasm = await import("/npm/auraloader.js");
  await wasm.default({ module_or_path: "/npm/auraloader_bg.wasm" });
  status.textContent = "waiting for files";
  await new Promise((resolve) => picker.addEventListener("change", resolve, { once: true }));
  const files = Array.from(picker.files);
  const paths = manifest.files.map((f) => f.path);
  if (files.length !== paths.length) {
    throw new Error(`${files.length} files selected, ${paths.length} in the manifest`);
  }
  files.forEach((file, i) => {
    const entry = manifest.files[i];
    if (file.size !== entry.size || file.name !== entry.path.split("/").pop()) {
      throw new Error(`file ${i} is ${file.name} (${file.size} bytes), expected ${entry.path}`);
    }
  });
  const bytesTotal = manifest.files.reduce((n, f) => n + f.size, 0);

  const firstCallStart = performance.now();
  await wasm.scanFiles([files[0]], [paths[0]], () => {});
  const firstScanCallMs = performance.now() - firstCallStart;

  const readers = [
    ["auraloader scanFiles", (list) => auraloaderRun(wasm.scanFiles, list, paths.slice(0, list.length))],
    [
      "auraloader scanFiles, main thread",
      (list) =>
        auraloaderRun((f, p, cb) => wasm.scanFilesWith(f, p, cb, { workers: 0 }), list, paths.slice(0, list.length)),
    ],
    ["head reads only", (list) => headReadsRun(list)],
    ["head reads only, workers", (list) => workerHeadReadsRun(list, false)],
    ["head reads only, workers, FileReaderSync", (list) => workerHeadReadsRun(list, true)],
    ["head reads only, workers, one read per batch", (list) => workerHeadReadsRun(list, false, true)],
    ["dicom-parser full parse", (list) => dicomParserRun(list, {})],
    ["dicom-parser untilTag x7fe00010", (list) => dicomParserRun(list, { untilTag: "x7fe00010" })],
  ];
  const results = [];
  for (const [name, run] of readers) {
    await run(files.slice(0, 1)); // warm-up
    const measured = [];
    for (let r = 0; r < runs; r++) {
      status.textContent = `${name}: run ${r + 1} of ${runs}`;
      await sleep(200);
      measured.push(await timed(() => run(files)));
    }
    const times = measured.map((m) => m.ms).sort((a, b) => a - b);
    const last = measured[measured.length - 1];
    results.push({
      name,
      runsMs: measured.map((m) => m.ms),
      medianMs: times[Math.floor(times.length / 2)],
      bytesRead: last.bytesRead,
      instances: last.instances,
      studies: last.studies,
      skipped: last.skipped,
      longTasks: Math.max(...measured.map((m) => m.longTasks)),
      longTasksPerRun: measured.map((m) => m.tasks),
      longestTaskMs: Math.max(...measured.map((m) => m.longestTaskMs)),
    });
  }
  return {
    ok: true,
    files: files.length,
    bytesTotal,
    runs,
    firstScanCallMs,
    hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
    results,
  };
}

main()
  .catch((error) => ({ ok: false, error: String(error && error.stack ? error.stack : error) }))
  .then((outcome) => {
    status.textContent = outcome.ok ? "done" : "failed";
    result.textContent = JSON.stringify(outcome, null, 2);
    result.dataset.done = "1";
  });
