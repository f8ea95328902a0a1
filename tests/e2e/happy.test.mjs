// Happy path, as a user meets it: a CD-like folder (three studies of three
// patients, junk files, a DICOMDIR) is dropped on the widget for real; the
// review lists exactly the three studies with their series and image
// counts and the skipped files with their reasons; one study is removed
// with its Remove button; Upload. The server must then hold two zips whose
// entries are the input files byte for byte, the lifecycle must arrive in
// the order of docs/spec/API.md, and the callbacks must fire in order with
// the published shapes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertStudyInfoShape, assertUploadResultShape, assertZipHolds, checkEnv, genStudy, launchBrowser,
  openWidget, Scratch, startDevServer, assertStateShape, callSequence, uploadIdOf,
} from "./harness.mjs";

const scratch = new Scratch();
let server;
let browser;
let folder;
let files;

before(async () => {
  checkEnv();
  folder = join(scratch.dir("happy"), "cd");
  files = genStudy(folder, [
    "--studies", "3", "--patients", "3", "--series", "2", "--instances", "3",
    "--pixel-bytes", "120000", "--junk", "--dicomdir", "--seed", "21",
  ]);
  server = await startDevServer(scratch);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  scratch.cleanup();
});

/** The input files of study folder `STnnn`. */
const filesOfStudy = (n) => files.filter((f) => f.rel.includes(`/ST${String(n).padStart(3, "0")}/`));

test("a dropped CD folder is reviewed, one study removed, and two byte-exact zips reach the server in lifecycle order", async () => {
  const widget = await openWidget(browser, server);
  try {
    await widget.dropFolder(folder);
    await widget.waitForStep("pending");

    // The review: exactly the three studies, with their counts.
    const rows = await widget.studyRows();
    assert.equal(rows.length, 3, JSON.stringify(rows));
    for (const row of rows) {
      assert.equal(row.series, 2, `series of ${row.description}`);
      assert.equal(row.images, 6, `images of ${row.description}`);
    }
    assert.deepEqual(rows.map((r) => r.description).sort(), ["CT study 1", "MR study 2", "US study 3"]);
    assert.equal(new Set(rows.map((r) => r.patient)).size, 3, "three patients");
    assert.equal(await widget.locator(".aul-warnings").count(), 1, "a warning: several patients");

    // The skipped files, each with its reason, paths under the dropped folder.
    const skipped = await widget.skippedRows();
    const reasons = Object.fromEntries(skipped.map((s) => [s.path, s.reason]));
    assert.deepEqual(Object.keys(reasons).sort(), ["cd/AUTORUN.INF", "cd/DICOMDIR", "cd/README.TXT", "cd/VIEWER/VIEWER.EXE"]);
    assert.match(reasons["cd/DICOMDIR"], /^a DICOMDIR index file/);
    for (const path of ["cd/AUTORUN.INF", "cd/README.TXT", "cd/VIEWER/VIEWER.EXE"]) {
      assert.match(reasons[path], /^not a DICOM file: \S/, path);
    }

    // onStudiesFound: the three studies as StudyInfo, matching the table.
    const [found] = await widget.waitForCall("onStudiesFound");
    assert.equal(found.length, 3);
    for (const info of found) {
      assertStudyInfoShape(info);
      assert.equal(info.images, 6);
      assert.equal(info.series_count, 2);
      assert.deepEqual(Object.values(info.series).map((s) => s.modality), Array(2).fill(info.modalities[0]));
    }
    assert.deepEqual(found.map((s) => s.study_uid).sort(), rows.map((r) => r.uid).sort());

    // Remove "MR study 2" with its button; then upload the other two.
    const removed = found.find((s) => s.study_description === "MR study 2");
    await widget.removeStudy(removed.study_uid);
    await widget.locator(`tr[data-study-uid="${removed.study_uid}"]`).waitFor({ state: "detached" });
    assert.equal((await widget.studyRows()).length, 2);
    await widget.clickUpload();
    await widget.waitForStep("complete");

    // Callbacks: in order (each step is announced, then what it brought,
    // as the README says), with the published shapes.
    const calls = await widget.calls();
    assert.deepEqual(
      callSequence(calls),
      [
        "onStateChange:processing",
        "onStateChange:pending",
        "onStudiesFound",
        "onStateChange:uploading",
        "onStateChange:complete",
        "onUploadComplete",
      ],
    );
    const states = calls.filter((c) => c.name === "onStateChange").map((c) => c.value);
    for (const [i, call] of calls.filter((c) => c.name === "onStateChange").entries()) {
      assertStateShape(call.value);
      assert.equal(call.args, 1);
      if (i > 0) assert.notDeepEqual(call.value, states[i - 1], "a new object only when a field changed");
    }
    // The published fields along the way.
    const pending = states.findLast((s) => s.step === "pending");
    assert.equal(pending.studiesCount, 2, "after the removal");
    assert.deepEqual(pending.studies.map((s) => s.study_uid).sort(), found.filter((s) => s !== removed).map((s) => s.study_uid).sort());
    const uploading = states.filter((s) => s.step === "uploading");
    assert.ok(uploading.some((s) => s.zipping), "zipping while archives are prepared");
    assert.ok(uploading.some((s) => s.studyId !== ""), "studyId after upload/init");
    const done = states.at(-1);
    assert.equal(done.step, "complete");
    assert.equal(done.complete, true);
    assert.equal(done.zipping, false);
    assert.equal(done.bytesSent, done.bytesTotal);
    const [result] = await widget.callsOf("onUploadComplete");
    assertUploadResultShape(result);
    assert.equal(result.studies.length, 2);
    assert.equal(result.successful, pending.totalFiles, "successful counts the DICOM files sent");
    assert.ok(result.studies.some((s) => s.id === done.studyId), "studyId is one of the server's ids");
    assert.ok(!result.studies.some((s) => s.studyUid === removed.study_uid), "the removed study was not uploaded");
    assert.deepEqual(await widget.seen().then((s) => s.steps), ["start", "processing", "pending", "uploading", "complete"]);

    // The server: the session, its lifecycle in order, the two zips.
    const session = await server.session(result.uploadId);
    assert.ok(session, `no session ${result.uploadId}`);
    assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "complete"]);
    assert.equal(session.events[2].assembly_id, session.events[1].assembly_id, "complete names the assembly of start");
    assert.deepEqual(session.studies.map((s) => s.study_uid).sort(), result.studies.map((s) => s.studyUid).sort(),
      "upload/init listed only the studies kept");
    const uploaded = new Set();
    for (const study of result.studies) {
      const stored = session.studies.find((s) => s.id === study.id);
      assert.ok(stored, `study id ${study.id} of onUploadComplete is the server's`);
      assert.equal(stored.study_uid, study.studyUid);
      assert.equal(stored.uploads.length, 1, "one zip per study");
      const zip = stored.uploads[0];
      assert.equal(zip.state, "complete");
      assert.equal(zip.verified, true, zip.verify_error);
      assert.equal(uploadIdOf(study.uploadUrl), zip.id);
      const info = found.find((s) => s.study_uid === study.studyUid);
      const folderNumber = Number(info.study_description.split(" ").pop());
      uploaded.add(folderNumber);
      assert.equal(assertZipHolds(server.storedBytes(zip.id), filesOfStudy(folderNumber), study.studyUid), 6);
    }
    assert.deepEqual([...uploaded].sort(), [1, 3]);

    // The lifecycle as the page sent it: config at init(), then upload/init,
    // upload/start before the first tus byte, upload/complete after the last.
    const sent = widget.requests
      .filter((r) => r.path.startsWith("/api/uploader/") || r.path.startsWith("/files"))
      .map((r) => ({ what: `${r.method} ${r.path.startsWith("/files") ? "tus" : r.path}`, status: r.status }));
    const order = sent.map((s) => s.what);
    const first = (what) => order.indexOf(what);
    const last = (what) => order.lastIndexOf(what);
    assert.equal(first("GET /api/uploader/config"), 0, order.join(", "));
    assert.ok(first("POST /api/uploader/upload/init") > 0);
    assert.ok(first("POST /api/uploader/upload/start") > first("POST /api/uploader/upload/init"));
    assert.ok(first("POST tus") > first("POST /api/uploader/upload/start"), "tus creation after upload/start");
    assert.ok(first("PATCH tus") > first("POST tus"));
    assert.equal(last("POST /api/uploader/upload/complete"), order.length - 1, "upload/complete is the last call");
    assert.ok(last("PATCH tus") < last("POST /api/uploader/upload/complete"));
    assert.equal(order.filter((w) => w === "POST tus").length, 2, "one tus upload per study kept");
    assert.ok(!order.some((w) => /upload\/(error|cancel)|DELETE/.test(w)), order.join(", "));
    assert.ok(sent.every((s) => s.status >= 200 && s.status < 300), JSON.stringify(sent));

    assert.deepEqual(widget.errors, []);
    // Patient data never reaches the console.
    const patientData = found.flatMap((s) => [s.patient_name, s.patient_id]);
    assert.deepEqual(widget.console.filter((line) => patientData.some((p) => line.includes(p))), []);
  } finally {
    await widget.close();
  }
});
