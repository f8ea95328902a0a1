// The browser half of `cargo xtask bench scan` (bundled by esbuild with
// dicom-parser; the wasm glue is loaded from the built npm package at /npm/).
//
// 1. Waits for the files: the xtask selects them in #picker, and again in one
//    more picker per run (#fresh1…), through WebDriver, so they are the
//    disk-backed `File` objects a user's drop or file picker gives the widget.
//    Checks #picker's against manifest.json (the first look at each File's
//    size, timed: Chromium asks the browser process to stat the file then);
//    the other pickers' Files are not looked at before their run.
// 2. Times `warmScan()` (what the widget's mount() runs: starts the workers,
//    scans one in-memory file so V8 compiles the scan code), then the first
//    scanFiles call on one file; warms each reader up on one file, then times
//    each reader `runs` times:
//    - auraloader's scanFiles (head reads in its Web Workers), and with the
//      reads on the main thread (scanFilesWith {workers: 0}); scanFiles on
//      Files never looked at before (run r scans #fresh<r>'s), as a user's
//      first scan of a picker's files is;
//    - floors, no parsing, the reads shaped as scanFiles shapes them
//      (scanTuning(): files per request, requests in flight, first read,
//      workers): the head Blobs alone (`file.slice()` and the Blob of a
//      batch's heads, never read), one read of a Blob of a batch's heads in
//      workers and on the main thread, and one `slice().arrayBuffer()` per
//      file on the main thread (32 in flight) and in workers;
//    - dicom-parser's full parse; dicom-parser with untilTag x7fe00010. They
//      read each file with file.arrayBuffer() inside the timed region, as a
//      page using it would, 32 reads in flight.
// 3. Writes the results as JSON into #result (data-done="1").
//
// Nothing here prints attribute values: only counts, bytes and times.

import dicomParser from "dicom-parser";

const READS_IN_FLIGHT = 32; // per-file readers: reads in flight
let tuning = { batch: 128, inFlight: 1, firstRead: 16 * 1024, workers: 2 }; // from scanTuning()
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
  await eachRead(files, (file) => file.slice(0, tuning.firstRead).arrayBuffer(), (bytes) => {
    bytesRead += bytes.byteLength;
  });
  return { bytesRead, instances: null, studies: null, skipped: null };
}

// The floors in Web Workers: each worker gets a batch of files and makes
// their head Blobs (`slice`), then, by `mode`: "blobs" also makes the Blob of
// all the heads and reads nothing; "batch" reads that Blob with one
// arrayBuffer() and transfers it back (as auraloader's workers do); "each"
// reads every head with its own arrayBuffer() and transfers them back.
const floorWorkerScript = `
self.onmessage = async (event) => {
  const { id, files, bytes, mode } = event.data;
  const slices = files.map((f) => f.slice(0, bytes));
  let buffers = [];
  if (mode === "blobs") {
    new Blob(slices);
  } else if (mode === "batch") {
    buffers = [await new Blob(slices).arrayBuffer()];
  } else {
    buffers = await Promise.all(slices.map((s) => s.arrayBuffer()));
  }
  self.postMessage({ id, buffers }, buffers);
};`;
let floorWorkers = null;
function startFloorWorkers() {
  if (floorWorkers) return floorWorkers;
  const url = URL.createObjectURL(new Blob([floorWorkerScript], { type: "text/javascript" }));
  floorWorkers = Array.from({ length: Math.max(1, tuning.workers) }, () => {
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
function workerHeads(files, mode) {
  const pool = startFloorWorkers();
  const target = pool.reduce((a, b) => (b.busy < a.busy ? b : a));
  const id = nextRequest++;
  target.busy += 1;
  return new Promise((resolve) => {
    target.waiting.set(id, (buffers) => {
      target.busy -= 1;
      resolve(buffers);
    });
    target.worker.postMessage({ id, files, bytes: tuning.firstRead, mode });
  });
}

/** Calls `consume` with each batch's answer, in order, with `inFlight`
 * batches of `tuning.batch` files under way (`read(batch)` starts one). */
async function eachBatch(files, inFlight, read, consume) {
  const pending = [];
  let next = 0;
  while (next < files.length || pending.length > 0) {
    while (pending.length < inFlight && next < files.length) {
      pending.push(read(files.slice(next, next + tuning.batch)));
      next += tuning.batch;
    }
    consume(await pending.shift());
  }
}

async function workerFloorRun(files, mode) {
  let bytesRead = 0;
  const inFlight = startFloorWorkers().length * tuning.inFlight;
  await eachBatch(files, inFlight, (batch) => workerHeads(batch, mode), (buffers) => {
    for (const buffer of buffers) bytesRead += buffer.byteLength;
  });
  return { bytesRead, instances: null, studies: null, skipped: null };
}

async function mainBatchFloorRun(files) {
  let bytesRead = 0;
  const read = (batch) => new Blob(batch.map((f) => f.slice(0, tuning.firstRead))).arrayBuffer();
  await eachBatch(files, tuning.inFlight, read, (buffer) => {
    bytesRead += buffer.byteLength;
  });
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
  const fresh = [];
  for (let r = 1; r <= runs; r++) {
    const input = document.createElement("input");
    Object.assign(input, { type: "file", multiple: true, id: `fresh${r}` });
    picker.after(input);
    fresh.push(input);
  }
  status.textContent = "waiting for files";
  const paths = manifest.files.map((f) => f.path);
  for (let i = 0; i < 600 && [picker, ...fresh].some((p) => p.files.length < paths.length); i++) await sleep(100);
  const files = Array.from(picker.files);
  const freshFiles = fresh.map((input) => Array.from(input.files));
  freshFiles.forEach((list) => {
    // Names only: a look at the size would make the browser stat the file.
    if (list.length !== paths.length || list.some((f, i) => f.name !== files[i].name)) {
      throw new Error("a fresh picker holds other files than #picker");
    }
  });
  if (files.length !== paths.length) {
    throw new Error(`${files.length} files selected, ${paths.length} in the manifest`);
  }
  const sizesStart = performance.now();
  files.forEach((file, i) => {
    const entry = manifest.files[i];
    if (file.size !== entry.size || file.name !== entry.path.split("/").pop()) {
      throw new Error(`file ${i} is ${file.name} (${file.size} bytes), expected ${entry.path}`);
    }
  });
  const firstSizesMs = performance.now() - sizesStart;
  const bytesTotal = manifest.files.reduce((n, f) => n + f.size, 0);

  const warmStart = performance.now();
  const warmed = await wasm.warmScan();
  const warmScanMs = performance.now() - warmStart;
  const firstCallStart = performance.now();
  await wasm.scanFiles([files[0]], [paths[0]], () => {});
  const firstScanCallMs = performance.now() - firstCallStart;
  tuning = await wasm.scanTuning();

  const readers = [
    ["auraloader scanFiles", (list) => auraloaderRun(wasm.scanFiles, list, paths.slice(0, list.length))],
    [
      "auraloader scanFiles, main thread",
      (list) =>
        auraloaderRun((f, p, cb) => wasm.scanFilesWith(f, p, cb, { workers: 0 }), list, paths.slice(0, list.length)),
    ],
    [
      "auraloader scanFiles, Files never looked at",
      (list, run) => auraloaderRun(wasm.scanFiles, run >= 0 ? freshFiles[run] : list, paths.slice(0, list.length)),
    ],
    ["floor: head Blobs only, workers", (list) => workerFloorRun(list, "blobs")],
    ["floor: batched head reads, workers", (list) => workerFloorRun(list, "batch")],
    ["floor: batched head reads, main thread", (list) => mainBatchFloorRun(list)],
    ["floor: one read per file, main thread", (list) => headReadsRun(list)],
    ["floor: one read per file, workers", (list) => workerFloorRun(list, "each")],
    ["dicom-parser full parse", (list) => dicomParserRun(list, {})],
    ["dicom-parser untilTag x7fe00010", (list) => dicomParserRun(list, { untilTag: "x7fe00010" })],
  ];
  const results = [];
  for (const [name, run] of readers) {
    await run(files.slice(0, 1), -1); // warm-up
    const measured = [];
    for (let r = 0; r < runs; r++) {
      status.textContent = `${name}: run ${r + 1} of ${runs}`;
      await sleep(200);
      measured.push(await timed(() => run(files, r)));
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
    firstSizesMs,
    warmScanMs,
    warmed,
    firstScanCallMs,
    tuning,
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
