// Expired tokens, as they happen to a user who leaves a page open:
// - the tus lift token (from GET /uploader/config at init(); the dev server
//   runs with --lift-token-ttl 15) expires in the middle of an upload: tus
//   answers 401;
// - the upload token expires in the middle of an upload: the bytes arrive,
//   but upload/complete answers 401;
// - the upload token has expired before upload(): upload/init answers 401.
// Each time the UI must show a readable error and what to do, and
// onUploadError must carry code and statusCode. /upload/error is recorded
// by the server when the upload token still allows it; when the upload
// token itself expired, the widget must still have sent it (and nothing
// is sent when the server never heard of the session). The advice of the
// message (reload, add the files again) is then followed: the upload
// resumes and completes.
//
// The expiries are made certain, not raced: the proxy holds the second
// PATCH until the token in question has expired. Each test has its own dev
// server (the first one with a short lift token lifetime).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertErrorShape, assertZipHolds, checkEnv, genStudy, launchBrowser, openWidget, Scratch, sleep,
  startDevServer, until, stepsOf, uploadIdOf,
} from "./harness.mjs";

const CHUNK = 64 * 1024;
// Long enough for the drop, the scan, upload/init, upload/start, the tus
// creation and a first PATCH, even when the disk is slow to sync.
const LIFT_TTL_S = 15;
const scratch = new Scratch();
let browser;
let folder;
let files;

before(async () => {
  checkEnv();
  folder = join(scratch.dir("token"), "study");
  files = genStudy(folder, [
    "--studies", "1", "--series", "1", "--instances", "4", "--pixel-bytes", "200000",
    "--transfer-syntax", "jpeg-baseline", "--seed", "61",
  ]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  scratch.cleanup();
});

/**
 * A dev server for one test (`args` are more flags), tus through a proxy
 * that holds its second PATCH until `hold` (a promise) settles, if given.
 */
async function serverHolding(args = []) {
  let release;
  const hold = new Promise((r) => {
    release = r;
  });
  const server = await startDevServer(scratch, { args, tusProxy: { faults: [{ patch: 2, holdUntil: hold }] } });
  return { server, releaseAt: (ms) => sleep(Math.max(0, ms - Date.now())).then(release) };
}

/** The error step as shown: {message, hint, retry (whether Retry is offered)}. */
async function errorStep(widget) {
  await widget.waitForStep("error");
  return {
    message: await widget.locator(".aul-error-message").textContent(),
    hint: await widget.locator(".aul-error-hint").textContent(),
    retry: (await widget.locator(".aul-retry").count()) > 0,
  };
}

test("a lift token that expires mid-upload: tus 401, a readable error with what to do, upload/error recorded; reloading resumes", async () => {
  const { server, releaseAt } = await serverHolding(["--lift-token-ttl", String(LIFT_TTL_S)]);
  const settings = { chunkSize: CHUNK, parallelUploads: 1 };
  const widget = await openWidget(browser, server, { settings });
  // The lift token was issued during init(), just now: it is dead after
  // LIFT_TTL_S (plus some for the server's whole-second clock).
  const released = releaseAt(Date.now() + (LIFT_TTL_S + 1.5) * 1000);
  try {
    await widget.dropFolder(folder);
    await widget.waitForStep("pending");
    await widget.clickUpload();
    const shown = await errorStep(widget);
    assert.match(shown.message, /upload permission expired or is not valid \(HTTP 401\)/);
    assert.match(shown.message, /reload the page/);
    assert.match(shown.hint, /Reload the page and add the same files again/);
    assert.equal(shown.retry, false, "Retry would meet the same dead token");

    const [error] = await widget.waitForCall("onUploadError");
    assertErrorShape(error, { code: "auth_failed", statusCode: 401 });
    assert.equal(error.message, shown.message);
    const calls = await widget.calls();
    assert.deepEqual(stepsOf(calls), ["processing", "pending", "uploading", "error"]);
    const failed = calls.filter((c) => c.name === "onStateChange").at(-1).value;
    assert.equal(failed.errorMessage, shown.message, "state.errorMessage is the message shown");
    assert.equal(failed.errorCode, "auth_failed");
    const refused = server.proxy.log.find((e) => e.method === "PATCH" && e.status === 401);
    assert.ok(refused, `tus refused the expired lift token: ${JSON.stringify(server.proxy.log.map((e) => [e.method, e.status, e.fault]))}`);
    const uploadUrl = server.proxy.log.find((e) => e.method === "POST" && e.location).location;
    const partial = await server.tusUpload(uploadIdOf(uploadUrl));
    assert.equal(partial.state, "uploading");
    assert.equal(partial.offset, CHUNK, "the first PATCH went through before the token expired");

    // upload/error reached the server (the upload token is still good).
    const session = await until("upload/error recorded", async () =>
      (await server.records()).sessions.find((s) => s.events.some((e) => e.kind === "error") && s.upload_id === partial.upload_id));
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "error"]);
    assert.match(session.events[2].message, /HTTP 401/);

    // The advice works: reload, the host page hands out a new token, the
    // same files are added again, and the upload resumes to the end.
    await widget.reload();
    const atReload = server.proxy.log.length;
    await widget.start({ settings });
    await widget.dropFolder(folder);
    await widget.waitForStep("pending");
    await widget.clickUpload();
    await widget.waitForStep("complete");
    const resumed = server.proxy.log.slice(atReload);
    assert.deepEqual(resumed.filter((e) => e.method === "POST"), [], "no new tus upload");
    assert.equal(resumed.find((e) => e.method === "PATCH").offset, CHUNK);
    const [result] = await widget.callsOf("onUploadComplete");
    assert.equal(result.studies[0].uploadUrl, uploadUrl);
    const upload = await server.finishedUpload(partial.id);
    assert.equal(upload.state, "complete");
    assert.equal(upload.verified, true, upload.verify_error);
    assertZipHolds(server.storedBytes(upload.id), files, result.studies[0].studyUid);
    assert.deepEqual(widget.errors, []);
  } finally {
    await released;
    await widget.close();
    await server.stop();
  }
});

test("an upload token that expires mid-upload: upload/complete 401, a readable error, upload/error sent", async () => {
  const { server, releaseAt } = await serverHolding();
  const widget = await openWidget(browser, server, { settings: { chunkSize: CHUNK, parallelUploads: 1 }, ttl: 6 });
  // The second PATCH goes on once the upload token is dead (the server
  // counts whole seconds).
  const released = releaseAt(Date.parse(widget.token.expiresAt) + 1500);
  try {
    await widget.dropFolder(folder);
    await widget.waitForStep("pending");
    await widget.clickUpload();
    const shown = await errorStep(widget);
    assert.match(shown.message, /expired/);
    assert.match(shown.hint, /Reload the page/);
    const [error] = await widget.waitForCall("onUploadError");
    assertErrorShape(error, { code: "auth_failed", statusCode: 401 });

    // Every byte went, then upload/complete was refused; upload/error was
    // still sent, and refused as well: the token is dead.
    const sent = (path) => widget.requests.filter((r) => r.path === `/api/uploader/upload/${path}`);
    await until("upload/error answered", () => sent("error")[0]?.status);
    assert.equal(sent("complete")[0]?.status, 401);
    assert.equal(sent("error").length, 1);
    assert.equal(sent("error")[0].status, 401);
    const uploadUrl = server.proxy.log.filter((e) => e.method === "POST" && e.location).pop().location;
    const upload = await server.finishedUpload(uploadIdOf(uploadUrl));
    const session = await server.session(upload.upload_id);
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start"], "the session was never completed");
    assert.deepEqual(widget.errors, []);
  } finally {
    await released;
    await widget.close();
    await server.stop();
  }
});

test("an upload token expired before upload(): upload/init 401, a readable error, nothing else sent", async () => {
  const server = await startDevServer(scratch);
  const widget = await openWidget(browser, server, { ttl: 2 });
  try {
    await widget.dropFolder(folder);
    await widget.waitForStep("pending");
    await sleep(Math.max(0, Date.parse(widget.token.expiresAt) + 1500 - Date.now()));
    await widget.clickUpload();
    const shown = await errorStep(widget);
    assert.match(shown.message, /upload token has expired/);
    assert.match(shown.hint, /Reload the page/);
    assert.equal(shown.retry, false);
    const [error] = await widget.waitForCall("onUploadError");
    assertErrorShape(error, { code: "auth_failed", statusCode: 401 });
    assert.deepEqual(widget.requestsTo("/api/uploader/upload/"), ["POST /api/uploader/upload/init"],
      "no start, no tus, and no upload/error for a session the server never recorded");
    assert.equal(widget.requests.find((r) => r.path === "/api/uploader/upload/init").status, 401);
    assert.deepEqual((await server.records()).sessions, []);
    assert.deepEqual(widget.errors, []);
  } finally {
    await widget.close();
    await server.stop();
  }
});
