// Servers for the browser tus tests (tests/node/tus.test.mjs), the
// end-to-end suite (tests/e2e/) and `cargo xtask bench tus`
// (www/bench/tus.mjs), all on 127.0.0.1 with ports
// picked by the OS:
//
// - startStatic: the page, the built npm package and test files;
// - startTusServer: the official Node tus server (@tus/server with
//   @tus/file-store) storing into a directory;
// - startProxy: a tus-aware proxy in front of a tus server that logs every
//   request but CORS preflights (method, Upload-Offset, body bytes, status)
//   and injects faults: a connection dropped after N body bytes of a PATCH,
//   a 503 with Retry-After, a PATCH that never answers, a PATCH held until
//   the test lets it through; and can limit the upload rate.

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
 *
 * `faults` is a list of {patch: n, drop: bytes} (the n-th PATCH, counting
 * from 1, loses its connection after `bytes` body bytes reached the server)
 * or {patch: n, status: 503, retryAfter: s} (the n-th PATCH is answered with
 * that status without reaching the server) or {patch: n, hang: true} (the
 * n-th PATCH's body is read and dropped, and no answer ever comes) or
 * {patch: n, holdUntil: promise} (the n-th PATCH waits in the proxy, body
 * unread, and is forwarded, headers and all, once the promise settles; if
 * the client gives up first it is dropped). The list is read at each PATCH,
 * so a test may push faults while the upload runs.
 *
 * With `closeConnections`, every answer closes its connection: Chromium
 * silently re-sends a request whose reused keep-alive connection is reset,
 * so a dropped PATCH only reaches the page as a network error on a fresh
 * connection. With `bytesPerSecond` (or `setRate(n)` later; `null` for no
 * limit) each request body is forwarded at most that fast, like a slow
 * uplink.
 *
 * The log has one entry per request but CORS preflights: {method, path,
 * offset (Upload-Offset), length (Upload-Length), bytes (body bytes
 * forwarded), status, location and answerOffset (the answer's Location
 * and Upload-Offset), fault (what was injected; a hung PATCH becomes
 * "hung; the client gave up" with gaveUpAt when the client closes it), at
 * (Date.now() when it arrived), aborted (the client went away before its
 * body ended)}. Resolves to {origin, log, setRate, close}.
 */
export async function startProxy({ target, faults = [], closeConnections = false, bytesPerSecond = null }) {
  const log = [];
  let patches = 0;
  let rate = bytesPerSecond;
  const header = (req, name) => (req.headers[name] === undefined ? null : Number(req.headers[name]));
  const server = createServer((req, res) => {
    const entry = {
      method: req.method,
      path: new URL(req.url, "http://x").pathname,
      offset: header(req, "upload-offset"),
      length: header(req, "upload-length"),
      bytes: 0,
      status: null,
      location: null,
      answerOffset: null,
      fault: null,
      at: Date.now(),
      aborted: false,
    };
    if (req.method !== "OPTIONS") log.push(entry);
    let ended = false;
    req.on("end", () => {
      ended = true;
    });
    req.on("close", () => {
      if (!ended) entry.aborted = true;
    });
    const n = req.method === "PATCH" ? ++patches : 0;
    const fault = n > 0 ? faults.find((f) => f.patch === n) : undefined;
    if (fault?.hang) {
      entry.fault = "hung";
      res.on("close", () => {
        entry.fault = "hung; the client gave up";
        entry.gaveUpAt = Date.now();
      });
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
    const forward = () => {
      const url = new URL(req.url, target);
      const upstream = httpRequest(url, { method: req.method, headers: req.headers }, (answer) => {
        entry.status = answer.statusCode;
        entry.location = answer.headers.location ?? null;
        entry.answerOffset = answer.headers["upload-offset"] === undefined ? null : Number(answer.headers["upload-offset"]);
        const headers = { ...answer.headers };
        if (closeConnections) headers.connection = "close";
        res.writeHead(answer.statusCode, headers);
        answer.pipe(res);
      });
      upstream.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      // The body goes through one chunk at a time, in order: the request
      // is paused while a chunk waits for the rate limit or for upstream
      // to drain.
      let dropped = false;
      let queue = Promise.resolve();
      const then = (step) => {
        queue = queue.then(step).catch(() => upstream.destroy());
      };
      const drained = () => new Promise((r) => upstream.once("drain", r));
      req.on("data", (chunk) => {
        req.pause();
        then(async () => {
          if (rate) await new Promise((r) => setTimeout(r, (chunk.length * 1000) / rate));
          if (dropped || upstream.destroyed) return;
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
          if (!upstream.write(chunk)) await drained();
          req.resume();
        });
      });
      req.on("end", () => then(() => {
        if (!dropped) upstream.end();
      }));
      req.on("close", () => {
        if (!ended) upstream.destroy();
      });
      req.on("error", () => upstream.destroy());
      req.resume();
    };
    if (fault?.holdUntil) {
      entry.fault = "held";
      req.pause();
      Promise.resolve(fault.holdUntil)
        .catch(() => {})
        .then(() => {
          if (entry.aborted) {
            entry.fault = "held; the client went away";
            return;
          }
          entry.fault = "held, then forwarded";
          forward();
        });
      return;
    }
    forward();
  });
  const origin = await listen(server);
  return {
    origin,
    log,
    setRate: (n) => {
      rate = n;
    },
    close: () => closeServer(server),
  };
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
