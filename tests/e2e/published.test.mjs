// The published package's JavaScript surface, as an integration written
// against it meets auraloader (docs/spec/API.md, "The widget's JavaScript
// surface"; issue 13):
//
// 1. tests/e2e/published/integration.ts, a TypeScript program that uses the
//    published names and fields only (the default import, every published
//    type, the HMAC helpers and constants, state.step, result.successful,
//    error.context), compiles under `strict` against dist/npm installed
//    under the published package name, and runs in headless Chromium
//    through a whole upload of a real folder drop: the helpers recompute the
//    spec's vector, the state objects carry the published fields with the
//    published values, and the result counts the files the server holds.
// 2. page/example.html, a host page that does what the published widget's
//    example page does, served from an origin of its own: it signs the
//    token exchange in the browser (the dev server must allow the signing
//    headers cross-origin), mounts over a placeholder and shows
//    "Upload complete! N file(s) uploaded." from `result.successful`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  assertStateShape, checkEnv, dropFolderOn, env, genStudy, launchBrowser, LIMIT_MS, Scratch, startDevServer, until,
} from "./harness.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const tsc = join(env.repo, "www/node_modules/typescript/bin/tsc");
const { startStatic } = await import(pathToFileURL(join(env.repo, "www/tools/tus-servers.mjs")).href);

const scratch = new Scratch();
let browser;
let folder;
let images;

/** Compiles integration.ts under strict against dist/npm as @aurabx/standalone-uploader; returns the output dir. */
function compile() {
  const project = scratch.dir("published-ts");
  mkdirSync(join(project, "node_modules/@aurabx"), { recursive: true });
  symlinkSync(join(env.dist, "npm"), join(project, "node_modules/@aurabx/standalone-uploader"), "dir");
  // Copied into the project, so that the package resolves from its node_modules.
  copyFileSync(join(here, "published/integration.ts"), join(project, "integration.ts"));
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        target: "es2022",
        module: "es2022",
        moduleResolution: "bundler",
        lib: ["es2022", "dom"],
        outDir: "out",
        types: [],
      },
      files: ["integration.ts"],
    }),
  );
  const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: project, encoding: "utf8", timeout: 180_000 });
  assert.equal(run.status, 0, `tsc --strict failed:\n${run.stdout}${run.stderr}`);
  const out = join(project, "out");
  writeFileSync(
    join(out, "index.html"),
    `<!DOCTYPE html><html><head><meta charset="utf-8">
<script type="importmap">{"imports": {"@aurabx/standalone-uploader": "/npm/index.js"}}</script>
</head><body><div id="uploader"></div>
<script type="module">
import { run } from "./integration.js";
window.start = async (o) => { window.report = await run(o); };
window.ready = true;
</script></body></html>`,
  );
  return out;
}

before(async () => {
  checkEnv();
  folder = scratch.dir("published-study");
  genStudy(folder, ["--studies", "2", "--series", "2", "--instances", "3", "--pixel-bytes", "20000", "--seed", "13"]);
  images = 2 * 2 * 3;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  scratch.cleanup();
});

test("a strict TypeScript integration written against the published names compiles and uploads", { timeout: 600_000 }, async () => {
  const out = compile();
  const server = await startDevServer(scratch, { args: ["--static", `/published=${out}`] });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.origin}/published/index.html`);
    await page.waitForFunction(() => window.ready === true);
    const token = await server.issueToken();
    await page.evaluate(
      (o) => window.start(o),
      { apiBaseUrl: `${server.origin}/api`, apiToken: token.apiKey, uploadToken: token.uploadToken, containerId: "uploader" },
    );
    const cdp = await context.newCDPSession(page);
    await page.locator("#uploader .aul-dropzone").waitFor({ timeout: LIMIT_MS });
    await dropFolderOn(cdp, page.locator("#uploader .aul-dropzone"), folder);
    const report = await until("the integration's upload to end", async () => {
      const r = await page.evaluate(() => window.report);
      return r && (r.result || r.errors.length) ? r : null;
    });
    assert.deepEqual(report.errors, []);
    assert.deepEqual(errors, []);
    // The helpers and constants.
    assert.equal(report.vector.payload, "5335037164580247d5b44ecd0bafecaed26775a65e61c2fb867f39f97cbdd303");
    assert.equal(report.vector.signature, "4e865169c280c238e93ea51681fdf9e5977ecbf0dc60fbbf0b6b7ccba2005093");
    assert.deepEqual(report.constants, {
      algorithm: "AURA-HMAC-SHA256", service: "aura_request", required: ["host", "x-aura-nonce", "x-aura-timestamp"],
    });
    assert.match(report.nonce, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(report.sameClass, true, "the default export is StandaloneAuraloader");
    assert.match(report.signed.Authorization, /^AURA-HMAC-SHA256 Credential=test-app-id,SignedHeaders=host;x-aura-nonce;x-aura-timestamp,Signature=[0-9a-f]{64}$/);
    assert.deepEqual(report.credentials, { appId: "test-app-id", appSecret: "test-secret-key" });
    // The state objects, by step.
    assert.deepEqual(report.steps, ["processing", "pending", "uploading", "complete"]);
    for (const state of report.states) assertStateShape(state);
    const pending = report.states.find((s) => s.step === "pending");
    assert.deepEqual([pending.totalFiles, pending.studiesCount, pending.seriesCount], [images, 2, 4]);
    const uploading = report.states.filter((s) => s.step === "uploading");
    assert.ok(uploading.some((s) => s.zipping), "zipping while the archives are prepared");
    assert.ok(uploading.at(-1).studyId !== "", "studyId after upload/init");
    const last = report.states.at(-1);
    assert.equal(last.complete, true);
    assert.equal(last.errorMessage, "");
    // The result: every DICOM file reached the server.
    assert.equal(report.found, 2);
    assert.equal(report.result.successful, images);
    assert.equal(report.result.failed, 0);
    assert.ok(report.result.ids.includes(last.studyId), "studyId is one of the server's study ids");
    const session = await server.session(report.result.uploadId);
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "complete"]);
    assert.equal(session.studies.length, 2);
  } finally {
    await context.close();
    await server.stop();
  }
});

test("the published example page's flow works unchanged: in-browser exchange from its own origin, placeholder replaced, result.successful shown", { timeout: 600_000 }, async () => {
  const site = await startStatic({
    routes: {
      "/": { file: join(here, "page/example.html") },
      "/standalone-auraloader.js": { file: join(env.dist, "standalone-auraloader.js") },
    },
  });
  const server = await startDevServer(scratch, { args: ["--allowed-origins", site.origin] });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    const steps = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => {
      const step = m.text().match(/^State changed: (\w+)$/)?.[1];
      if (step && steps.at(-1) !== step) steps.push(step);
    });
    await page.goto(`${site.origin}/`);
    await page.fill("#apiBaseUrl", `${server.origin}/api`);
    await page.fill("#serviceApiKey1", server.credentials.apiKey);
    await page.fill("#appPublicKey", server.credentials.appId);
    await page.fill("#appSecret", server.credentials.appSecret);
    await page.click("#getTokenBtn");
    await page.waitForFunction(() => /Token obtained|Failed/.test(document.querySelector("#tokenStatus").textContent));
    assert.match(await page.textContent("#tokenStatus"), /^Token obtained!/, "the browser-signed exchange went through CORS");
    assert.match(await page.inputValue("#uploadToken"), /^aubt_/);
    assert.match(await page.textContent("#uploader"), /Complete steps above/);
    await page.click("#initBtn");
    await page.waitForFunction(() => /Uploader ready|Failed/.test(document.querySelector("#uploaderStatus").textContent));
    assert.match(await page.textContent("#uploaderStatus"), /Uploader ready!/);
    assert.doesNotMatch(await page.textContent("#uploader"), /Complete steps above/, "mount() replaced the placeholder");
    const cdp = await context.newCDPSession(page);
    await dropFolderOn(cdp, page.locator("#uploader .aul-dropzone"), folder);
    await page.locator("#uploader .aul-upload").click();
    await page.waitForFunction(() => /Upload complete|Error/.test(document.querySelector("#uploaderStatus").textContent), null, { timeout: LIMIT_MS });
    assert.equal(await page.textContent("#uploaderStatus"), `Upload complete! ${images} file(s) uploaded.`);
    assert.deepEqual(steps, ["processing", "pending", "uploading", "complete"]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await server.stop();
    await site.close();
  }
});
