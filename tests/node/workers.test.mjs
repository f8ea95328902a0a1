// The built package's Web Workers in headless Chromium (CHROME names the
// executable; set by `cargo xtask test`): the worker script travels inside the
// wasm, so the workers start whether the module was loaded from its URL (the
// npm entry, bundlers) or from inlined bytes (the script-tag file); under a
// Content-Security-Policy without `worker-src blob:` the widget falls back to
// the main thread, gives the same archive and says so once in the console.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const repo = resolve(new URL("../..", import.meta.url).pathname);
// The bench and test build (`cargo xtask build --bench-api`): the product
// in dist/ has no bench entry points.
const dist = resolve(process.env.AURALOADER_BENCH_DIST ?? join(repo, "target/bench-dist"));
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

const PAGE = `<!doctype html><meta charset="utf-8"><title>workers</title><p>workers test</p>`;

/** Serves dist/npm at /npm/ and an empty page at /, with `csp` as its policy. */
async function serve(csp) {
  const npm = join(dist, "npm");
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const headers = csp ? { "Content-Security-Policy": csp } : {};
    if (path === "/") {
      res.writeHead(200, { ...headers, "Content-Type": "text/html" }).end(PAGE);
      return;
    }
    const file = join(npm, path.replace(/^\/npm\//, ""));
    if (!path.startsWith("/npm/") || !file.startsWith(npm)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return server;
}

/** In the page: loads the glue (from the URL, or from bytes as the script-tag
 * file does), prepares one archive of synthetic files on the default engine
 * and one on the main thread, and returns what happened. */
async function inPage(fromBytes) {
  const wasm = await import("/npm/auraloader.js");
  if (fromBytes) {
    const bytes = await (await fetch("/npm/auraloader_bg.wasm")).arrayBuffer();
    await wasm.default({ module_or_path: bytes });
  } else {
    await wasm.default({ module_or_path: "/npm/auraloader_bg.wasm" });
  }
  // Deterministic bytes: compressible text, and noise that is not.
  const files = [];
  let seed = 7;
  for (let i = 0; i < 6; i++) {
    const bytes = new Uint8Array(300_000 + i * 77_777);
    for (let j = 0; j < bytes.length; j++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[j] = i % 2 === 0 ? 65 + (j % 23) : seed >>> 24;
    }
    files.push(new File([bytes], `f${i}`));
  }
  const names = files.map((_, i) => `1.2/1.2.3/${i}.dcm`);
  const methods = files.map((_, i) => (i % 2 === 0 ? "deflated" : "stored"));
  const digest = async (blob) =>
    Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer())))
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
  const shared = await wasm.prepareStudy(files, names, methods, {});
  const again = await wasm.prepareStudy(files, names, methods, {});
  const main = await wasm.prepareStudy(files, names, methods, { workers: 0 });
  const sharedBlob = shared.blob(0, shared.length);
  return {
    workers: shared.workers,
    again: again.workers,
    length: shared.length,
    blobSize: sharedBlob.size,
    sameBytes: (await digest(sharedBlob)) === (await digest(main.blob(0, main.length))),
    inputBytes: files.reduce((n, f) => n + f.size, 0),
  };
}

async function run(t, { csp, fromBytes }) {
  const chrome = process.env.CHROME;
  if (!chrome) {
    t.diagnostic("CHROME is not set: this test runs under `cargo xtask test`");
    return null;
  }
  const { launchChromium } = await import(pathToFileURL(join(repo, "www/tools/chromium.mjs")).href);
  const server = await serve(csp);
  t.after(() => server.close());
  const browser = await launchChromium();
  t.after(() => browser.close());
  const page = await browser.newPage();
  const warnings = [];
  page.on("console", (message) => {
    if (message.type() === "warning" && message.text().includes("auraloader")) warnings.push(message.text());
  });
  await page.goto(`http://127.0.0.1:${server.address().port}/`, { timeout: 30_000 });
  const outcome = await page.evaluate(inPage, fromBytes);
  await page.waitForTimeout(100);
  return { ...outcome, warnings };
}

test("the npm entry's module starts workers that zip like the main thread", { timeout: 120_000 }, async (t) => {
  const outcome = await run(t, { csp: null, fromBytes: false });
  if (!outcome) return;
  assert.ok(outcome.workers > 0, `workers: ${outcome.workers}`);
  assert.equal(outcome.again, outcome.workers, "the pool is shared");
  assert.equal(outcome.blobSize, outcome.length, "predicted length");
  assert.ok(outcome.length < outcome.inputBytes, "deflated entries are smaller");
  assert.ok(outcome.sameBytes, "workers and main thread give the same archive");
  assert.deepEqual(outcome.warnings, []);
});

test("a module instantiated from inlined bytes (the script-tag file) starts workers too", { timeout: 120_000 }, async (t) => {
  const outcome = await run(t, { csp: null, fromBytes: true });
  if (!outcome) return;
  assert.ok(outcome.workers > 0, `workers: ${outcome.workers}`);
  assert.ok(outcome.sameBytes);
});

test("without worker-src blob: the widget zips on the main thread and warns once", { timeout: 120_000 }, async (t) => {
  const csp = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'none'";
  const outcome = await run(t, { csp, fromBytes: false });
  if (!outcome) return;
  assert.equal(outcome.workers, 0);
  assert.equal(outcome.again, 0);
  assert.equal(outcome.blobSize, outcome.length);
  assert.ok(outcome.sameBytes);
  assert.equal(outcome.warnings.length, 1, `warnings: ${JSON.stringify(outcome.warnings)}`);
  assert.match(outcome.warnings[0], /worker-src blob:/);
});
