// Network faults on the way to the tus endpoint: PATCH connections dropped
// in the middle of their bodies (three times), a burst of three 503s with
// Retry-After, and a PATCH that never answers (a stall longer than the
// stall timeout, set to 3 s for the test with `stallTimeoutMs`). The upload
// must complete byte-exact without any user action, and the UI must have
// shown the retry state.
//
// tus goes through startProxy (www/tools/tus-servers.mjs) in front of the
// dev server, which runs with --public-url naming the proxy, so the page
// (served by the dev server) talks to tus on another origin: every tus
// request is a CORS request, and the upload only works if the server
// exposes Location and Upload-Offset to the page.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertZipHolds, checkEnv, genStudy, launchBrowser, openWidget, Scratch, startDevServer, uploadIdOf,
} from "./harness.mjs";

const CHUNK = 64 * 1024;
const STALL_MS = 3000;
const scratch = new Scratch();
let server;
let browser;
let folder;
let files;

before(async () => {
  checkEnv();
  folder = join(scratch.dir("faults"), "study");
  // JPEG instances are stored as they are: ~2 MiB of zip, 33 PATCHes.
  files = genStudy(folder, [
    "--studies", "1", "--series", "2", "--instances", "4", "--pixel-bytes", "262144",
    "--transfer-syntax", "jpeg-baseline", "--seed", "31",
  ]);
  server = await startDevServer(scratch, {
    tusProxy: {
      closeConnections: true,
      faults: [
        { patch: 2, drop: 20_000 },
        { patch: 3, drop: 1_000 },
        { patch: 6, drop: 40_000 },
        { patch: 9, status: 503, retryAfter: 1 },
        { patch: 10, status: 503, retryAfter: 1 },
        { patch: 11, status: 503, retryAfter: 1 },
        { patch: 14, hang: true },
      ],
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  scratch.cleanup();
});

test("dropped PATCHes, a burst of 503s and a stall: the upload recovers on its own, says so, and completes byte-exact", async () => {
  const widget = await openWidget(browser, server, { settings: { chunkSize: CHUNK, parallelUploads: 1, stallTimeoutMs: STALL_MS } });
  try {
    await widget.dropFolder(folder);
    await widget.waitForStep("pending");
    await widget.clickUpload();
    await widget.waitForStep("complete");

    const log = server.proxy.log;
    const faults = log.filter((e) => e.fault).map((e) => e.fault);
    assert.equal(faults.filter((f) => f.startsWith("dropped after")).length, 3, faults.join("; "));
    assert.equal(faults.filter((f) => f === "status 503").length, 3, faults.join("; "));
    const hung = log.find((e) => e.fault?.startsWith("hung"));
    assert.equal(hung?.fault, "hung; the client gave up", "the stalled PATCH was aborted by the widget");
    const gaveUpAfter = hung.gaveUpAt - hung.at;
    assert.ok(gaveUpAfter >= STALL_MS - 200 && gaveUpAfter < 30_000,
      `the configured stall timeout (${STALL_MS} ms), not the default 30 s, ended the stalled PATCH: ${gaveUpAfter} ms`);
    assert.equal(log.filter((e) => e.method === "POST").length, 1, "one tus upload, never created again");
    assert.ok(log.some((e) => e.method === "HEAD"), "the offset was asked again after a failure");

    // The UI said what was happening, and the widget never left the upload.
    const seen = await widget.seen();
    assert.ok(seen.retrying.includes("Connection lost, retrying in 1 s"), JSON.stringify(seen.retrying));
    assert.deepEqual(seen.steps, ["start", "processing", "pending", "uploading", "complete"]);
    assert.deepEqual(seen.errors, []);
    const calls = await widget.calls();
    assert.deepEqual(calls.filter((c) => c.name === "onUploadError"), []);

    // Through the proxy, cross-origin, and byte-exact on the server.
    const [result] = await widget.callsOf("onUploadComplete");
    const url = result.studies[0].uploadUrl;
    assert.ok(url.startsWith(`${server.proxy.origin}/files/`), `${url} names the proxy (--public-url)`);
    assert.notEqual(new URL(url).origin, server.origin, "tus is cross-origin to the page");
    const upload = await server.finishedUpload(uploadIdOf(url));
    assert.equal(upload.state, "complete");
    assert.equal(upload.verified, true, upload.verify_error);
    assert.equal(upload.offset, upload.length);
    assertZipHolds(server.storedBytes(upload.id), files, result.studies[0].studyUid);
    const session = await server.session(result.uploadId);
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "complete"]);
    assert.deepEqual(widget.errors, []);
  } finally {
    await widget.close();
  }
});
