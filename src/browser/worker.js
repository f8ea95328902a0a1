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
// - entry {job, file, deflate, push, read}: reads `file` (a Blob) in reads of
//   `read` bytes, feeds the wasm job in pushes of exactly `push` bytes (so the
//   deflate output is the same as on the main thread), and answers the CRC-32,
//   the sizes and, when deflating, the compressed bytes as one Blob: they never
//   enter the page's wasm memory.
// - heads {files, bytes}: reads the first `bytes` of each Blob; answers the
//   ArrayBuffers (transferred) or, for a failed read, the error's name.
// - cancel {job}: a running entry job with that id stops at its next read.
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

async function entry(message, port) {
  const { job, file, deflate, push, read } = message;
  const size = file.size;
  const handle = wasm.auraloader_job_new(deflate ? 1 : 0);
  if (handle === 0) throw new Error("could not start a compression job");
  const parts = [];
  let compressed = 0;
  try {
    const slice = (at) => file.slice(at, Math.min(size, at + read)).arrayBuffer();
    let next = size > 0 ? slice(0) : null;
    let offset = 0;
    while (offset < size) {
      const bytes = new Uint8Array(await next);
      if (cancelled.has(job)) throw new Error("cancelled");
      if (bytes.length === 0) throw new Error("the file is shorter than its size says");
      offset += bytes.length;
      next = offset < size ? slice(offset) : null;
      for (let at = 0; at < bytes.length; at += push) {
        const chunk = bytes.subarray(at, Math.min(bytes.length, at + push));
        const ptr = wasm.auraloader_job_input(handle, chunk.length);
        if (ptr === 0) throw new Error("out of wasm memory");
        new Uint8Array(wasm.memory.buffer, ptr, chunk.length).set(chunk);
        if (!wasm.auraloader_job_push(handle)) throw new Error("deflate failed");
        if (wasm.auraloader_job_output_len(handle) >= 1 << 20) {
          compressed += takeOutput(handle, parts);
        }
      }
      port.postMessage({ type: "progress", bytes: offset });
    }
    if (!wasm.auraloader_job_finish(handle)) throw new Error("deflate failed");
    compressed += takeOutput(handle, parts);
    const crc32 = wasm.auraloader_job_crc32(handle) >>> 0;
    const blob = deflate ? new Blob(parts) : null;
    return { crc32, size: offset, compressedSize: deflate ? compressed : offset, blob };
  } finally {
    wasm.auraloader_job_free(handle);
    cancelled.delete(job);
  }
}

async function heads(message) {
  const reads = message.files.map((file) =>
    file.slice(0, Math.min(file.size, message.bytes)).arrayBuffer().then(
      (buffer) => buffer,
      (error) => (error && error.name) || "read error",
    ),
  );
  return Promise.all(reads);
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
    } else if (message.type === "entry") {
      result = await entry(message, port);
    } else if (message.type === "heads") {
      result = await heads(message);
      transfer = result.filter((r) => r instanceof ArrayBuffer);
    } else {
      throw new Error(`unknown message ${message.type}`);
    }
    port.postMessage({ type: "done", result, memoryBytes: memoryBytes() }, transfer);
  } catch (error) {
    port.postMessage({ type: "error", message: String((error && error.message) || error) });
  }
};
