// A 2 GiB study (512 CT-like instances of 4 MiB in explicit VR little
// endian, so every entry is deflated: the path that reads every byte and
// writes compressed output) dropped and uploaded: the tab's JS heap (its objects and its
// ArrayBuffers, live or not yet collected) plus wasm memory, of the page
// and of its Web Workers, must stay under 256 MiB the whole time, and the
// renderer process's resident memory (Linux /proc) must grow less than
// 512 MiB. The peaks are printed in the test output (a TAP diagnostic); the zip on the
// server is read back entry by entry against the input files.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertZipFileHolds, checkEnv, genStudy, launchBrowser, mib, openWidget, Scratch, startDevServer,
  startMemorySampler, startRssSampler, uploadIdOf,
} from "./harness.mjs";

const BUDGET = 256 * 1024 * 1024;
// How much the renderer process's resident memory may grow: V8's figures
// above leave out memory it no longer accounts for (detached buffers it
// has not freed, allocator slack), which the machine still gives the tab.
const RSS_BUDGET = 512 * 1024 * 1024;
const scratch = new Scratch();
let server;
let browser;
let folder;
let files;

before(async () => {
  checkEnv();
  folder = join(scratch.dir("big"), "study");
  files = genStudy(folder, [
    "--studies", "1", "--series", "4", "--instances", "128", "--pixel-bytes", "4194304",
    "--transfer-syntax", "explicit-le", "--seed", "81",
  ]);
  server = await startDevServer(scratch);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  scratch.cleanup();
});

test("a 2 GiB study uploads with the tab's JS heap + wasm memory (page and workers) under 256 MiB", { timeout: 900_000 }, async (t) => {
  const total = files.reduce((n, f) => n + f.size, 0);
  assert.ok(total > 2 * 1024 ** 3, `the study is ${mib(total)}`);
  const widget = await openWidget(browser, server);
  const rssSampler = await startRssSampler(browser, widget);
  const sampler = await startMemorySampler(widget);
  let memory;
  let rss = null;
  try {
    await widget.dropFolder(folder);
    await widget.waitForStep("pending", { limitMs: 300_000 });
    const [row] = await widget.studyRows();
    assert.equal(row.images, 512);
    await widget.clickUpload();
    await widget.waitForStep("complete", { limitMs: 600_000 });
  } finally {
    memory = await sampler.stop();
    rss = await rssSampler?.stop();
  }
  try {
    const { samples, peak } = memory;
    assert.ok(samples.length >= 10, `${samples.length} memory samples`);
    assert.ok(samples.some((s) => s.workers > 0), "the workers were measured");
    assert.ok(peak.pageWasm > 0 && peak.pageHeap > 0, "the page's heap and wasm memory were measured");
    assert.ok(samples.some((s) => s.workerWasm > 0 && s.workerHeap > 0), "the workers' heaps and wasm memories were measured");
    const most = (key) => Math.max(...samples.map((s) => s[key]));
    t.diagnostic(
      `big study: peak JS heap (with ArrayBuffers) + wasm memory ${mib(peak.total)} of ${mib(BUDGET)} ` +
      `(at the peak: page heap ${mib(peak.pageHeap)}, page ArrayBuffers ${mib(peak.pageBuffers)}, page wasm ${mib(peak.pageWasm)}, ` +
      `${peak.workers} workers' heaps ${mib(peak.workerHeap)}, their ArrayBuffers ${mib(peak.workerBuffers)}, their wasm ${mib(peak.workerWasm)}; ` +
      `highest of each: ${["pageHeap", "pageBuffers", "pageWasm", "workerHeap", "workerBuffers", "workerWasm"].map((k) => mib(most(k))).join(", ")}; ` +
      `${samples.length} samples)`,
    );
    assert.ok(peak.total < BUDGET, `peak ${mib(peak.total)} is over ${mib(BUDGET)}`);
    if (rss) {
      t.diagnostic(
        `big study: the renderer's RSS grew ${mib(rss.growth)} of ${mib(RSS_BUDGET)} ` +
        `(${mib(rss.base)} before the drop, ${mib(rss.peak)} at most${rss.hwmReset ? ", VmHWM included" : ""})`,
      );
      assert.ok(rss.growth < RSS_BUDGET, `the renderer's RSS grew ${mib(rss.growth)}, over ${mib(RSS_BUDGET)}`);
    } else {
      t.diagnostic("big study: no /proc here, so the renderer's RSS was not measured");
    }

    const [result] = await widget.callsOf("onUploadComplete");
    const widgetDone = Date.now();
    const upload = await server.finishedUpload(uploadIdOf(result.studies[0].uploadUrl), { limitMs: 600_000 });
    t.diagnostic(`the server finished verifying ${((Date.now() - widgetDone) / 1000).toFixed(1)} s after the widget's completion`);
    assert.equal(upload.state, "complete");
    assert.equal(upload.verified, true, upload.verify_error);
    assert.equal(upload.entry_count, files.length);
    assert.equal(assertZipFileHolds(server.storedPath(upload.id), files, result.studies[0].studyUid), files.length);
    assert.deepEqual(widget.errors, []);
  } finally {
    await widget.close();
  }
});
