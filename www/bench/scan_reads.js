// The page of `node www/bench/scan_reads.mjs`: ways to read the heads of the
// same disk-backed `File`s, each timed on its own (see the driver for what
// is measured and why). `window.sweep.run(name, params)` runs one way over
// all files and answers {ms, bytes, longestTaskMs}; nothing here looks at
// a file's content.

const picker = document.getElementById("picker");
const status = document.getElementById("status");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Workers: each request names its files (posted) and how to read them.
const workerScript = `
self.onmessage = async (event) => {
  const { id, kind, files, bytes, mode } = event.data;
  if (kind === "post") { self.postMessage({ id, buffers: [] }); return; }
  if (kind === "sizes") { let n = 0; for (const f of files) n += f.size; self.postMessage({ id, buffers: [], n }); return; }
  const slices = files.map((f) => f.slice(0, bytes));
  let buffers = [];
  if (mode === "blobs") {
    new Blob(slices);
  } else if (mode === "batch") {
    buffers = [await new Blob(slices).arrayBuffer()];
  } else if (mode === "sync") {
    const reader = new FileReaderSync();
    buffers = slices.map((s) => reader.readAsArrayBuffer(s));
  } else {
    buffers = await Promise.all(slices.map((s) => s.arrayBuffer()));
  }
  self.postMessage({ id, buffers }, buffers);
};`;
const workerUrl = URL.createObjectURL(new Blob([workerScript], { type: "text/javascript" }));
let pool = [];
let nextId = 0;

async function workers(count) {
  if (pool.length === count) return pool;
  for (const w of pool) w.worker.terminate();
  pool = Array.from({ length: count }, () => {
    const worker = new Worker(workerUrl);
    const waiting = new Map();
    worker.onmessage = (event) => {
      waiting.get(event.data.id)(event.data);
      waiting.delete(event.data.id);
    };
    return { worker, waiting, busy: 0 };
  });
  await Promise.all(pool.map((w) => ask(w, { kind: "post", files: [] })));
  return pool;
}

function ask(w, message) {
  const id = nextId++;
  w.busy += 1;
  return new Promise((resolve) => {
    w.waiting.set(id, (answer) => {
      w.busy -= 1;
      resolve(answer);
    });
    w.worker.postMessage({ id, ...message });
  });
}

/** Runs `start(i)` for i in 0..count with `inFlight` under way; sums what
 * they resolve to. */
async function lanes(count, inFlight, start) {
  let total = 0;
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const n = await start(i);
      total += n;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
  return total;
}

function fileReader(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(blob);
  });
}

let wasm = null;
let paths = [];
let files = [];

const ways = {
  // Main thread, one read per head.
  each: (list, { inFlight, bytes }) =>
    lanes(list.length, inFlight, async (i) => (await list[i].slice(0, bytes).arrayBuffer()).byteLength),
  fileReader: (list, { inFlight, bytes }) =>
    lanes(list.length, inFlight, async (i) => (await fileReader(list[i].slice(0, bytes))).byteLength),
  empty: (list, { inFlight }) =>
    lanes(list.length, inFlight, async (i) => (await list[i].slice(0, 0).arrayBuffer()).byteLength),
  // Main thread, one read of a Blob made of `batch` heads.
  batch: (list, { inFlight, bytes, batch }) =>
    lanes(Math.ceil(list.length / batch), inFlight, async (g) => {
      const heads = list.slice(g * batch, (g + 1) * batch).map((f) => f.slice(0, bytes));
      return (await new Blob(heads).arrayBuffer()).byteLength;
    }),
  // Main thread, the head Blobs alone.
  slices: async (list, { bytes }) => {
    window.kept = list.map((f) => f.slice(0, bytes));
    return 0;
  },
  sizes: async (list) => {
    let total = 0;
    for (const file of list) total += file.size;
    window.total = total;
    return 0;
  },
  // Workers: `batch` files per request, `inFlight` requests per worker.
  workers: async (list, { count, inFlight, bytes, batch, mode, kind = "read" }) => {
    const pool = await workers(count);
    return lanes(Math.ceil(list.length / batch), inFlight * pool.length, async (g) => {
      const target = pool.reduce((a, b) => (b.busy < a.busy ? b : a));
      const answer = await ask(target, { kind, files: list.slice(g * batch, (g + 1) * batch), bytes, mode });
      return answer.buffers.reduce((n, b) => n + b.byteLength, 0);
    });
  },
  // auraloader's scan, with options for scanFilesWith.
  scan: async (list, options) => {
    const report = await wasm.scanFilesWith(list, paths, () => {}, options);
    const images = report.studies.reduce((n, s) => n + s.images, 0);
    if (images !== list.length) throw new Error(`the scan found ${images} images in ${list.length} files`);
    return report.bytesRead;
  },
};

window.sweep = {
  /** Takes the picker's files (without looking at them). */
  take(manifest) {
    files = Array.from(picker.files);
    paths = manifest;
    if (files.length !== paths.length || files.some((f, i) => f.name !== paths[i].split("/").pop())) {
      throw new Error("the picker holds other files than the manifest");
    }
    return files.length;
  },
  async loadWasm() {
    wasm = await import("/npm/auraloader.js");
    await wasm.default({ module_or_path: "/npm/auraloader_bg.wasm" });
    await wasm.warmScan();
    return wasm.scanTuning();
  },
  /** One run of `name` over all files; `fresh`: the files were just chosen,
   * so no warm-up on them. */
  async run(name, params, fresh) {
    if (!fresh) await ways[name](files.slice(0, 8), params);
    await sleep(100);
    const tasks = [];
    const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries()));
    observer.observe({ type: "longtask" });
    const start = performance.now();
    const bytes = await ways[name](files, params);
    const ms = performance.now() - start;
    await sleep(100);
    tasks.push(...observer.takeRecords());
    observer.disconnect();
    const inside = tasks.filter((t) => t.startTime + t.duration >= start && t.startTime <= start + ms);
    return { ms, bytes, longestTaskMs: Math.round(inside.reduce((m, t) => Math.max(m, t.duration), 0)) };
  },
};
status.textContent = "ready";
