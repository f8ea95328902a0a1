// Servers for the browser tus tests (tests/node/tus.test.mjs) and
// `cargo xtask bench tus` (www/bench/tus.mjs), all on 127.0.0.1 with ports
// picked by the OS:
//
// - startStatic: the page, the built npm package and test files;
// - startTusServer: the official Node tus server (@tus/server with
//   @tus/file-store) storing into a directory;
// - startProxy: a tus-aware proxy in front of it that logs every request
//   but CORS preflights (method, Upload-Offset, body bytes, status) and
//   injects faults: a
//   connection dropped after N body bytes of a PATCH, or a 503 with
//   Retry-After.

import { createServer, request as httpRequest } from "node:http";
import { createReadStream, readFileSync, statSync } from "node:fs";
import { extname, join, normalize } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".zip": "application/zip",
};

/** Listens on a free 127.0.0.1 port; resolves to `http://127.0.0.1:port`. */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

function closeServer(server) {
  server.closeAllConnections?.();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Serves `routes` (path -> Buffer | string | {file}) and every file under
 * `mounts` (prefix -> directory). Resolves to {origin, close}.
 */
export async function startStatic({ routes = {}, mounts = {} }) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let body = routes[path];
    const type = path.endsWith("/") ? TYPES[".html"] : (TYPES[extname(path)] ?? "application/octet-stream");
    if (body && typeof body === "object" && "file" in body) {
      try {
        const size = statSync(body.file).size;
        res.writeHead(200, { "Content-Type": type, "Content-Length": size, "Cache-Control": "no-store" });
        createReadStream(body.file).pipe(res);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    if (body === undefined) {
      for (const [prefix, dir] of Object.entries(mounts)) {
        if (path.startsWith(prefix)) {
          const rel = normalize(path.slice(prefix.length)).replace(/^(\.\.[/\\])+/, "");
          try {
            body = readFileSync(join(dir, rel));
          } catch {
            body = undefined;
          }
          break;
        }
      }
    }
    if (body === undefined) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store" }).end(body);
  });
  const origin = await listen(server);
  return { origin, close: () => closeServer(server) };
}

/**
 * The official tus server: @tus/server + @tus/file-store (from www/node_modules,
 * found through `www` = the www directory), storing into `directory`.
 * Resolves to {url (the creation endpoint), close}.
 */
export async function startTusServer({ www, directory }) {
  const { Server } = await import(join(www, "node_modules/@tus/server/dist/index.js"));
  const { FileStore } = await import(join(www, "node_modules/@tus/file-store/dist/index.js"));
  const tus = new Server({
    path: "/files",
    datastore: new FileStore({ directory }),
    // The fault proxy forwards the browser's Host, so Location names the proxy.
    respectForwardedHeaders: false,
  });
  const server = createServer((req, res) => {
    tus.handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const origin = await listen(server);
  return { origin, url: `${origin}/files`, close: () => closeServer(server) };
}

/**
 * A proxy to `target` (an origin) that logs tus requests and injects faults.
 * `faults` is a list of {patch: n, drop: bytes} (the n-th PATCH, counting
 * from 1, loses its connection after `bytes` body bytes reached the server)
 * or {patch: n, status: 503, retryAfter: s} (the n-th PATCH is answered with
 * that status without reaching the server) or {patch: n, hang: true} (the
 * n-th PATCH's body is read and dropped, and no answer ever comes). With `closeConnections`, every
 * answer closes its connection: Chromium silently re-sends a request whose
 * reused keep-alive connection is reset, so a dropped PATCH only reaches the
 * page as a network error on a fresh connection. Resolves to {origin, log,
 * close}.
 */
export async function startProxy({ target, faults = [], closeConnections = false }) {
  const log = [];
  let patches = 0;
  const server = createServer((req, res) => {
    const entry = {
      method: req.method,
      path: new URL(req.url, "http://x").pathname,
      offset: req.headers["upload-offset"] === undefined ? null : Number(req.headers["upload-offset"]),
      bytes: 0,
      status: null,
      fault: null,
    };
    if (req.method !== "OPTIONS") log.push(entry);
    const n = req.method === "PATCH" ? ++patches : 0;
    const fault = n > 0 ? faults.find((f) => f.patch === n) : undefined;
    if (fault?.hang) {
      entry.fault = "hung";
      req.resume();
      return;
    }
    if (fault?.status) {
      entry.fault = `status ${fault.status}`;
      req.on("end", () => {
        entry.status = fault.status;
        const origin = req.headers.origin;
        const headers = { "Tus-Resumable": "1.0.0", "Content-Length": "0" };
        if (closeConnections) headers.Connection = "close";
        if (fault.retryAfter !== undefined) headers["Retry-After"] = String(fault.retryAfter);
        if (origin) {
          headers["Access-Control-Allow-Origin"] = origin;
          headers["Access-Control-Expose-Headers"] = "Retry-After, Upload-Offset, Tus-Resumable";
        }
        res.writeHead(fault.status, headers).end();
      });
      req.resume();
      return;
    }
    const url = new URL(req.url, target);
    const upstream = httpRequest(
      url,
      { method: req.method, headers: req.headers },
      (answer) => {
        entry.status = answer.statusCode;
        const headers = { ...answer.headers };
        if (closeConnections) headers.connection = "close";
        res.writeHead(answer.statusCode, headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    let dropped = false;
    req.on("data", (chunk) => {
      if (dropped) return;
      if (fault?.drop !== undefined && entry.bytes + chunk.length > fault.drop) {
        const part = chunk.subarray(0, Math.max(0, fault.drop - entry.bytes));
        entry.bytes += part.length;
        dropped = true;
        entry.fault = `dropped after ${entry.bytes} bytes`;
        upstream.write(part, () => {
          upstream.destroy();
          req.socket.destroy();
        });
        return;
      }
      entry.bytes += chunk.length;
      if (!upstream.write(chunk)) {
        req.pause();
        upstream.once("drain", () => req.resume());
      }
    });
    req.on("end", () => {
      if (!dropped) upstream.end();
    });
    req.on("error", () => upstream.destroy());
  });
  const origin = await listen(server);
  return { origin, log, close: () => closeServer(server) };
}

/** `n` deterministic pseudo-random bytes (xorshift32 from `seed`). */
export function pseudoRandomBytes(n, seed = 0x9e3779b9) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
    if (i + 1 < n) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < n) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < n) out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
}
