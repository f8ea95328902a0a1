// The whole upload through the widget's JS API in headless Chromium against
// the dev server (crates/server; the binary in $AURALOADER_SERVER, built by
// `cargo xtask test`): scan, upload/init, upload/start, zips prepared in Web
// Workers, tus PATCHes with the lift token, upload/complete; a cancel in
// the middle (tus DELETE, upload/cancel, onUploadCancel); dropped PATCHes
// (retry announced in the UI, then completion); destroy() in the middle and
// a resume of the same tus upload by a new widget (localStorage
// fingerprint); a refused lift token (onUploadError, upload/error).
//
// Fixture: synthetic studies written by `cargo xtask gen-study` (core
// `synth`, made-up patients) into a temp dir: two explicit-little-endian
// studies (their entries are deflated) and one JPEG baseline study (stored
// as is), 3 MiB and more in all, sent in 64 KiB chunks so every study takes
// many PATCHes. The page is served by the dev server itself (`--static`),
// beside the built package (dist/npm, from $AURALOADER_DIST).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

const repo = resolve(new URL("../..", import.meta.url).pathname);
const www = join(repo, "www");
const dist = resolve(process.env.AURALOADER_DIST ?? join(repo, "dist"));
const serverBinary = process.env.AURALOADER_SERVER ?? join(repo, "target/debug/auraloader-server");
const { launchChromium } = await import(join(www, "tools/chromium.mjs"));
const { startStatic } = await import(join(www, "tools/tus-servers.mjs"));
const { unzipSync } = await import(join(www, "node_modules/fflate/esm/index.mjs"));

const LIMIT_MS = 120_000;
const CHUNK = 64 * 1024;
const skip = !existsSync(serverBinary) && `no dev server binary at ${serverBinary}`;

// The page: the script-tag build of the widget, a recorder of its callbacks
// and a count of the tus requests the page sends.
const PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><title>upload test</title>
<div id="uploader"></div>
<script src="/npm/standalone-auraloader.js"></script>
<script>
window.requests = { PATCH: 0, DELETE: 0, POST: 0 };
const open = XMLHttpRequest.prototype.open;
XMLHttpRequest.prototype.open = function (method, ...rest) {
  window.requests[method] = (window.requests[method] ?? 0) + 1;
  this.testMethod = method;
  return open.call(this, method, ...rest);
};
// With window.holdPatchesAfter = N, PATCHes after the Nth are never sent
// (until the widget aborts them): the upload is held in the middle.
window.held = 0;
const send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.send = function (body) {
  if (this.testMethod === "PATCH" && window.holdPatchesAfter !== undefined && window.requests.PATCH > window.holdPatchesAfter) {
    window.held += 1;
    return undefined;
  }
  return send.call(this, body);
};
const realFetch = window.fetch;
window.fetch = function (input, init) {
  const method = (init && init.method) || (input && input.method) || "GET";
  const url = String((input && input.url) || input);
  if (url.includes("/files/")) window.requests[method] = (window.requests[method] ?? 0) + 1;
  return realFetch.call(this, input, init);
};
window.start = async (o) => {
  const issued = await (await fetch("/demo/upload-token", { method: "POST" })).json();
  const seen = { states: [], complete: [], errors: [], cancels: 0, found: [] };
  window.seen = seen;
  const files = [];
  for (const path of o.files) {
    const blob = await (await fetch("/study/" + path, { cache: "no-store" })).blob();
    files.push(new File([blob], path.replaceAll("/", "_"), { lastModified: 1700000000000 }));
  }
  const uploader = new StandaloneAuraloader({
    apiToken: issued.api_key,
    apiBaseUrl: location.origin + "/api",
    uploadToken: issued.token,
    containerId: "uploader",
    chunkSize: o.chunkSize,
    parallelUploads: o.parallelUploads,
    callbacks: {
      // The steps the state objects went through (each change of any field
      // gives a fresh object; the steps are what these tests follow).
      onStateChange: (s) => {
        if (seen.states.at(-1) !== s.step) seen.states.push(s.step);
      },
      onUploadComplete: (r) => seen.complete.push(r),
      onUploadError: (e) => seen.errors.push({ code: e.code, context: e.context, message: e.message }),
      onUploadCancel: () => { seen.cancels += 1; },
      onStudiesFound: (s) => seen.found.push(s.length),
    },
  });
  window.uploader = uploader;
  await uploader.init();
  await uploader.mount();
  await uploader.addFiles(files);
  window.uploading = uploader.upload().then(() => "resolved", (e) => "rejected: " + e.message);
  return files.length;
};
window.ready = true;
</script></html>`;

let root;
let server;
let browser;

/** Writes `cargo xtask gen-study` output into `dir`. */
function genStudy(dir, args) {
  const run = spawnSync("cargo", ["run", "--quiet", "--package", "xtask", "--", "gen-study", "--out", dir, ...args], {
    cwd: repo,
    encoding: "utf8",
    timeout: 600_000,
  });
  assert.equal(run.status, 0, `cargo xtask gen-study failed: ${run.stderr}`);
}

function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(root, path).split("\\").join("/").replace(/^study\//, ""));
    }
  };
  walk(dir);
  return out;
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

before(async () => {
  if (skip) return;
  root = mkdtempSync(join(tmpdir(), "auraloader-upload-test-"));
  genStudy(join(root, "study/a"), ["--studies", "2", "--series", "2", "--instances", "3", "--pixel-bytes", "200000", "--seed", "11"]);
  genStudy(join(root, "study/b"), [
    "--studies", "1", "--series", "1", "--instances", "4", "--pixel-bytes", "300000",
    "--transfer-syntax", "jpeg-baseline", "--seed", "12",
  ]);
  writeFileSync(join(root, "index.html"), PAGE);
  const probe = await startStatic({});
  const port = new URL(probe.origin).port; // a free port, released at once
  await probe.close();
  const origin = `http://127.0.0.1:${port}`;
  const dataDir = join(root, "data");
  const child = spawn(
    serverBinary,
    ["--addr", `127.0.0.1:${port}`, "--data-dir", dataDir, "--static", `${root},/npm=${join(dist, "npm")}`],
    { stdio: ["ignore", "ignore", "ignore"] },
  );
  server = { origin, dataDir, child };
  const started = Date.now();
  for (;;) {
    try {
      const response = await fetch(`${origin}/api/dev/uploads`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 30_000) throw new Error("the dev server did not start within 30 s");
    await new Promise((r) => setTimeout(r, 100));
  }
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.child.kill();
  if (root) rmSync(root, { recursive: true, force: true });
});

async function openPage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${server.origin}/index.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: LIMIT_MS });
  return { context, page, errors };
}

async function devUploads() {
  return (await fetch(`${server.origin}/api/dev/uploads`)).json();
}

async function until(what, probe) {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() - started > LIMIT_MS) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("the widget uploads three studies to the dev server: one verified zip each, entries byte-identical", { skip, timeout: 300_000 }, async () => {
  const files = filesUnder(join(root, "study"));
  const { context, page, errors } = await openPage();
  try {
    const count = await page.evaluate((o) => window.start(o), { files, chunkSize: CHUNK, parallelUploads: 2 });
    assert.equal(count, files.length);
    const outcome = await page.evaluate(
      (limit) => Promise.race([window.uploading, new Promise((r) => setTimeout(() => r("timeout"), limit))]),
      LIMIT_MS,
    );
    assert.equal(outcome, "resolved");
    const seen = await page.evaluate(() => window.seen);
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.found, [3]);
    assert.deepEqual(seen.states, ["processing", "pending", "uploading", "complete"]);
    assert.equal(seen.complete.length, 1);
    const result = seen.complete[0];
    // 2 studies x 2 series x 3 instances, and 1 x 1 x 4 (gen-study's arguments).
    assert.equal(result.successful, 16, "DICOM files uploaded");
    assert.equal(result.failed, 0);

    const dev = await devUploads();
    const session = dev.sessions.find((s) => s.upload_id === result.uploadId);
    assert.ok(session, `no session ${result.uploadId}`);
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "complete"]);
    const start = session.events[1];
    assert.equal(session.events[2].assembly_id, start.assembly_id, "complete names the assembly of start");
    assert.equal(session.studies.length, 3);
    // onUploadComplete: the server's study ids, in table order, with each
    // study's UID and the upload URL of its zip.
    assert.deepEqual(
      result.studies.map((s) => s.id).sort(),
      session.studies.map((s) => s.id).sort(),
    );
    for (const study of result.studies) {
      const stored = session.studies.find((s) => s.id === study.id);
      assert.equal(stored.study_uid, study.studyUid);
      assert.equal(stored.uploads.length, 1, `one zip for study ${study.id}`);
      const zip = stored.uploads[0];
      assert.equal(zip.state, "complete");
      assert.equal(zip.verified, true, zip.verify_error);
      assert.ok(study.uploadUrl.endsWith(`/files/${zip.id}`), `${study.uploadUrl} vs ${zip.id}`);
    }

    // Every input file is one entry of its study's zip, byte for byte.
    const inputs = files.map((f) => sha256(readFileSync(join(root, "study", f)))).sort();
    const entries = [];
    for (const study of session.studies) {
      const zip = study.uploads[0];
      const bytes = readFileSync(join(server.dataDir, "uploads", zip.id));
      assert.equal(bytes.length, zip.size);
      assert.equal(sha256(bytes), zip.sha256);
      const unzipped = unzipSync(new Uint8Array(bytes));
      const names = Object.keys(unzipped);
      assert.equal(names.length, zip.entry_count);
      assert.equal(names.length, study.images, `entries of study ${study.id}`);
      for (const name of names) {
        assert.ok(name.startsWith(`${study.study_uid}/`), `entry ${name} is under its study`);
        entries.push(sha256(unzipped[name]));
      }
    }
    assert.deepEqual(entries.sort(), inputs);

    const requests = await page.evaluate(() => window.requests);
    assert.ok(requests.PATCH > 3 * 2, `${requests.PATCH} PATCHes for three multi-chunk studies`);
    assert.equal(requests.DELETE, 0);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("cancel() in the middle: tus DELETE reaches the server, upload/cancel is recorded, onUploadCancel fires", { skip, timeout: 300_000 }, async () => {
  const files = filesUnder(join(root, "study/a"));
  const { context, page, errors } = await openPage();
  try {
    await page.evaluate(() => { window.holdPatchesAfter = 2; });
    await page.evaluate((o) => window.start(o), { files, chunkSize: CHUNK, parallelUploads: 1 });
    await page.waitForFunction(() => window.held >= 1, null, { timeout: LIMIT_MS });
    assert.equal(await page.evaluate(() => window.uploader.state.step), "uploading");
    await page.evaluate(() => window.uploader.cancel());
    const outcome = await page.evaluate(
      (limit) => Promise.race([window.uploading, new Promise((r) => setTimeout(() => r("timeout"), limit))]),
      LIMIT_MS,
    );
    assert.equal(outcome, "resolved");
    const seen = await page.evaluate(() => window.seen);
    assert.equal(seen.cancels, 1);
    assert.deepEqual(seen.complete, []);
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.states, ["processing", "pending", "uploading", "cancelled"]);

    const session = await until("upload/cancel and the terminated upload", async () => {
      const dev = await devUploads();
      const found = dev.sessions.find(
        (s) => s.events.some((e) => e.kind === "cancel") && s.studies.some((st) => st.uploads.length > 0),
      );
      const zips = found ? found.studies.flatMap((s) => s.uploads) : [];
      return zips.length > 0 && zips.every((z) => z.state === "terminated") ? found : null;
    });
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "cancel"]);
    const requests = await page.evaluate(() => window.requests);
    assert.ok(requests.DELETE >= 1, `DELETE sent: ${JSON.stringify(requests)}`);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("dropped PATCHes are retried: the widget says so, then recovers and completes a verified zip", { skip, timeout: 300_000 }, async () => {
  const files = filesUnder(join(root, "study/b"));
  const { context, page, errors } = await openPage();
  try {
    // The 2nd and 3rd PATCH fail as a reset connection would: the first
    // retry is at once, the second after 1 s, which the UI announces.
    let patches = 0;
    await context.route("**/files/*", (route) => {
      if (route.request().method() === "PATCH") {
        patches += 1;
        if (patches === 2 || patches === 3) return route.abort("connectionreset");
      }
      return route.continue();
    });
    await page.evaluate(() => {
      window.retryTexts = [];
      window.watch = setInterval(() => {
        const host = document.querySelector("#uploader .auraloader");
        const text = host?.shadowRoot?.querySelector(".aul-retrying")?.textContent;
        if (text && !window.retryTexts.includes(text)) window.retryTexts.push(text);
      }, 10);
    });
    await page.evaluate((o) => window.start(o), { files, chunkSize: CHUNK, parallelUploads: 1 });
    const outcome = await page.evaluate(
      (limit) => Promise.race([window.uploading, new Promise((r) => setTimeout(() => r("timeout"), limit))]),
      LIMIT_MS,
    );
    assert.equal(outcome, "resolved");
    const seen = await page.evaluate(() => window.seen);
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.states, ["processing", "pending", "uploading", "complete"]);
    assert.ok(patches > 3, `${patches} PATCHes`);
    const texts = await page.evaluate(() => window.retryTexts);
    assert.ok(texts.includes("Connection lost, retrying in 1 s"), JSON.stringify(texts));
    const result = seen.complete[0];
    const session = (await devUploads()).sessions.find((s) => s.upload_id === result.uploadId);
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "complete"]);
    const zip = session.studies[0].uploads[0];
    assert.equal(zip.state, "complete");
    assert.equal(zip.verified, true, zip.verify_error);
    const unzipped = unzipSync(new Uint8Array(readFileSync(join(server.dataDir, "uploads", zip.id))));
    const inputs = files.map((f) => sha256(readFileSync(join(root, "study", f)))).sort();
    assert.deepEqual(Object.values(unzipped).map(sha256).sort(), inputs);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("destroy() mid-upload abandons without DELETE; the same files in a new widget resume the same tus upload", { skip, timeout: 300_000 }, async () => {
  const files = filesUnder(join(root, "study/b"));
  const context = await browser.newContext();
  const errors = [];
  const open = async () => {
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.origin}/index.html`);
    await page.waitForFunction(() => window.ready === true, null, { timeout: LIMIT_MS });
    return page;
  };
  try {
    const first = await open();
    await first.evaluate(() => { window.holdPatchesAfter = 2; });
    await first.evaluate((o) => window.start(o), { files, chunkSize: CHUNK, parallelUploads: 1 });
    await first.waitForFunction(() => window.held >= 1, null, { timeout: LIMIT_MS });
    await first.evaluate(() => window.uploader.destroy());
    const firstSeen = await first.evaluate(() => window.seen);
    const firstRequests = await first.evaluate(() => window.requests);
    assert.equal(firstRequests.DELETE, 0, JSON.stringify(firstRequests));
    assert.equal(firstRequests.POST, 1, "one tus creation");
    assert.deepEqual(firstSeen.complete, []);
    await first.close();
    const before = (await devUploads()).uploads.filter((u) => u.state === "uploading");
    assert.equal(before.length, 1, JSON.stringify(before));
    assert.ok(before[0].offset >= 2 * CHUNK, `offset ${before[0].offset}`);

    // Same browser profile (localStorage), same files: a new widget resumes.
    const second = await open();
    await second.evaluate((o) => window.start(o), { files, chunkSize: CHUNK, parallelUploads: 1 });
    const outcome = await second.evaluate(
      (limit) => Promise.race([window.uploading, new Promise((r) => setTimeout(() => r("timeout"), limit))]),
      LIMIT_MS,
    );
    assert.equal(outcome, "resolved");
    const seen = await second.evaluate(() => window.seen);
    assert.deepEqual(seen.errors, []);
    assert.deepEqual(seen.states, ["processing", "pending", "uploading", "complete"]);
    const requests = await second.evaluate(() => window.requests);
    assert.equal(requests.POST, 0, `no new tus upload: ${JSON.stringify(requests)}`);
    assert.ok(requests.HEAD >= 1, `asked the server for the offset: ${JSON.stringify(requests)}`);
    assert.ok(seen.complete[0].studies[0].uploadUrl.endsWith(`/files/${before[0].id}`));
    const after = (await devUploads()).uploads.find((u) => u.id === before[0].id);
    assert.equal(after.state, "complete");
    assert.equal(after.verified, true, after.verify_error);
    const unzipped = unzipSync(new Uint8Array(readFileSync(join(server.dataDir, "uploads", after.id))));
    const inputs = files.map((f) => sha256(readFileSync(join(root, "study", f)))).sort();
    assert.deepEqual(Object.values(unzipped).map(sha256).sort(), inputs);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test("a tus server that refuses the lift token fails the upload: onUploadError auth_failed, upload/error recorded", { skip, timeout: 300_000 }, async () => {
  const files = filesUnder(join(root, "study/b"));
  const { context, page, errors } = await openPage();
  try {
    await context.route("**/files/", (route) =>
      route.request().method() === "POST"
        ? route.fulfill({ status: 401, headers: { "Tus-Resumable": "1.0.0", "Access-Control-Allow-Origin": "*" }, body: "" })
        : route.continue(),
    );
    await page.evaluate((o) => window.start(o), { files, chunkSize: CHUNK, parallelUploads: 1 });
    const outcome = await page.evaluate(
      (limit) => Promise.race([window.uploading, new Promise((r) => setTimeout(() => r("timeout"), limit))]),
      LIMIT_MS,
    );
    assert.equal(outcome, "resolved");
    const seen = await page.evaluate(() => window.seen);
    assert.deepEqual(seen.states, ["processing", "pending", "uploading", "error"]);
    assert.equal(seen.errors.length, 1);
    assert.equal(seen.errors[0].code, "auth_failed");
    assert.equal(seen.errors[0].context, "upload");
    assert.match(seen.errors[0].message, /HTTP 401/);
    assert.deepEqual(seen.complete, []);
    const session = await until("upload/error", async () => {
      const dev = await devUploads();
      return dev.sessions.find((s) => s.events.some((e) => e.kind === "error"));
    });
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "error"]);
    assert.match(session.events[2].message, /study 1 of 1 could not be uploaded/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
