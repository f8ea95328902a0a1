// Cancel in the middle of an upload, with the UI's Cancel button, while a
// PATCH body is on its way (tus goes through the proxy, limited to a slow
// uplink). The tus DELETE must reach the endpoint and terminate the upload
// (its bytes removed) even when the server still holds the aborted PATCH
// and first answers 423 Locked, upload/cancel must be recorded,
// onUploadCancel must fire, and nothing may be left recorded as complete.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  checkEnv, genStudy, launchBrowser, openWidget, Scratch, sleep, startDevServer, until, stepsOf, uploadIdOf,
} from "./harness.mjs";

const CHUNK = 64 * 1024;
const scratch = new Scratch();
let server;
let browser;
let folder;

before(async () => {
  checkEnv();
  folder = join(scratch.dir("cancel"), "study");
  genStudy(folder, [
    "--studies", "1", "--series", "1", "--instances", "8", "--pixel-bytes", "262144",
    "--transfer-syntax", "jpeg-baseline", "--seed", "41",
  ]);
  // 256 KiB/s: each 64 KiB PATCH takes a quarter of a second on the wire.
  server = await startDevServer(scratch, { tusProxy: { bytesPerSecond: 256 * 1024 } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  scratch.cleanup();
});

test("Cancel mid-upload: DELETE terminates the tus upload, upload/cancel is recorded, onUploadCancel fires, nothing is complete", async (t) => {
  const widget = await openWidget(browser, server, { settings: { chunkSize: CHUNK, parallelUploads: 1 } });
  try {
    await widget.dropFolder(folder);
    await widget.waitForStep("pending");
    await widget.clickUpload();
    const log = server.proxy.log;
    // Two PATCHes acknowledged and another on the wire.
    await until("a PATCH under way after two acknowledged", () => {
      const patches = log.filter((e) => e.method === "PATCH");
      return patches.filter((p) => p.status === 204).length >= 2 && patches.some((p) => p.status === null && p.bytes > 0);
    }, { everyMs: 20 });
    await widget.clickCancel();
    await widget.waitForStep("cancelled");

    const [cancel] = await widget.waitForCall("onUploadCancel");
    assert.equal(cancel, null, "onUploadCancel receives nothing");
    const calls = await widget.calls();
    assert.equal(calls.filter((c) => c.name === "onUploadCancel").length, 1);
    assert.deepEqual(calls.filter((c) => c.name === "onUploadComplete" || c.name === "onUploadError"), []);
    assert.deepEqual(stepsOf(calls), ["processing", "pending", "uploading", "cancelled"]);

    // The DELETE reached the endpoint and the server forgot the bytes.
    const created = log.find((e) => e.method === "POST");
    const id = uploadIdOf(created.location);
    // The server may still hold the aborted PATCH when the first DELETE
    // comes (423 Locked): the widget sends it again until it goes through.
    const deletes = await until("a tus DELETE answered 204", () => {
      const sent = log.filter((e) => e.method === "DELETE");
      return sent.some((e) => e.status === 204) ? sent : null;
    });
    for (const d of deletes) {
      assert.equal(d.path, `/files/${id}`);
      assert.ok([204, 423].includes(d.status), `DELETE answered ${d.status}`);
    }
    t.diagnostic(`DELETEs sent: ${deletes.length} (${deletes.map((d) => d.status).join(", ")})`);
    const upload = await until("the upload terminated on the server", async () => {
      const u = await server.tusUpload(id);
      return u?.state === "terminated" ? u : null;
    });
    assert.ok(upload.offset < upload.length, "it was cancelled before the end");
    assert.equal(existsSync(server.storedPath(id)), false, "its bytes are removed");

    // upload/cancel recorded; nothing of the session is complete.
    const session = await until("upload/cancel recorded", async () => {
      const s = (await server.records()).sessions.find((x) => x.studies.some((st) => st.uploads.some((u) => u.id === id)));
      return s?.events.some((e) => e.kind === "cancel") ? s : null;
    });
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "cancel"]);
    assert.deepEqual(session.studies.flatMap((s) => s.uploads).filter((u) => u.state === "complete"), []);
    assert.ok(!(await server.records()).uploads.some((u) => u.state === "complete"), "no upload is complete");

    // Nothing more is sent after the DELETE.
    const sentBefore = log.length;
    await sleep(1000);
    assert.deepEqual(log.slice(sentBefore).map((e) => e.method), []);
    assert.deepEqual(widget.errors, []);
  } finally {
    await widget.close();
  }
});
