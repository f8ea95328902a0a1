// auraloader's Web Worker (classic script). It is not a file of the published
// packages: src/browser/worker.rs embeds this text in the wasm module and starts
// it from a Blob URL, so the npm package, the script-tag file and the test
// suites all carry it without serving a second file.
//
// Protocol: every message is {type, port, ...}; the answer goes to `port` (a
// MessagePort of the caller's MessageChannel) as {type: "progress", bytes},
// {type: "done", result, memoryBytes} or {type: "error", message}.
//
// - init {module}: instantiates the widget's own compiled WebAssembly.Module
//   (posted by the page) without the wasm-bindgen glue: every import is a stub
//   that throws, because the exports used here (`auraloader_job_*`, plain
//   numbers in and out, see src/browser/worker.rs) never call one.
// - pack {job, files, names, deflate, push, read, ahead}: reads the Blobs of
//   `files` as one Blob made of them all, in reads of `read` bytes with
//   `ahead` reads in flight, and feeds each file to its own wasm job in
//   pushes of exactly `push` bytes (so the deflate output is the same as on
//   the main thread). Answers each entry's CRC-32 and sizes and, when
//   deflating, one Blob holding every entry's local header (from the wasm,
//   named `names[i]`) and compressed bytes, one after the other, as they sit
//   in the archive: the compressed bytes never enter the page's wasm memory.
//   Progress reports (one per read) count the bytes read of the whole pack.
// - heads {files, bytes}: reads the first `bytes` of each Blob as one read of
//   a Blob made of them all; answers {buffer, sizes}: the heads one after the
//   other in one transferred ArrayBuffer and each head's length. If that read
//   fails, reads each alone and answers an array of their ArrayBuffers
//   (transferred) or, for a failed read, the error's name.
// - cancel {job}: a running pack job with that id stops at its next read.
"use strict";

let wasm = null;
const cancelled = new Set();

function stub(name) {
  return () => {
    throw new Error(`auraloader worker: ${name} is not available in a worker`);
  };
}

async function init(message) {
  const imports = {};
  for (const item of WebAssembly.Module.imports(message.module)) {
    if (item.kind !== "function") {
      throw new Error(`the wasm module imports a ${item.kind} (${item.name}); the worker cannot provide it`);
    }
    (imports[item.module] ??= {})[item.name] = stub(item.name);
  }
  const instance = await WebAssembly.instantiate(message.module, imports);
  const exports = instance.exports;
  if (typeof exports.auraloader_job_new !== "function") {
    throw new Error("the wasm module has no auraloader_job_* exports");
  }
  wasm = exports;
  return { abi: exports.auraloader_job_abi() };
}

function memoryBytes() {
  return wasm ? wasm.memory.buffer.byteLength : 0;
}

/** Copies the job's pending output out of wasm memory into `parts`. */
function takeOutput(handle, parts) {
  const len = wasm.auraloader_job_output_len(handle);
  if (len === 0) return 0;
  const ptr = wasm.auraloader_job_output_ptr(handle);
  parts.push(wasm.memory.buffer.slice(ptr, ptr + len));
  wasm.auraloader_job_output_clear(handle);
  return len;
}

/** The local header of the finished job's entry, named `name`. */
function localHeader(handle, name) {
  const bytes = encoder.encode(name);
  const ptr = wasm.auraloader_job_input(handle, bytes.length);
  if (ptr === 0 && bytes.length > 0) throw new Error("out of wasm memory");
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  if (!wasm.auraloader_job_header(handle, bytes.length)) throw new Error("bad zip entry name");
  const parts = [];
  takeOutput(handle, parts);
  return parts[0];
}

const encoder = new TextEncoder();

// A pack reads its files as one Blob made of them all, in reads of `read`
// bytes with `ahead` reads in flight, and splits the bytes at the files'
// boundaries. In Chromium every read of a disk-backed File has a fixed cost
// in the browser process (about 0.5 ms), which per file made 2,000 small
// files cost more in reads than in compression; reads of a composite Blob
// cost far less per file (measured on 2,000 files of 16 KiB in 2 workers:
// 0.34 s for the reads alone, against 1.07 s with one read per file). The
// reads in flight overlap the next bytes' transfer with the
// compression of the last ones. Each file still goes to its own wasm job in
// pushes of exactly `push` bytes (staged in the job's input buffer across
// reads), so the compressed bytes are those of the main thread's path.
async function pack(message, port) {
  const { job, files, names, deflate, push, read } = message;
  const ahead = Math.max(1, message.ahead || 1);
  const sizes = files.map((file) => file.size);
  const total = sizes.reduce((n, size) => n + size, 0);
  const entries = [];
  const parts = [];
  let held = 0;
  // The file being fed (index), its job, its compressed parts, the bytes of
  // it fed so far and those staged in the job's input, not pushed yet.
  let index = 0;
  let handle = 0;
  let data = [];
  let fed = 0;
  let staged = 0;
  let stage = 0;

  const open = () => {
    handle = wasm.auraloader_job_new(deflate ? 1 : 0);
    if (handle === 0) throw new Error("could not start a compression job");
    data = [];
    fed = 0;
    staged = 0;
  };
  const pushStaged = () => {
    // Shrinking the input keeps its bytes; the job pushes exactly `staged`.
    wasm.auraloader_job_input(handle, staged);
    if (!wasm.auraloader_job_push(handle)) throw new Error("deflate failed");
    staged = 0;
    if (wasm.auraloader_job_output_len(handle) >= 1 << 20) takeOutput(handle, data);
  };
  const close = () => {
    if (staged > 0) pushStaged();
    if (!wasm.auraloader_job_finish(handle)) throw new Error("deflate failed");
    takeOutput(handle, data);
    const compressedSize = data.reduce((n, part) => n + part.byteLength, 0);
    const crc32 = wasm.auraloader_job_crc32(handle) >>> 0;
    if (deflate) {
      const header = localHeader(handle, names[index]);
      parts.push(header, ...data);
      held += header.byteLength + compressedSize;
    }
    entries.push({ crc32, size: sizes[index], compressedSize: deflate ? compressedSize : sizes[index] });
    wasm.auraloader_job_free(handle);
    handle = 0;
    index += 1;
    // Keep the worker's own heap small: fold what is held into a Blob.
    if (held >= 32 << 20) {
      const folded = new Blob(parts);
      parts.length = 0;
      parts.push(folded);
      held = 0;
    }
  };
  // Ends the files that are complete (empty ones at once) and opens the next.
  const advance = () => {
    while (index < files.length && (handle === 0 || fed === sizes[index])) {
      if (handle === 0) open();
      if (fed === sizes[index]) close();
    }
  };

  try {
    const all = new Blob(files);
    const reads = [];
    let asked = 0;
    const ask = () => {
      if (asked < total) {
        const end = Math.min(total, asked + read);
        reads.push(all.slice(asked, end).arrayBuffer());
        asked = end;
      }
    };
    for (let i = 0; i < ahead; i++) ask();
    advance();
    let done = 0;
    while (reads.length > 0) {
      const bytes = new Uint8Array(await reads.shift());
      if (cancelled.has(job)) throw new Error("cancelled");
      if (bytes.length === 0) throw new Error("a file is shorter than its size says");
      ask();
      for (let at = 0; at < bytes.length; ) {
        if (index >= files.length) throw new Error("a file is longer than its size says");
        const n = Math.min(bytes.length - at, sizes[index] - fed, push - staged);
        if (staged === 0) {
          stage = wasm.auraloader_job_input(handle, push);
          if (stage === 0) throw new Error("out of wasm memory");
        }
        new Uint8Array(wasm.memory.buffer, stage + staged, n).set(bytes.subarray(at, at + n));
        at += n;
        staged += n;
        fed += n;
        if (staged === push) pushStaged();
        advance();
      }
      done += bytes.length;
      port.postMessage({ type: "progress", bytes: done });
    }
    if (index < files.length) throw new Error("a file is shorter than its size says");
  } finally {
    if (handle !== 0) wasm.auraloader_job_free(handle);
    cancelled.delete(job);
  }
  return { entries, blob: deflate ? new Blob(parts) : null };
}

async function heads(message) {
  // slice() clamps to the file's size.
  const slices = message.files.map((file) => file.slice(0, message.bytes));
  try {
    // One read of a Blob made of all the heads, answered as one buffer: in
    // Chromium every Blob read costs the browser process a fixed amount, so
    // one read of a batch's heads costs less than one read each.
    const buffer = await new Blob(slices).arrayBuffer();
    return { buffer, sizes: slices.map((slice) => slice.size) };
  } catch {
    // A file failed: read each alone, so only that one is reported.
    return Promise.all(
      slices.map((slice) =>
        slice.arrayBuffer().then(
          (buffer) => buffer,
          (error) => (error && error.name) || "read error",
        ),
      ),
    );
  }
}

self.onmessage = async (event) => {
  const message = event.data;
  if (message.type === "cancel") {
    cancelled.add(message.job);
    return;
  }
  const port = message.port;
  try {
    let result;
    let transfer = [];
    if (message.type === "init") {
      result = await init(message);
    } else if (wasm === null) {
      throw new Error("the worker was not initialised");
    } else if (message.type === "pack") {
      result = await pack(message, port);
    } else if (message.type === "heads") {
      result = await heads(message);
      transfer = Array.isArray(result) ? result.filter((r) => r instanceof ArrayBuffer) : [result.buffer];
    } else {
      throw new Error(`unknown message ${message.type}`);
    }
    port.postMessage({ type: "done", result, memoryBytes: memoryBytes() }, transfer);
  } catch (error) {
    port.postMessage({ type: "error", message: String((error && error.message) || error) });
  }
};
