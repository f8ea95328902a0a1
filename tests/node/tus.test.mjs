// The browser tus driver (src/browser/tus.rs) in headless Chromium, against
// the official Node tus server (@tus/server + @tus/file-store, started here)
// and against our dev server (crates/server; the binary in
// $AURALOADER_SERVER, built by `cargo xtask test`). A fault-injecting proxy
// (www/tools/tus-servers.mjs) sits in front of @tus/server and logs every
// request. The page loads the built npm package's wasm (dist/npm, from
// $AURALOADER_DIST) and calls the internal `startTusUploads` export.
//
// Fixture: a stored (uncompressed) zip of three pseudo-random files, 6 MiB in
// all, generated here with fflate from a fixed seed; uploaded in 256 KiB
// chunks, so every upload is dozens of PATCHes. One test instead prepares a
// study in the page (`prepareStudy`) and uploads the `PreparedZip` itself, as
// the widget's pipeline sends a study.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(new URL("../..", import.meta.url).pathname);
const www = join(repo, "www");
// The bench and test build (`cargo xtask build --bench-api`): the product
// in dist/ has no bench entry points.
const dist = resolve(process.env.AURALOADER_BENCH_DIST ?? join(repo, "target/bench-dist"));
const serverBinary = process.env.AURALOADER_SERVER ?? join(repo, "target/debug/auraloader-server");
const { launchChromium } = await import(join(www, "tools/chromium.mjs"));
const { startStatic, startTusServer, startProxy, pseudoRandomBytes } = await import(
  join(www, "tools/tus-servers.mjs")
);
const { zipSync } = await import(join(www, "node_modules/fflate/esm/index.mjs"));

const CHUNK = 256 * 1024;
const LIMIT_MS = 60_000;
const SOURCE = Buffer.from(
  zipSync(
    {
      "study/series-1/IM0001": pseudoRandomBytes(2 * 1024 * 1024 + 17, 1),
      "study/series-1/IM0002": pseudoRandomBytes(2 * 1024 * 1024 + 3, 2),
      "study/series-2/IM0001": pseudoRandomBytes(2 * 1024 * 1024 - 5, 3),
    },
    { level: 0 },
  ),
);

// The page: loads the wasm and offers startUpload(options) / result().
const PAGE = `<!doctype html><meta charset="utf-8"><title>tus driver test</title>
<script type="module">
import init, * as wasm from "/npm/auraloader.js";
await init({ module_or_path: "/npm/auraloader_bg.wasm" });
window.startUpload = async (o) => {
  const blob = await (await fetch(o.source, { cache: "no-store" })).blob();
  const seen = { events: [], progress: 0, acknowledged: 0, lastOverall: null };
  window.seen = seen;
  const run = wasm.startTusUploads({
    endpoint: o.endpoint, token: o.token, chunkSize: o.chunkSize, store: o.store,
    namespace: o.namespace, retryDelaysMs: o.retryDelaysMs, stallTimeoutMs: o.stallTimeoutMs,
    concurrency: o.concurrency,
    uploads: Array.from({ length: o.copies ?? 1 }, (_, i) => ({
      blob, fingerprint: o.copies ? o.fingerprint + "-" + i : o.fingerprint, metadata: o.metadata,
    })),
  }, (e) => {
    if (e.type === "progress") {
      seen.progress += 1;
      seen.acknowledged = e.acknowledged;
      if (o.cancelAt !== undefined && e.acknowledged >= o.cancelAt && !seen.cancelled) {
        seen.cancelled = true;
        run.cancel();
      }
    } else if (e.type === "overall") {
      seen.lastOverall = e;
    } else {
      seen.events.push(e);
    }
  });
  window.pending = run.done().then((outcomes) => ({ ...seen, outcomes }));
  return blob.size;
};
// Prepares a study of synthetic files (prepareStudy, in the page's workers)
// and uploads the PreparedZip itself, as TusPipeline sends a study.
window.startZipUpload = async (o) => {
  const files = [];
  let seed = 11;
  for (let i = 0; i < 4; i++) {
    const bytes = new Uint8Array(700_000 + i * 91_013);
    for (let j = 0; j < bytes.length; j++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[j] = i % 2 === 0 ? 48 + (j % 31) : seed >>> 24;
    }
    files.push(new File([bytes], "f" + i));
  }
  const names = files.map((_, i) => "1.2/1.2.3/" + i + ".dcm");
  const methods = files.map((_, i) => (i % 2 === 0 ? "deflated" : "stored"));
  const prepared = await wasm.prepareStudy(files, names, methods, {});
  const length = prepared.length;
  const archive = new Uint8Array(await prepared.blob(0, length).arrayBuffer());
  const run = wasm.startTusUploads({
    endpoint: o.endpoint, token: o.token, chunkSize: o.chunkSize, store: "memory",
    uploads: [{ zip: prepared, metadata: { filename: "study.zip" } }],
  }, () => {});
  let takenOver = false;
  try {
    void prepared.length;
  } catch {
    takenOver = true;
  }
  let again = null;
  try {
    wasm.startTusUploads({ endpoint: o.endpoint, token: o.token, store: "memory", uploads: [{ zip: prepared }] }, null);
  } catch (e) {
    again = String(e.message ?? e);
  }
  const outcomes = await run.done();
  return { outcomes, length, archive: Array.from(archive), takenOver, again };
};
// Starts an upload and keeps no reference to its handle.
window.startDetached = async (o) => {
  const blob = await (await fetch(o.source, { cache: "no-store" })).blob();
  window.detached = { acknowledged: 0, finished: false, completed: false };
  wasm.startTusUploads({
    endpoint: o.endpoint, token: o.token, chunkSize: o.chunkSize, store: "memory",
    uploads: [{ blob }],
  }, (e) => {
    if (e.type === "progress") window.detached.acknowledged = e.acknowledged;
    if (e.type === "completed") window.detached.completed = true;
    if (e.type === "finished") window.detached.finished = true;
  });
};
window.ready = true;
</script>`;

let browser;
let site;
let tusServer;
let storeDir;

before(async () => {
  storeDir = mkdtempSync(join(tmpdir(), "auraloader-tus-test-"));
  site = await startStatic({
    routes: { "/": PAGE, "/source.zip": SOURCE },
    mounts: { "/npm/": join(dist, "npm") },
  });
  tusServer = await startTusServer({ www, directory: storeDir });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await tusServer?.close();
  if (storeDir) rmSync(storeDir, { recursive: true, force: true });
});

async function openPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${site.origin}/`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: LIMIT_MS });
  return { context, page, errors };
}

/** Starts an upload in `page` and resolves to its result. */
async function upload(page, options) {
  const size = await page.evaluate((o) => window.startUpload(o), {
    source: "/source.zip",
    chunkSize: CHUNK,
    store: "localStorage",
    namespace: "auraloader-test",
    ...options,
  });
  assert.equal(size, SOURCE.length);
  return finish(page);
}

async function finish(page) {
  return page.evaluate(
    (limit) =>
      Promise.race([
        window.pending,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`no end within ${limit} ms`)), limit)),
      ]),
    LIMIT_MS,
  );
}

function storedBytes(url) {
  const id = new URL(url).pathname.split("/").pop();
  return readFileSync(join(storeDir, id));
}

function storageKeys(page) {
  return page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("auraloader-test/")));
}

test("uploads a generated zip to @tus/server byte-exact in many PATCHes", async () => {
  const proxy = await startProxy({ target: tusServer.origin });
  const { context, page, errors } = await openPage();
  try {
    const result = await upload(page, {
      endpoint: `${proxy.origin}/files`,
      token: "test-token",
      fingerprint: "plain-upload",
      metadata: { filename: "study.zip", filetype: "application/zip" },
    });
    assert.equal(result.outcomes[0]?.state, "completed", JSON.stringify(result.outcomes));
    assert.ok(storedBytes(result.outcomes[0].url).equals(SOURCE), "the stored bytes are the source's");
    const patches = proxy.log.filter((e) => e.method === "PATCH");
    assert.equal(patches.length, Math.ceil(SOURCE.length / CHUNK));
    assert.deepEqual(
      patches.map((e) => e.offset),
      patches.map((_, i) => i * CHUNK),
      "each PATCH starts where the last ended",
    );
    assert.equal(patches.reduce((n, e) => n + e.bytes, 0), SOURCE.length, "no byte sent twice");
    assert.equal(proxy.log.filter((e) => e.method === "POST").length, 1);
    assert.equal(result.lastOverall.acknowledged, SOURCE.length);
    assert.equal(result.lastOverall.total, SOURCE.length);
    assert.ok(result.progress >= patches.length, "progress after every PATCH at least");
    assert.deepEqual(await storageKeys(page), [], "the fingerprint is forgotten after success");
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await proxy.close();
  }
});

test("a prepared study zip is uploaded as its byte ranges, byte-exact", async () => {
  const proxy = await startProxy({ target: tusServer.origin });
  const { context, page, errors } = await openPage();
  try {
    const result = await page.evaluate(
      (o) => window.startZipUpload(o),
      { endpoint: `${proxy.origin}/files`, token: "test-token", chunkSize: CHUNK },
    );
    assert.equal(result.outcomes[0]?.state, "completed", JSON.stringify(result.outcomes));
    const stored = storedBytes(result.outcomes[0].url);
    assert.equal(stored.length, result.length);
    assert.ok(stored.equals(Buffer.from(result.archive)), "the stored bytes are the prepared archive's");
    const patches = proxy.log.filter((e) => e.method === "PATCH");
    assert.equal(patches.length, Math.ceil(result.length / CHUNK));
    assert.ok(result.takenOver, "the PreparedZip's JS object is emptied once handed over");
    assert.match(result.again ?? "", /uploads\[0\]\.zip must be a PreparedZip/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await proxy.close();
  }
});

test("three uploads run two at a time, each byte-exact", async () => {
  const proxy = await startProxy({ target: tusServer.origin });
  const { context, page } = await openPage();
  try {
    const result = await upload(page, {
      endpoint: `${proxy.origin}/files`,
      token: "test-token",
      fingerprint: "queued-upload",
      copies: 3,
      concurrency: 2,
    });
    assert.equal(result.outcomes.length, 3);
    for (const outcome of result.outcomes) {
      assert.equal(outcome?.state, "completed", JSON.stringify(result.outcomes));
      assert.ok(storedBytes(outcome.url).equals(SOURCE), "the stored bytes are the source's");
    }
    const posts = proxy.log.filter((e) => e.method === "POST");
    assert.equal(posts.length, 3);
    const lastPatchOf = (path) =>
      proxy.log.findIndex((e) => e.method === "PATCH" && e.path === path && e.offset + e.bytes === SOURCE.length);
    const paths = [...new Set(proxy.log.filter((e) => e.method === "PATCH").map((e) => e.path))];
    assert.equal(paths.length, 3);
    const thirdPost = proxy.log.indexOf(posts[2]);
    const firstDone = Math.min(lastPatchOf(paths[0]), lastPatchOf(paths[1]));
    assert.ok(thirdPost > firstDone, "the third upload starts only when one of the first two is done");
    const early = proxy.log.slice(0, firstDone).filter((e) => e.method === "PATCH");
    assert.ok(
      early.some((e) => e.path === paths[0]) && early.some((e) => e.path === paths[1]),
      "the first two upload at the same time",
    );
  } finally {
    await context.close();
    await proxy.close();
  }
});

test("an upload goes on when the page drops its handle and memory is collected", async () => {
  const { context, page, errors } = await openPage();
  try {
    const cdp = await context.newCDPSession(page);
    await page.evaluate((o) => window.startDetached(o), {
      source: "/source.zip",
      chunkSize: 64 * 1024,
      endpoint: tusServer.url,
      token: "test-token",
    });
    for (let i = 0; i < 20; i++) {
      await cdp.send("HeapProfiler.collectGarbage");
      const state = await page.evaluate(() => window.detached);
      if (state.finished) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.waitForFunction(() => window.detached.finished, null, { timeout: LIMIT_MS });
    assert.equal(await page.evaluate(() => window.detached.completed), true);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("resumes after a page reload from the server's offset", async () => {
  // The 13th PATCH never gets an answer, so the first page cannot finish
  // before it is reloaded, however fast the machine.
  const proxy = await startProxy({ target: tusServer.origin, faults: [{ patch: 13, hang: true }] });
  const { context, page, errors } = await openPage();
  try {
    const options = {
      endpoint: `${proxy.origin}/files`,
      token: "test-token",
      fingerprint: "resumed-upload",
    };
    await page.evaluate((o) => window.startUpload(o), {
      source: "/source.zip",
      chunkSize: CHUNK,
      store: "localStorage",
      namespace: "auraloader-test",
      ...options,
    });
    const half = 12 * CHUNK;
    await page.waitForFunction((n) => window.seen.acknowledged >= n, half, { timeout: LIMIT_MS });
    assert.equal((await storageKeys(page)).length, 1, "the upload URL is stored while it runs");
    await page.reload();
    await page.waitForFunction(() => window.ready === true, null, { timeout: LIMIT_MS });
    const before = proxy.log.length;
    const result = await upload(page, options);
    assert.equal(result.outcomes[0]?.state, "completed", JSON.stringify(result.outcomes));
    assert.ok(storedBytes(result.outcomes[0].url).equals(SOURCE), "the stored bytes are the source's");
    const second = proxy.log.slice(before);
    assert.equal(proxy.log.filter((e) => e.method === "POST").length, 1, "no second creation");
    assert.equal(second[0].method, "HEAD", "the reloaded page asks for the offset first");
    const firstPatch = second.find((e) => e.method === "PATCH");
    assert.ok(firstPatch.offset >= half, `resumed at ${firstPatch.offset}, not from the start`);
    const sent = proxy.log.filter((e) => e.method === "PATCH").reduce((n, e) => n + e.bytes, 0);
    assert.ok(
      sent - SOURCE.length <= CHUNK,
      `at most one chunk is sent twice, not ${sent - SOURCE.length} bytes`,
    );
    assert.deepEqual(await storageKeys(page), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await proxy.close();
  }
});

test("cancel deletes the upload on the server", async () => {
  const proxy = await startProxy({ target: tusServer.origin });
  const { context, page } = await openPage();
  try {
    const result = await upload(page, {
      endpoint: `${proxy.origin}/files`,
      token: "test-token",
      fingerprint: "cancelled-upload",
      cancelAt: 4 * CHUNK,
    });
    assert.deepEqual(result.outcomes[0], { state: "terminated", deleted: true });
    const deletes = proxy.log.filter((e) => e.method === "DELETE");
    assert.equal(deletes.length, 1);
    assert.equal(deletes[0].status, 204);
    const created = result.events.find((e) => e.type === "created");
    const head = await fetch(created.url, { method: "HEAD", headers: { "Tus-Resumable": "1.0.0" } });
    assert.ok([404, 410].includes(head.status), `HEAD after DELETE: ${head.status}`);
    assert.deepEqual(await storageKeys(page), [], "a cancelled upload is forgotten");
  } finally {
    await context.close();
    await proxy.close();
  }
});

test("a dropped connection mid-PATCH and a 503 with Retry-After still end byte-exact", async () => {
  const proxy = await startProxy({
    target: tusServer.origin,
    faults: [
      { patch: 3, drop: 100_000 },
      { patch: 6, status: 503, retryAfter: 1 },
    ],
    closeConnections: true,
  });
  const { context, page } = await openPage();
  try {
    const result = await upload(page, {
      endpoint: `${proxy.origin}/files`,
      token: "test-token",
      fingerprint: "faulty-upload",
    });
    assert.equal(result.outcomes[0]?.state, "completed", JSON.stringify(result.outcomes));
    assert.ok(storedBytes(result.outcomes[0].url).equals(SOURCE), "the stored bytes are the source's");
    const patches = proxy.log.filter((e) => e.method === "PATCH");
    assert.match(patches[2].fault ?? "", /dropped/);
    assert.equal(patches[5].status, 503);
    const afterDrop = proxy.log[proxy.log.indexOf(patches[2]) + 1];
    assert.equal(afterDrop.method, "HEAD", "after a failed PATCH the offset is asked first");
    assert.equal(patches[3].offset, 2 * CHUNK + 100_000, "the kept part of the dropped PATCH is not re-sent");
    const retries = result.events.filter((e) => e.type === "retrying");
    assert.equal(retries.length, 2, JSON.stringify(retries));
    assert.match(retries[0].message, /connection failed/, "the drop reaches the driver as a network error");
    assert.ok(
      retries.some((e) => e.inMs >= 1000),
      `Retry-After: 1 is obeyed (read through CORS): ${JSON.stringify(retries)}`,
    );
  } finally {
    await context.close();
    await proxy.close();
  }
});

test("a PATCH without an answer is aborted as stalled and the upload goes on", async () => {
  const proxy = await startProxy({ target: tusServer.origin, faults: [{ patch: 2, hang: true }] });
  const { context, page } = await openPage();
  try {
    const result = await upload(page, {
      endpoint: `${proxy.origin}/files`,
      token: "test-token",
      fingerprint: "stalled-upload",
      stallTimeoutMs: 1500,
    });
    assert.equal(result.outcomes[0]?.state, "completed", JSON.stringify(result.outcomes));
    assert.ok(storedBytes(result.outcomes[0].url).equals(SOURCE), "the stored bytes are the source's");
    const retries = result.events.filter((e) => e.type === "retrying");
    assert.equal(retries.length, 1, JSON.stringify(retries));
    assert.match(retries[0].message, /nothing moved for 2 s/);
    const patches = proxy.log.filter((e) => e.method === "PATCH");
    assert.equal(patches[1].fault, "hung; the client gave up");
    assert.equal(proxy.log[proxy.log.indexOf(patches[1]) + 1].method, "HEAD");
    assert.equal(patches[2].offset, CHUNK, "the lost chunk is sent again from the server's offset");
  } finally {
    await context.close();
    await proxy.close();
  }
});

/** Runs the dev server on a free port; resolves to {origin, stop}. */
async function startDevServer(allowedOrigin) {
  const dataDir = mkdtempSync(join(tmpdir(), "auraloader-tus-dev-"));
  const probe = await startStatic({});
  const port = new URL(probe.origin).port; // a free port, released at once
  await probe.close();
  const origin = `http://127.0.0.1:${port}`;
  const child = spawn(
    serverBinary,
    ["--addr", `127.0.0.1:${port}`, "--data-dir", dataDir, "--allowed-origins", allowedOrigin],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill();
      // The server writes its database on the way out: remove the folder after.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const started = Date.now();
  for (;;) {
    try {
      await fetch(`${origin}/api/dev/uploads`);
      return { origin, stop };
    } catch {
      if (Date.now() - started > 30_000 || child.exitCode !== null) {
        await stop();
        throw new Error(`the dev server did not listen on ${origin} within 30 s`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test("uploads a generated zip to the dev server byte-exact", { skip: !existsSync(serverBinary) && `no dev server binary at ${serverBinary}` }, async () => {
  const dev = await startDevServer(site.origin);
  const { context, page, errors } = await openPage();
  try {
    const issued = await (await fetch(`${dev.origin}/demo/upload-token`, { method: "POST" })).json();
    const config = await (
      await fetch(`${dev.origin}/api/uploader/config`, {
        headers: { Authorization: `Bearer ${issued.token}`, "X-Api-Key": issued.api_key },
      })
    ).json();
    assert.ok(config.lift?.endpoint && config.lift?.token, JSON.stringify(Object.keys(config)));
    const result = await upload(page, {
      endpoint: config.lift.endpoint,
      token: config.lift.token,
      fingerprint: "dev-server-upload",
      metadata: { filename: "study.zip", filetype: "application/zip", mode: "bulk" },
    });
    assert.equal(result.outcomes[0]?.state, "completed", JSON.stringify(result.outcomes));
    const listing = await (await fetch(`${dev.origin}/api/dev/uploads`)).json();
    const id = new URL(result.outcomes[0].url).pathname.split("/").pop();
    const stored = listing.uploads.find((u) => u.id === id);
    assert.ok(stored, "the dev server lists the upload");
    assert.equal(stored.state, "complete");
    assert.equal(stored.length, SOURCE.length);
    assert.equal(stored.sha256, createHash("sha256").update(SOURCE).digest("hex"));
    assert.equal(stored.verified, true, stored.verify_error);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await dev.stop();
  }
});
