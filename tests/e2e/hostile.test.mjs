// Hostile input, dropped for real (`cargo xtask gen-study --hostile`): a
// patient name made of HTML and script markup and a study description with
// an image tag whose error handler would run (core synth's
// HOSTILE_PATIENT_NAME and HOSTILE_STUDY_DESCRIPTION: run, either would
// open an alert), a 0-byte file, a DICOM file cut inside its header and one
// whose element declares a 4 GiB value. The markup must render as text and
// no script may run; the three files must be listed as skipped with their
// reasons; the page must never freeze: its heartbeat keeps ticking through
// the scan (a bounded hang check, not a speed limit). The study with the
// markup then uploads like any other.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertZipHolds, checkEnv, genStudy, launchBrowser, openWidget, Scratch, sleep, startDevServer, within,
} from "./harness.mjs";

/** The longest the page's main thread may stall before the test calls it frozen. */
const HANG_MS = 10_000;
const scratch = new Scratch();
let server;
let browser;
let folder;
let files;

before(async () => {
  checkEnv();
  folder = join(scratch.dir("hostile"), "cd");
  files = genStudy(folder, [
    "--studies", "2", "--patients", "2", "--series", "1", "--instances", "3", "--pixel-bytes", "50000",
    "--hostile", "--seed", "71",
  ]);
  server = await startDevServer(scratch);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  scratch.cleanup();
});

test("markup in a patient name renders as text; empty, truncated and absurd-length files are skipped with reasons; the page never freezes", async () => {
  const widget = await openWidget(browser, server);
  try {
    const dialogs = [];
    widget.page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      dialog.dismiss().catch(() => {});
    });
    const beatsBefore = await widget.heartbeat();
    await widget.dropFolder(folder);
    // Bounded hang check: the page answers and its heartbeat advances
    // while the widget walks and scans the folder.
    for (let i = 0; i < 600 && (await widget.step()) !== "pending"; i++) {
      await within(HANG_MS, "an answer from the page", widget.heartbeat());
      await sleep(50);
    }
    await widget.waitForStep("pending");
    const during = await widget.heartbeat();
    assert.ok(during.beats > beatsBefore.beats, "the heartbeat kept ticking");
    assert.ok(during.maxGapMs < HANG_MS, `the main thread stalled for ${during.maxGapMs} ms`);

    // The markup is text: shown verbatim, no element made of it, nothing run.
    const rows = await widget.studyRows();
    assert.equal(rows.length, 2);
    const marked = rows.find((r) => r.patient.includes("<script>"));
    assert.ok(marked, JSON.stringify(rows.map((r) => r.patient)));
    assert.equal(marked.patient, "<b>Bold</b> <script>alert('pwned')</script>");
    assert.equal(marked.description, `<img src=x onerror="alert('pwned')">`);
    const injected = await widget.page.evaluate(() => {
      const root = document.querySelector("#uploader .auraloader").shadowRoot;
      return root.querySelectorAll("img, script, b, [onerror]").length + document.querySelectorAll("img, b, [onerror]").length;
    });
    assert.equal(injected, 0, "no element was made from the name");
    const [found] = await widget.waitForCall("onStudiesFound");
    assert.ok(found.some((s) => s.patient_name === marked.patient), "onStudiesFound carries the name as data");

    // The hostile files, each skipped with its reason.
    const skipped = Object.fromEntries((await widget.skippedRows()).map((s) => [s.path, s.reason]));
    assert.deepEqual(Object.keys(skipped).sort(), ["cd/HOSTILE/BADLENGTH.DCM", "cd/HOSTILE/EMPTY.DCM", "cd/HOSTILE/TRUNCATED.DCM"]);
    assert.equal(skipped["cd/HOSTILE/EMPTY.DCM"], "not a DICOM file: the file is empty");
    assert.match(skipped["cd/HOSTILE/TRUNCATED.DCM"], /^the file ends inside its DICOM header \(element at byte \d+\)/);
    assert.match(skipped["cd/HOSTILE/BADLENGTH.DCM"], /element \(0009,1001\) at byte \d+ declares 4294967280 bytes, past the end of the file/);

    // The study with the markup uploads like any other.
    await widget.clickUpload();
    await widget.waitForStep("complete");
    const [result] = await widget.callsOf("onUploadComplete");
    const study = result.studies.find((s) => s.studyUid === found.find((f) => f.patient_name === marked.patient).study_uid);
    const session = await server.session(result.uploadId);
    const zip = session.studies.find((s) => s.id === study.id).uploads[0];
    assert.equal(zip.verified, true, zip.verify_error);
    assertZipHolds(server.storedBytes(zip.id), files.filter((f) => f.rel.startsWith("PAT01/")), study.studyUid);

    assert.deepEqual(dialogs, [], "no script ran");
    assert.deepEqual(widget.errors, []);
    const end = await widget.heartbeat();
    assert.ok(end.maxGapMs < HANG_MS, `the main thread stalled for ${end.maxGapMs} ms`);
  } finally {
    await widget.close();
  }
});
