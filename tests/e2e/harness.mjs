// The end-to-end harness: what every scenario of tests/e2e/*.test.mjs needs
// to drive the real widget the way a user meets it, and to check what
// reached the server.
//
// Why playwright-core (npm, in www/), pointed at the machine's Chromium
// ($CHROME, through www/tools/chromium.mjs) rather than a WebDriver client:
// - it downloads no browser: it drives the installed one over CDP;
// - the suite needs raw CDP, which WebDriver does not offer: a real folder
//   drop (Input.dispatchDragEvent with a path on disk, so the page gets a
//   true FileSystemDirectoryEntry and walks the real tree), the heap of the
//   page and of its workers (Runtime.getHeapUsage, Target auto-attach) and
//   their wasm memories (Runtime.queryObjects, globalLexicalScopeNames);
// - one process runs the page, the dev server, a fault-injecting tus proxy
//   and the checks, so a test can hold a request at the proxy until the
//   moment it needs.
//
// Pieces (each documented where it is defined):
// - env: the paths xtask passes (AURALOADER_DIST, AURALOADER_SERVER,
//   AURALOADER_XTASK, CHROME) with defaults for running a file by hand;
// - Scratch: temp dirs removed at the end; genStudy / listFiles: fixtures
//   from `cargo xtask gen-study`;
// - startDevServer: the dev server on a free loopback port with a temp data
//   dir, optionally behind startProxy (www/tools/tus-servers.mjs) for tus;
//   issueToken (a real AURA-HMAC-SHA256 exchange with HmacSigner), the
//   server's records (/api/dev/uploads) and stored zips;
// - openWidget: a browser context with the host page (page/widget.html),
//   the widget started and mounted, and helpers to drop a folder, read the
//   shadow DOM, press its buttons and read what the page recorded;
// - startMemorySampler: JS heap + wasm memory of the page and its workers;
// - checks of the published shapes (StudyInfo, UploadResult, errors,
//   states) and of stored zips against the input files (fflate, or entry
//   by entry for zips too big to hold in memory);
// - until, within: bounded waits.
//
// Every wait is bounded; every server listens on 127.0.0.1 only.

import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inflateRawSync } from "node:zlib";

const here = fileURLToPath(new URL(".", import.meta.url));

/** The paths the suite works with; `cargo xtask test` sets every variable. */
export const env = {
  repo: resolve(here, "../.."),
  /** The built package (`cargo xtask build`). */
  dist: resolve(process.env.AURALOADER_DIST ?? join(here, "../../dist")),
  /** The dev server binary. */
  server: resolve(process.env.AURALOADER_SERVER ?? join(here, "../../target/debug/auraloader-server")),
  /** The xtask binary (for gen-study); unset: `cargo run -p xtask`. */
  xtask: process.env.AURALOADER_XTASK ?? null,
  /** The host page's folder, served at /e2e/. */
  page: join(here, "page"),
};

/** Longest wait for any one thing (a step, a server record, an upload). */
export const LIMIT_MS = 120_000;

const www = join(env.repo, "www");
const { launchChromium } = await import(pathToFileURL(join(www, "tools/chromium.mjs")).href);
const { startProxy } = await import(pathToFileURL(join(www, "tools/tus-servers.mjs")).href);
const { zipEntries } = await import(pathToFileURL(join(www, "tools/zipfile.mjs")).href);
const { procStatus, rendererPid, resetPeak } = await import(pathToFileURL(join(www, "tools/proc.mjs")).href);
const { unzipSync } = await import(pathToFileURL(join(www, "node_modules/fflate/esm/index.mjs")).href);

/** Throws, saying what to do, when the built package or the server is missing. */
export function checkEnv() {
  const missing = [];
  if (!existsSync(join(env.dist, "npm/standalone-auraloader.js"))) {
    missing.push(`the built package in ${env.dist} (run cargo xtask build, or set AURALOADER_DIST)`);
  }
  if (!existsSync(env.server)) {
    missing.push(`the dev server at ${env.server} (cargo build -p auraloader-server, or set AURALOADER_SERVER)`);
  }
  if (!process.env.CHROME) missing.push("a Chromium binary in CHROME");
  if (missing.length) throw new Error(`the end-to-end suite needs ${missing.join("; ")}`);
}

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves after `ms` without keeping the process alive (for races). */
const deadline = (ms) => new Promise((r) => setTimeout(r, ms).unref());

/** `promise`'s value, or a rejection naming `what` if it takes over `ms`. */
export async function within(ms, what, promise) {
  const late = Symbol("late");
  const value = await Promise.race([promise, deadline(ms).then(() => late)]);
  if (value === late) throw new Error(`${what} took over ${ms} ms`);
  return value;
}

/**
 * Polls `probe` every `everyMs` until it returns a truthy value, which it
 * resolves to; throws after `limitMs`, naming `what`.
 */
export async function until(what, probe, { limitMs = LIMIT_MS, everyMs = 100 } = {}) {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() - started > limitMs) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Hex SHA-256 of bytes. */
export const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");

/** Temp dirs of one test file, removed by `cleanup()` (call it in `after`). */
export class Scratch {
  #dirs = [];

  /** A new empty dir under the OS temp dir; `name` shows in its path. */
  dir(name) {
    const dir = mkdtempSync(join(tmpdir(), `auraloader-e2e-${name}-`));
    this.#dirs.push(dir);
    return dir;
  }

  /** Removes every dir made here. */
  cleanup() {
    for (const dir of this.#dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes a synthetic folder with `cargo xtask gen-study --out dir ...args`
 * (core `synth`: made-up patients only) and returns its files.
 */
export function genStudy(dir, args) {
  const [command, prefix] = env.xtask
    ? [env.xtask, []]
    : ["cargo", ["run", "--quiet", "--package", "xtask", "--"]];
  const run = spawnSync(command, [...prefix, "gen-study", "--out", dir, ...args], {
    cwd: env.repo,
    encoding: "utf8",
    timeout: 600_000,
  });
  if (run.status !== 0) throw new Error(`gen-study ${args.join(" ")} failed: ${run.error ?? run.stderr}`);
  return listFiles(dir);
}

/** Every file under `dir`, sorted: {rel (with `/`), abs, size}. */
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const abs = join(d, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else out.push({ rel: relative(dir, abs).split("\\").join("/"), abs, size: statSync(abs).size });
    }
  };
  walk(dir);
  return out;
}

/** A free TCP port on 127.0.0.1 (bound by the OS, then released). */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

let hmac = null;
/** The Node entry of the built package (HmacSigner). */
async function hmacSigner() {
  hmac ??= await import(pathToFileURL(join(env.dist, "npm/node.js")).href);
  return hmac.HmacSigner;
}

/**
 * The dev server (`crates/server`) on a free 127.0.0.1 port with a fresh
 * data dir under `scratch`, serving the host page at /e2e/ and the built
 * package at /npm/. Options:
 * - `args`: more server flags (e.g. `["--lift-token-ttl", "5"]`);
 * - `tusProxy`: when set (the options of startProxy but `target`), tus goes
 *   through a logging, fault-injecting proxy: the server runs with
 *   `--public-url` naming the proxy (so `lift.endpoint` and every
 *   `Location` point there) and `--allowed-origins` naming the page's
 *   origin (the proxy is another origin, so every tus request is a CORS
 *   request and its headers must be exposed).
 * Resolves to a DevServer.
 */
export async function startDevServer(scratch, { args = [], tusProxy = null } = {}) {
  let lastError = null;
  // A port picked free can be taken before the server binds it: try again.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const proxy = tusProxy ? await startProxy({ ...tusProxy, target: origin }) : null;
    const dataDir = join(scratch.dir("data"), "data");
    const flags = [
      "--addr", `127.0.0.1:${port}`,
      "--data-dir", dataDir,
      "--static", `/e2e=${env.page},/npm=${join(env.dist, "npm")}`,
      ...(proxy ? ["--public-url", proxy.origin, "--allowed-origins", origin] : []),
      ...args,
    ];
    const child = spawn(env.server, flags, { stdio: ["ignore", "pipe", "pipe"] });
    const server = new DevServer({ origin, dataDir, child, proxy });
    try {
      await server.ready();
      return server;
    } catch (error) {
      lastError = error;
      await server.stop();
    }
  }
  throw lastError;
}

/** Servers still running; killed if the process exits without stopping them. */
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill();
});

/** A running dev server: its origin, data dir, demo credentials, records. */
export class DevServer {
  #stdout = "";
  #stderr = "";
  #exited = null;

  constructor({ origin, dataDir, child, proxy }) {
    /** `http://127.0.0.1:port`. */
    this.origin = origin;
    /** Its data dir (SQLite, stored uploads under `uploads/`). */
    this.dataDir = dataDir;
    /** The tus proxy ({origin, log, setRate}) or null. */
    this.proxy = proxy;
    this.child = child;
    child.stdout.setEncoding("utf8").on("data", (text) => {
      this.#stdout += text;
    });
    // Logs carry no secrets nor patient data; kept for failure messages.
    child.stderr.setEncoding("utf8").on("data", (text) => {
      this.#stderr = (this.#stderr + text).slice(-8000);
    });
    running.add(child);
    child.on("exit", (code, signal) => {
      running.delete(child);
      this.#exited = `exited with ${code ?? signal}`;
    });
  }

  /** Waits until the server prints its URL (after binding) and answers. */
  async ready() {
    await until("the dev server to start", async () => {
      if (this.#exited) throw new Error(`the dev server ${this.#exited}: ${this.#stderr.trim().slice(-2000)}`);
      return this.#stdout.includes("auraloader-server: http");
    }, { limitMs: 30_000, everyMs: 50 });
    await until("the dev server to answer", async () => {
      try {
        return (await fetch(`${this.origin}/api/dev/uploads`)).ok;
      } catch {
        return false;
      }
    }, { limitMs: 30_000, everyMs: 50 });
    const value = (key) => this.#stdout.match(new RegExp(`${key}=(\\S+)`))?.[1];
    /** The demo app's credentials, printed on the first start. */
    this.credentials = { appId: value("AURA_APP_ID"), appSecret: value("AURA_APP_SECRET"), apiKey: value("SERVICE_API_KEY") };
    assert.ok(this.credentials.appId && this.credentials.appSecret && this.credentials.apiKey, "no demo credentials printed");
  }

  /** The server's last log lines (for failure messages). */
  log() {
    return this.#stderr;
  }

  /**
   * An upload token from a real `POST /api/auth/exchange`, signed in Node
   * with the package's HmacSigner as a partner backend would: `ttl`
   * seconds, every scope. Resolves to {apiKey, uploadToken, expiresAt}.
   */
  async issueToken({ ttl = 3600 } = {}) {
    const HmacSigner = await hmacSigner();
    const signer = new HmacSigner(this.credentials.appId, this.credentials.appSecret);
    const config = {
      method: "POST",
      url: "/auth/exchange",
      baseURL: `${this.origin}/api`,
      headers: { "Content-Type": "application/json", "X-Api-Key": this.credentials.apiKey },
      data: { ttl, scopes: ["upload:init", "upload:manage", "integration:read"] },
    };
    await signer.sign(config);
    const response = await fetch(`${config.baseURL}${config.url}`, {
      method: "POST",
      headers: config.headers,
      body: JSON.stringify(config.data),
    });
    const body = await response.json();
    assert.equal(response.status, 200, `auth/exchange: ${JSON.stringify(body)}`);
    return { apiKey: this.credentials.apiKey, uploadToken: body.token, expiresAt: body.expires_at };
  }

  /** `GET /api/dev/uploads`: {sessions: [...], uploads: [...]}. */
  async records() {
    const response = await fetch(`${this.origin}/api/dev/uploads`);
    assert.equal(response.status, 200);
    return response.json();
  }

  /** The session of `uploadId` in the records (or undefined). */
  async session(uploadId) {
    return (await this.records()).sessions.find((s) => s.upload_id === uploadId);
  }

  /** The tus upload `id` in the records (or undefined). */
  async tusUpload(id) {
    return (await this.records()).uploads.find((u) => u.id === id);
  }

  /**
   * The tus upload `id` once the server has finished it: all bytes in,
   * the zip hashed and every entry read (the dev server does this before
   * answering the last PATCH; a client whose last PATCH outlived its stall
   * timeout learns the offset from a HEAD and may be done first).
   */
  finishedUpload(id, { limitMs = LIMIT_MS } = {}) {
    return until(`the server to finish upload ${id}`, async () => {
      const upload = await this.tusUpload(id);
      return upload?.state === "complete" ? upload : null;
    }, { limitMs, everyMs: 250 });
  }

  /** The path of the stored bytes of the tus upload `id`. */
  storedPath(id) {
    return join(this.dataDir, "uploads", id);
  }

  /** The stored bytes of the tus upload `id`. */
  storedBytes(id) {
    return readFileSync(this.storedPath(id));
  }

  /** Stops the server (and its proxy) and waits for it to exit. */
  async stop() {
    await this.proxy?.close();
    if (!this.#exited) {
      const exited = new Promise((r) => this.child.once("exit", r));
      this.child.kill();
      await Promise.race([exited, deadline(10_000)]);
    }
  }
}

/** The tus upload id at the end of an upload URL (`…/files/<id>`). */
export const uploadIdOf = (url) => new URL(url).pathname.split("/").pop();

/**
 * Checks that `zip` (bytes) holds exactly `files` ({abs}), each as one
 * entry byte for byte, and that every entry sits under `prefix` (the
 * study's UID folder). Returns the entry count.
 */
export function assertZipHolds(zip, files, prefix) {
  const entries = unzipSync(new Uint8Array(zip));
  const names = Object.keys(entries);
  for (const name of names) assert.ok(name.startsWith(`${prefix}/`), `entry ${name} is not under ${prefix}/`);
  const stored = names.map((n) => sha256(entries[n])).sort();
  const inputs = files.map((f) => sha256(readFileSync(f.abs))).sort();
  assert.equal(stored.length, inputs.length, `${stored.length} entries for ${inputs.length} input files`);
  assert.deepEqual(stored, inputs, "the entries are not byte-identical to the input files");
  return names.length;
}

/**
 * Like assertZipHolds, for a zip file too large to unzip in memory: each
 * entry is read (and inflated when deflated) on its own. Returns the entry
 * count.
 */
export function assertZipFileHolds(path, files, prefix) {
  const entries = zipEntries(path);
  const fd = openSync(path, "r");
  const stored = [];
  try {
    for (const entry of entries) {
      assert.ok(entry.name.startsWith(`${prefix}/`), `entry ${entry.name} is not under ${prefix}/`);
      const raw = Buffer.alloc(entry.compressedSize);
      assert.equal(readSync(fd, raw, 0, raw.length, entry.dataOffset), raw.length, `zip: short entry ${entry.name}`);
      assert.ok(entry.method === 0 || entry.method === 8, `entry ${entry.name}: method ${entry.method}`);
      const data = entry.method === 8 ? inflateRawSync(raw) : raw;
      assert.equal(data.length, entry.size, `entry ${entry.name}: size`);
      stored.push(sha256(data));
    }
  } finally {
    closeSync(fd);
  }
  stored.sort();
  const inputs = files.map((f) => sha256(readFileSync(f.abs))).sort();
  assert.equal(stored.length, inputs.length, `${stored.length} entries for ${inputs.length} input files`);
  assert.deepEqual(stored, inputs, "the entries are not byte-identical to the input files");
  return entries.length;
}

/** The published steps (`state.step` of `onStateChange` and `state`). */
export const STATES = ["start", "processing", "pending", "uploading", "complete", "error", "cancelled"];

/** The published fields of the state object, with their types. */
const STATE_FIELDS = {
  step: "string", totalFiles: "number", studiesCount: "number", seriesCount: "number", studies: "array",
  complete: "boolean", studyId: "string", zipping: "boolean", errorMessage: "string", connectionIssues: "boolean",
};
/** auraloader's extra fields of the state object (README, index.d.ts). */
const STATE_EXTRAS = {
  scan: "object", bytesSent: "number", bytesTotal: "number", bytesPerSecond: "number|null", secondsLeft: "number|null",
  retryInSeconds: "number|null", uploads: "array", errorCode: "string", skipped: "array", warnings: "array",
};

const typeOf = (v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** Checks one state object: every published field and extra, of its type, nothing else. */
export function assertStateShape(state) {
  const expected = { ...STATE_FIELDS, ...STATE_EXTRAS };
  assert.deepEqual(Object.keys(state).sort(), Object.keys(expected).sort(), "state object fields");
  for (const [key, type] of Object.entries(expected)) {
    assert.ok(type.split("|").includes(typeOf(state[key])), `state.${key} is ${typeOf(state[key])}, not ${type}`);
  }
  assert.ok(STATES.includes(state.step), state.step);
  assert.equal(state.complete, state.step === "complete", "complete with the complete step");
  assert.equal(state.errorMessage !== "", state.step === "error", "an error message in the error step only");
  assert.equal(state.studiesCount, state.studies.length);
  assert.equal(state.totalFiles, state.studies.reduce((n, s) => n + s.images, 0));
  assert.equal(state.seriesCount, state.studies.reduce((n, s) => n + s.series_count, 0));
}

/**
 * The callbacks in order, each onStateChange named by its step and kept only
 * when its step differs from the previous state object's: what a host page
 * that follows `state.step` sees.
 */
export function callSequence(calls) {
  let step = null;
  const out = [];
  for (const call of calls) {
    if (call.name !== "onStateChange") {
      out.push(call.name);
    } else if (call.value.step !== step) {
      step = call.value.step;
      out.push(`onStateChange:${step}`);
    }
  }
  return out;
}

/** The steps of the onStateChange calls, each once per run of equal steps. */
export const stepsOf = (calls) =>
  callSequence(calls.filter((c) => c.name === "onStateChange")).map((c) => c.replace("onStateChange:", ""));

const STUDY_INFO_KEYS = [
  "study_uid", "study_description", "institution_name", "patient_id", "patient_name",
  "study_date", "study_time", "modalities", "series", "images", "series_count",
];
const SERIES_INFO_KEYS = [
  "study_instance_uid", "series_instance_uid", "modality", "series_description",
  "body_part_examined", "series_date", "series_time", "study_date", "series_number",
];

/** Checks one `StudyInfo` of `onStudiesFound` against docs/spec/API.md. */
export function assertStudyInfoShape(info) {
  assert.deepEqual(Object.keys(info), STUDY_INFO_KEYS, "StudyInfo keys, in the spec's order");
  for (const key of STUDY_INFO_KEYS.slice(0, 7)) assert.equal(typeof info[key], "string", `StudyInfo.${key}`);
  assert.ok(Array.isArray(info.modalities) && info.modalities.every((m) => typeof m === "string"), "modalities");
  assert.ok(Number.isInteger(info.images) && Number.isInteger(info.series_count), "images, series_count");
  assert.equal(Object.keys(info.series).length, info.series_count, "series_count is the number of series");
  for (const [uid, series] of Object.entries(info.series)) {
    assert.deepEqual(Object.keys(series), SERIES_INFO_KEYS, "series keys, in the spec's order");
    for (const key of SERIES_INFO_KEYS) assert.equal(typeof series[key], "string", `series.${key}`);
    assert.equal(series.series_instance_uid, uid);
    assert.equal(series.study_instance_uid, info.study_uid);
  }
}

/** Checks an `onUploadComplete` result: {uploadId, studies: [{id, studyUid, uploadUrl}], successful, failed}. */
export function assertUploadResultShape(result) {
  assert.deepEqual(Object.keys(result).sort(), ["failed", "studies", "successful", "uploadId"]);
  assert.ok(Number.isInteger(result.successful) && result.successful > 0, "successful counts the files uploaded");
  assert.equal(result.failed, 0);
  assert.match(result.uploadId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, "uploadId is a UUID v4");
  assert.ok(Array.isArray(result.studies));
  for (const study of result.studies) {
    assert.deepEqual(Object.keys(study).sort(), ["id", "studyUid", "uploadUrl"]);
    for (const key of ["id", "studyUid", "uploadUrl"]) assert.equal(typeof study[key], "string", key);
  }
}

/** Checks an `onUploadError` argument: an `AuraloaderError` with context, code, message, statusCode. */
export function assertErrorShape(error, { code, statusCode, context = "upload" }) {
  assert.equal(error.isError, true, "an Error object");
  assert.equal(error.name, "AuraloaderError");
  assert.equal(error.context, context);
  assert.equal(error.code, code);
  assert.equal(typeof error.message, "string");
  assert.ok(error.message.length > 0);
  assert.equal(error.statusCode, statusCode);
}

/**
 * Drops the folder `dir` (an absolute path) on the element of `locator`
 * through the page's CDP session `cdp`: Input.dispatchDragEvent with the
 * path as the dragged file, so the page receives a real drop whose item is
 * a FileSystemDirectoryEntry of the real tree.
 */
export async function dropFolderOn(cdp, locator, dir) {
  const box = await locator.boundingBox();
  assert.ok(box, "the drop zone is on screen");
  const at = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  const data = { items: [], files: [dir], dragOperationsMask: 1 };
  for (const type of ["dragEnter", "dragOver", "drop"]) {
    await cdp.send("Input.dispatchDragEvent", { type, ...at, data });
  }
}

/** Launches headless Chromium (the machine's, from $CHROME). */
export function launchBrowser() {
  return launchChromium();
}

/**
 * Opens the host page in a new browser context (its own localStorage) on
 * `server`, then starts the widget with a fresh token and `settings`.
 * Resolves to a WidgetPage.
 */
export async function openWidget(browser, server, { settings = {}, ttl } = {}) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const widget = new WidgetPage(context, page, server);
  await widget.load();
  await widget.start({ settings, ttl });
  return widget;
}

/** The host page with the widget, and what it saw. */
export class WidgetPage {
  constructor(context, page, server) {
    this.context = context;
    this.page = page;
    this.server = server;
    /** Every request the page sent, in order: {method, url, path, status, failed}. */
    this.requests = [];
    /** Uncaught page errors. */
    this.errors = [];
    /** Console lines. */
    this.console = [];
    page.setDefaultTimeout(LIMIT_MS);
    page.on("pageerror", (e) => this.errors.push(String(e)));
    page.on("console", (m) => this.console.push(m.text()));
    const entries = new Map();
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.protocol !== "http:") return;
      const entry = { method: request.method(), url: request.url(), path: url.pathname, status: null, failed: null };
      entries.set(request, entry);
      this.requests.push(entry);
    });
    page.on("response", (response) => {
      const entry = entries.get(response.request());
      if (entry) entry.status = response.status();
    });
    page.on("requestfailed", (request) => {
      const entry = entries.get(request);
      if (entry) entry.failed = request.failure()?.errorText ?? "failed";
    });
  }

  /** Loads the host page (again). */
  async load() {
    await this.page.goto(`${this.server.origin}/e2e/widget.html`);
    await this.page.waitForFunction(() => window.e2e?.ready === true);
    this.cdp ??= await this.context.newCDPSession(this.page);
  }

  /** Reloads the page, as a user pressing F5: the widget is gone. */
  async reload() {
    await this.page.reload();
    await this.page.waitForFunction(() => window.e2e?.ready === true);
  }

  /**
   * Gets an upload token (`ttl` s) and creates, initialises and mounts the
   * widget with it and `settings`. Resolves to the token.
   */
  async start({ settings = {}, ttl } = {}) {
    const token = await this.server.issueToken({ ttl });
    /** The upload token of the widget now running: {apiKey, uploadToken, expiresAt}. */
    this.token = token;
    await this.page.evaluate((o) => window.e2e.start(o), { apiToken: token.apiKey, uploadToken: token.uploadToken, settings });
    await this.waitForStep("start");
    return token;
  }

  /** A locator inside the widget (Playwright's CSS engine pierces the open shadow root). */
  locator(selector) {
    return this.page.locator(`#uploader ${selector}`);
  }

  /**
   * Drops the folder `dir` (an absolute path) on the drop zone as a user
   * would: CDP Input.dispatchDragEvent with the path as the dragged file,
   * so the page receives a real drop whose item is a
   * FileSystemDirectoryEntry of the real tree (this works on an http://
   * page; on file:// Chromium refuses readEntries).
   */
  async dropFolder(dir) {
    await dropFolderOn(this.cdp, this.locator(".aul-dropzone"), dir);
  }

  /** The step the widget shows (`data-step`). */
  step() {
    return this.locator("[data-step]").getAttribute("data-step");
  }

  /** Waits until the widget shows `step`. */
  async waitForStep(step, { limitMs = LIMIT_MS } = {}) {
    await this.locator(`[data-step="${step}"]`).waitFor({ timeout: limitMs });
  }

  /** The rows of the studies table, as shown. */
  studyRows() {
    return this.locator("tbody tr").evaluateAll((rows) =>
      rows.map((row) => {
        const cells = [...row.querySelectorAll("td")].map((td) => td.textContent);
        return {
          uid: row.getAttribute("data-study-uid"),
          patient: cells[0],
          birthDate: cells[1],
          studyDate: cells[2],
          description: cells[3],
          modalities: cells[4],
          series: Number(cells[5]),
          images: Number(cells[6]),
          size: cells[7],
        };
      }),
    );
  }

  /** The skipped files as listed: [{path, reason}]. */
  skippedRows() {
    return this.locator(".aul-skipped li").evaluateAll((items) =>
      items.map((li) => ({
        path: li.querySelector(".aul-path")?.textContent ?? "",
        reason: li.textContent.replace(li.querySelector(".aul-path")?.textContent ?? "", "").replace(/^: /, ""),
      })),
    );
  }

  /** Presses the Remove button of the study `uid`. */
  removeStudy(uid) {
    return this.locator(`tr[data-study-uid="${uid}"] .aul-remove`).click();
  }

  /** Presses Upload. */
  clickUpload() {
    return this.locator(".aul-upload").click();
  }

  /** Presses Cancel (processing, review or uploading step). */
  clickCancel() {
    return this.locator(".aul-cancel").click();
  }

  /** Every callback so far: [{name, args, value, at}]. */
  calls() {
    return this.page.evaluate(() => window.e2e.calls);
  }

  /** The callbacks named `name`, their values in order. */
  async callsOf(name) {
    return (await this.calls()).filter((c) => c.name === name).map((c) => c.value);
  }

  /** Waits for the callback `name` to have fired `count` times; resolves to its values. */
  async waitForCall(name, { count = 1, limitMs = LIMIT_MS } = {}) {
    return until(`${count} × ${name}`, async () => {
      const values = await this.callsOf(name);
      return values.length >= count ? values : null;
    }, { limitMs });
  }

  /** What the widget showed over time: {steps, retrying, errors}. */
  seen() {
    return this.page.evaluate(() => window.e2e.seen);
  }

  /** The page's heartbeat: {beats, maxGapMs}. */
  heartbeat() {
    return this.page.evaluate(() => ({ beats: window.e2e.beats, maxGapMs: window.e2e.maxGapMs }));
  }

  /** The requests to paths starting with `prefix`, as `METHOD path`. */
  requestsTo(prefix) {
    return this.requests.filter((r) => r.path.startsWith(prefix)).map((r) => `${r.method} ${r.path}`);
  }

  /** Closes the context. */
  close() {
    return this.context.close();
  }
}

/**
 * Samples, every `everyMs`, the JS heap (Runtime.getHeapUsage usedSize)
 * and the wasm memories (buffer.byteLength) of the page and of each of its
 * workers (attached through a CDP session of its own with
 * Target.setAutoAttach). The page's wasm memories are every
 * WebAssembly.Memory on its heap (Runtime.queryObjects); a worker's are
 * those its global variables hold (Runtime.globalLexicalScopeNames and the
 * global object: a memory, an instance's or its exports' `memory`), since
 * queryObjects crashes a renderer whose worker runs wasm. `stop()` resolves
 * to {samples, peak} where each sample is {at, pageHeap, pageBuffers,
 * pageWasm, workerHeap, workerBuffers, workerWasm, buffers (page +
 * workers), workers, total} in bytes: `*Heap` is the JS heap's used size,
 * `*Buffers` the ArrayBuffer backing stores (CDP backingStorageSize, which
 * leaves wasm memories out), `*Wasm` the wasm memories, and `total` all of
 * them, page and workers; the peak is the sample with the highest total.
 */
export async function startMemorySampler(widget, { everyMs = 250 } = {}) {
  const cdp = await widget.context.newCDPSession(widget.page);
  const workers = new Set();
  let nextId = 0;
  const pending = new Map();
  cdp.on("Target.attachedToTarget", (e) => {
    if (e.targetInfo.type === "worker") workers.add(e.sessionId);
  });
  cdp.on("Target.detachedFromTarget", (e) => workers.delete(e.sessionId));
  cdp.on("Target.receivedMessageFromTarget", (e) => {
    const message = JSON.parse(e.message);
    const answer = pending.get(message.id);
    if (answer) {
      pending.delete(message.id);
      answer(message);
    }
  });
  // Messages to a worker travel inside Target.sendMessageToTarget (the
  // non-flattened protocol, so this session leaves Playwright's own alone).
  const inWorker = (sessionId) => (method, params = {}) =>
    new Promise((resolveAnswer) => {
      const id = ++nextId;
      const timer = setTimeout(() => {
        pending.delete(id);
        resolveAnswer({ error: "no answer" });
      }, 5_000);
      pending.set(id, (m) => {
        clearTimeout(timer);
        resolveAnswer(m);
      });
      cdp.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method, params }) }).catch(() => {
        clearTimeout(timer);
        pending.delete(id);
        resolveAnswer({ error: "gone" });
      });
    });
  const onPage = async (method, params = {}) => ({ result: await cdp.send(method, params) });
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });

  /** {heap: JS heap used, buffers: ArrayBuffer backing stores (not counting wasm memories: Chromium 156 leaves them out of backingStorageSize)}. */
  const heapOf = async (send) => {
    const usage = (await send("Runtime.getHeapUsage")).result;
    return { heap: usage?.usedSize ?? 0, buffers: usage?.backingStorageSize ?? 0 };
  };
  /** Every WebAssembly.Memory on the page's heap. */
  const pageWasm = async () => {
    const proto = (await onPage("Runtime.evaluate", { expression: "WebAssembly.Memory.prototype" })).result?.result?.objectId;
    if (!proto) return 0;
    const found = (await onPage("Runtime.queryObjects", { prototypeObjectId: proto })).result?.objects?.objectId;
    let bytes = 0;
    if (found) {
      const sum = await onPage("Runtime.callFunctionOn", {
        objectId: found,
        functionDeclaration: "function () { return this.reduce((n, m) => n + m.buffer.byteLength, 0); }",
        returnByValue: true,
      });
      bytes = sum.result?.result?.value ?? 0;
      await onPage("Runtime.releaseObject", { objectId: found });
    }
    await onPage("Runtime.releaseObject", { objectId: proto });
    return bytes;
  };
  /** The wasm memories a worker's globals hold. */
  const workerWasm = async (send) => {
    const names = (await send("Runtime.globalLexicalScopeNames")).result?.names ?? [];
    const read = names
      .filter((n) => /^[A-Za-z_$][\w$]*$/.test(n))
      .map((n) => `(() => { try { return ${n}; } catch { return undefined; } })()`);
    const expression = `(() => {
      const seen = new Set();
      const add = (m) => { if (m instanceof WebAssembly.Memory) seen.add(m); };
      const look = (v) => {
        if (!v || (typeof v !== "object" && typeof v !== "function")) return;
        add(v);
        try { add(v.memory); } catch {}
        try { if (v instanceof WebAssembly.Instance) add(v.exports.memory); } catch {}
      };
      for (const v of [${read.join(", ")}]) look(v);
      for (const key of Object.getOwnPropertyNames(globalThis)) { try { look(globalThis[key]); } catch {} }
      let bytes = 0;
      for (const m of seen) bytes += m.buffer.byteLength;
      return bytes;
    })()`;
    return (await send("Runtime.evaluate", { expression, returnByValue: true })).result?.result?.value ?? 0;
  };

  const samples = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const page = { ...(await heapOf(onPage)), wasm: await pageWasm() };
        const inWorkers = await Promise.all(
          [...workers].map(async (session) => {
            const send = inWorker(session);
            return { ...(await heapOf(send)), wasm: await workerWasm(send) };
          }),
        );
        const sum = (key) => inWorkers.reduce((n, w) => n + w[key], 0);
        samples.push({
          at: Date.now(),
          pageHeap: page.heap,
          pageWasm: page.wasm,
          workerHeap: sum("heap"),
          workerWasm: sum("wasm"),
          pageBuffers: page.buffers,
          workerBuffers: sum("buffers"),
          buffers: page.buffers + sum("buffers"),
          workers: inWorkers.length,
          // Everything the page and its workers hold: JS heap objects,
          // ArrayBuffer backing stores (file bytes read, compressed bytes
          // copied out of wasm: live or garbage not yet collected) and wasm
          // memories.
          total: page.heap + page.buffers + page.wasm + sum("heap") + sum("buffers") + sum("wasm"),
        });
      } catch {
        // The page navigated or a worker ended between two calls: next round.
      }
      await sleep(everyMs);
    }
  })();
  return {
    /** Stops sampling; resolves to {samples, peak}. */
    async stop() {
      running = false;
      await loop;
      await cdp.detach().catch(() => {});
      const peak = samples.reduce((best, s) => (s.total > (best?.total ?? -1) ? s : best), null);
      return { samples, peak };
    },
  };
}

/**
 * Samples the resident memory (VmRSS, and the kernel's peak VmHWM, reset at
 * the start where allowed) of `widget`'s renderer process, which runs its
 * page and its workers: what the machine really gives the tab, including
 * memory V8 no longer counts. The renderer is the one whose CPU time grows
 * while the page spins (CDP SystemInfo.getProcessInfo). Resolves null where
 * /proc is not there (not Linux).
 */
export async function startRssSampler(browser, widget, { everyMs = 250 } = {}) {
  if (process.platform !== "linux") return null;
  const cdp = await browser.newBrowserCDPSession();
  const pid = await rendererPid(cdp, widget.page);
  await cdp.detach().catch(() => {});
  assert.ok(pid, "the page's renderer process was found");
  const base = procStatus(pid, "VmRSS");
  assert.ok(base !== null, `the renderer's /proc/${pid}/status is readable`);
  const hwmReset = resetPeak(pid);
  let peak = base;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, procStatus(pid, "VmRSS") ?? 0);
      await sleep(everyMs);
    }
  })();
  return {
    pid,
    base,
    /** Stops; resolves to {base, peak, growth} in bytes (peak counts VmHWM when it was reset). */
    async stop() {
      running = false;
      await loop;
      if (hwmReset) peak = Math.max(peak, procStatus(pid, "VmHWM") ?? 0);
      return { base, peak, growth: peak - base, hwmReset };
    },
  };
}

/** Bytes as MiB with one decimal, for test output. */
export const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
