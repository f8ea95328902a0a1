// A reload in the middle of a 300 MiB study: the page is reloaded when
// about half of the zip has reached the server, the widget starts afresh
// (new token, new session) and the same folder is dropped again. The upload
// must resume from the server's offset (no new tus upload; less than 10 %
// of the bytes sent twice, counted at the proxy) and complete byte-exact.
//
// The proxy limits the uplink to 32 MiB/s until the reload, so that "about
// half" is caught whatever the machine's speed, then lets it run free.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertZipFileHolds, checkEnv, genStudy, launchBrowser, mib, openWidget, Scratch, startDevServer, until,
  uploadIdOf,
} from "./harness.mjs";

const scratch = new Scratch();
let server;
let browser;
let folder;
let files;

before(async () => {
  checkEnv();
  folder = join(scratch.dir("reload"), "study");
  // 150 JPEG instances of 2 MiB: stored as they are, a 300 MiB zip.
  files = genStudy(folder, [
    "--studies", "1", "--series", "3", "--instances", "50", "--pixel-bytes", "2097152",
    "--transfer-syntax", "jpeg-baseline", "--seed", "51",
  ]);
  server = await startDevServer(scratch, { tusProxy: { bytesPerSecond: 32 * 1024 * 1024 } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  scratch.cleanup();
});

test("reloaded at half of a 300 MiB study, the same folder dropped again resumes from the server's offset and completes byte-exact", async (t) => {
  const widget = await openWidget(browser, server);
  const log = server.proxy.log;
  const forwarded = (entries) => entries.filter((e) => e.method === "PATCH").reduce((n, e) => n + e.bytes, 0);
  try {
    await widget.dropFolder(folder);
    await widget.waitForStep("pending");
    await widget.clickUpload();
    const created = await until("the tus upload created", () => log.find((e) => e.method === "POST" && e.location));
    const length = created.length;
    assert.ok(length > 300 * 1048576, `a zip of ${length} bytes`);
    await until("half of the zip sent", () => forwarded(log) >= length / 2, { everyMs: 20 });
    await widget.reload();
    const atReload = log.length;
    const offsetAtReload = (await server.tusUpload(uploadIdOf(created.location))).offset;
    t.diagnostic(`reloaded with ${mib(forwarded(log))} forwarded, server offset ${mib(offsetAtReload)} of ${mib(length)}`);
    assert.ok(offsetAtReload > 0.3 * length && offsetAtReload < 0.8 * length, "the reload came mid-upload");
    server.proxy.setRate(null);

    // A fresh widget (new token, new session) in the same browser profile.
    await widget.start();
    await widget.dropFolder(folder);
    await widget.waitForStep("pending");
    await widget.clickUpload();
    await widget.waitForStep("complete", { limitMs: 300_000 });

    const afterReload = log.slice(atReload);
    assert.deepEqual(afterReload.filter((e) => e.method === "POST"), [], "no new tus upload after the reload");
    const head = afterReload.find((e) => e.method === "HEAD");
    assert.ok(head, "the widget asked the server for its offset");
    assert.equal(head.path, new URL(created.location).pathname);
    assert.ok(head.answerOffset >= offsetAtReload, `HEAD answered ${head.answerOffset}`);
    const firstPatch = afterReload.find((e) => e.method === "PATCH");
    assert.equal(firstPatch.offset, head.answerOffset, "the first PATCH starts at the server's offset");
    const total = forwarded(log);
    const resent = total - length;
    t.diagnostic(`bytes sent: ${mib(total)} for a ${mib(length)} zip; sent twice: ${mib(resent)} (${((100 * resent) / length).toFixed(2)} %)`);
    assert.ok(resent >= 0 && resent < 0.1 * length, `${resent} bytes sent twice`);

    const [result] = await widget.callsOf("onUploadComplete");
    assert.equal(result.studies[0].uploadUrl, created.location, "onUploadComplete names the resumed upload");
    const upload = await server.finishedUpload(uploadIdOf(created.location));
    assert.equal(upload.state, "complete");
    assert.equal(upload.verified, true, upload.verify_error);
    assert.equal(assertZipFileHolds(server.storedPath(upload.id), files, result.studies[0].studyUid), files.length);
    const session = await server.session(result.uploadId);
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "complete"]);
    assert.deepEqual(widget.errors, []);
  } finally {
    await widget.close();
  }
});
