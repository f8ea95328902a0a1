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
//   `files` as one Blob made of them all, in reads of `read` bytes (`ahead`
//   of them in flight), and feeds each file to its own wasm job in
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
// - A message that comes while `init` runs waits for it (the page sends
//   requests only to started workers, so this is a safeguard).
// - cancel {job}: a running pack job with that id stops at its next read.
"use strict";

let wasm = null;
// The running or finished init (a promise), and why it failed.
let starting = null;
let startError = null;
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

/** The job's pending output: a view of wasm memory, valid until the next call into wasm. */
function outputView(handle) {
  const len = wasm.auraloader_job_output_len(handle);
  if (len === 0) return null;
  const ptr = wasm.auraloader_job_output_ptr(handle);
  return new Uint8Array(wasm.memory.buffer, ptr, len);
}

/** The local header of the finished job's entry, named `name`, as a view of wasm memory. */
function localHeader(handle, name) {
  const bytes = encoder.encode(name);
  const ptr = wasm.auraloader_job_input(handle, bytes.length);
  if (ptr === 0 && bytes.length > 0) throw new Error("out of wasm memory");
  new Uint8Array(wasm.memory.buffer, ptr, bytes.length).set(bytes);
  if (!wasm.auraloader_job_header(handle, bytes.length)) throw new Error("bad zip entry name");
  const header = outputView(handle);
  if (header === null) throw new Error("no local header");
  return header;
}

const encoder = new TextEncoder();

/** Bytes of compressed output a pack gathers before it makes a Blob of them. */
const OUTPUT_ROOM = 4 << 20;

/**
 * Rooms of packs that ended, for the next ones: a worker runs a few packs
 * at a time, and a new room per pack would be garbage the size of the room
 * each time (a 2 GiB study is hundreds of packs).
 */
const freeRooms = [];

/**
 * The compressed side of a pack: every entry's local header and compressed
 * bytes, in archive order, gathered in one reused buffer and handed to
 * `Blob`s (which copy them) whenever it fills. So no ArrayBuffer is made
 * per output, only per read (V8 collects a worker's unreferenced
 * ArrayBuffers late: in a 2 GiB study, copies made per read and per output
 * grew two workers' ArrayBuffers to 346 MiB; the reads' own garbage is
 * bounded by replacing the worker, see RECYCLE_AFTER_BYTES).
 * An entry's header is known only when its data is done, so the entry's
 * bytes are kept from `entryStart` on and moved up to make room for it.
 */
class PackOutput {
  constructor() {
    this.room = freeRooms.pop() ?? new Uint8Array(OUTPUT_ROOM);
    this.len = 0;
    this.entryStart = 0;
    // Blobs of the entry being written that did not fit in the room.
    this.spilled = [];
    this.entryBytes = 0;
    this.parts = [];
  }

  /** Hands the finished entries' bytes (before `entryStart`) to a Blob. */
  flushFinished() {
    if (this.entryStart === 0) return;
    this.parts.push(new Blob([this.room.subarray(0, this.entryStart)]));
    this.room.copyWithin(0, this.entryStart, this.len);
    this.len -= this.entryStart;
    this.entryStart = 0;
  }

  /** Appends compressed bytes of the entry being written. */
  data(view) {
    this.entryBytes += view.length;
    if (this.len + view.length > this.room.length) this.flushFinished();
    if (this.len + view.length > this.room.length) {
      // The entry alone outgrows the room: its bytes so far go to a Blob.
      if (this.len > 0) this.spilled.push(new Blob([this.room.subarray(0, this.len)]));
      this.len = 0;
      if (view.length > this.room.length) {
        this.spilled.push(new Blob([view]));
        return;
      }
    }
    this.room.set(view, this.len);
    this.len += view.length;
  }

  /** Ends the entry being written with its local header; answers its compressed size. */
  finishEntry(header) {
    const size = this.entryBytes;
    if (this.spilled.length > 0) {
      this.parts.push(new Blob([header]), ...this.spilled, new Blob([this.room.subarray(0, this.len)]));
      this.spilled = [];
      this.len = 0;
    } else {
      if (this.len + header.length > this.room.length) this.flushFinished();
      if (this.len + header.length > this.room.length) {
        this.parts.push(new Blob([header, this.room.subarray(0, this.len)]));
        this.len = 0;
      } else {
        this.room.copyWithin(this.entryStart + header.length, this.entryStart, this.len);
        this.room.set(header, this.entryStart);
        this.len += header.length;
      }
    }
    this.entryStart = this.len;
    this.entryBytes = 0;
    return size;
  }

  /** Every entry's header and compressed bytes as one Blob. */
  blob() {
    this.flushFinished();
    return new Blob(this.parts);
  }

  /** Gives the room back for the next pack (this output is not used again). */
  recycle() {
    if (this.room !== null && freeRooms.length < 4) freeRooms.push(this.room);
    this.room = null;
  }
}

// A pack reads its files as one Blob made of them all and splits the bytes
// at the files' boundaries. In Chromium every read of a disk-backed File has
// a fixed cost in the browser process (about 0.5 ms), which per file made
// 2,000 small files cost more in reads than in compression; reading a
// composite Blob costs far less per file (measured on 2,000 files of 16 KiB
// in 2 workers: 0.34 s for the reads alone, against 1.07 s with one read
// per file). The composite Blob is read in slices of `read` bytes, `ahead`
// of them in flight. Each read's ArrayBuffer is garbage once its bytes are
// in wasm, and V8 collects a worker's ArrayBuffers late: the page replaces
// a worker after it has read a set amount (RECYCLE_AFTER_BYTES in
// src/browser/worker.rs), which bounds that garbage. Each file still goes to its own wasm job in
// pushes of exactly `push` bytes (staged in the job's input buffer across
// reads), so the compressed bytes are those of the main thread's path.
async function pack(message, port) {
  const { job, files, names, deflate, push, read } = message;
  const ahead = Math.max(1, message.ahead || 1);
  const sizes = files.map((file) => file.size);
  const total = sizes.reduce((n, size) => n + size, 0);
  const entries = [];
  const output = deflate ? new PackOutput() : null;
  // The file being fed (index), its job, the bytes of it fed so far and
  // those staged in the job's input, not pushed yet.
  let index = 0;
  let handle = 0;
  let fed = 0;
  let staged = 0;
  let stage = 0;

  const takeOutput = () => {
    const view = outputView(handle);
    if (view === null) return;
    if (output !== null) output.data(view);
    wasm.auraloader_job_output_clear(handle);
  };
  const open = () => {
    handle = wasm.auraloader_job_new(deflate ? 1 : 0);
    if (handle === 0) throw new Error("could not start a compression job");
    fed = 0;
    staged = 0;
  };
  const pushStaged = () => {
    // Shrinking the input keeps its bytes; the job pushes exactly `staged`.
    wasm.auraloader_job_input(handle, staged);
    if (!wasm.auraloader_job_push(handle)) throw new Error("deflate failed");
    staged = 0;
    if (wasm.auraloader_job_output_len(handle) >= 1 << 20) takeOutput();
  };
  const close = () => {
    if (staged > 0) pushStaged();
    if (!wasm.auraloader_job_finish(handle)) throw new Error("deflate failed");
    takeOutput();
    const crc32 = wasm.auraloader_job_crc32(handle) >>> 0;
    let compressedSize = sizes[index];
    if (output !== null) compressedSize = output.finishEntry(localHeader(handle, names[index]));
    entries.push({ crc32, size: sizes[index], compressedSize });
    wasm.auraloader_job_free(handle);
    handle = 0;
    index += 1;
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
      const buffer = await reads.shift();
      const bytes = new Uint8Array(buffer);
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
    return { entries, blob: output !== null ? output.blob() : null };
  } finally {
    if (handle !== 0) wasm.auraloader_job_free(handle);
    if (output !== null) output.recycle();
    cancelled.delete(job);
  }
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
      starting = init(message).catch((error) => {
        startError = String((error && error.message) || error);
        throw error;
      });
      result = await starting;
    } else {
      if (starting !== null) await starting.catch(() => {});
      if (wasm === null) {
        throw new Error(startError ? `the worker could not start: ${startError}` : "the worker was not initialised");
      }
      if (message.type === "pack") {
        result = await pack(message, port);
      } else if (message.type === "heads") {
        result = await heads(message);
        transfer = Array.isArray(result) ? result.filter((r) => r instanceof ArrayBuffer) : [result.buffer];
      } else {
        throw new Error(`unknown message ${message.type}`);
      }
    }
    port.postMessage({ type: "done", result, memoryBytes: memoryBytes() }, transfer);
  } catch (error) {
    port.postMessage({ type: "error", message: String((error && error.message) || error) });
  }
};
