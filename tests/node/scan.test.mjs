// `scanFiles` on disk-backed `File`s in headless Chromium (CHROME names the
// executable; set by `cargo xtask test`): the files are chosen in an
// `<input type=file multiple>` (playwright's setInputFiles, as a user's pick),
// so reading them goes to the disk through the browser process, and a file
// removed after it was chosen fails its read as it would on a user's
// machine. The scan reads heads in batches (one read of a Blob made of many
// heads); a failed batch is read again file by file, so only the removed
// file is reported.
//
// Fixture: a synthetic study written by `cargo xtask gen-study` (core
// `synth`, made-up patients) into a temp dir, with junk files, enough files
// for several batches.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const repo = resolve(new URL("../..", import.meta.url).pathname);
// The bench and test build (`cargo xtask build --bench-api`): the product
// in dist/ has no bench entry points.
const dist = resolve(process.env.AURALOADER_BENCH_DIST ?? join(repo, "target/bench-dist"));
const LIMIT_MS = 120_000;

const PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><title>scan test</title>
<input id="picker" type="file" multiple>
<script type="module">
import init, * as wasm from "/npm/auraloader.js";
await init({ module_or_path: "/npm/auraloader_bg.wasm" });
const summary = (report) => ({
  files: report.files,
  bytesRead: report.bytesRead,
  studies: report.studies.map((s) => ({ uid: s.study_uid, images: s.images })),
  skipped: report.skipped.map((s) => ({ path: s.path, kind: s.reason.kind })),
});
window.scanBoth = async (paths) => {
  const files = Array.from(document.getElementById("picker").files);
  const workers = summary(await wasm.scanFiles(files, paths, () => {}));
  const main = summary(await wasm.scanFilesWith(files, paths, () => {}, { workers: 0 }));
  return { workers, main, tuning: await wasm.scanTuning() };
};
window.touch = () => Array.from(document.getElementById("picker").files).reduce((n, f) => n + f.size, 0);
window.ready = true;
</script></html>`;

let root;
let server;
let browser;
const skip = !process.env.CHROME && "CHROME is not set: this test runs under `cargo xtask test`";

before(async () => {
  if (skip) return;
  root = mkdtempSync(join(tmpdir(), "auraloader-scan-test-"));
  const run = spawnSync(
    "cargo",
    [
      "run", "--quiet", "--package", "xtask", "--", "gen-study", "--out", join(root, "cd"),
      "--studies", "1", "--series", "2", "--instances", "40", "--pixel-bytes", "30000", "--junk", "--seed", "21",
    ],
    { cwd: repo, encoding: "utf8", timeout: 600_000 },
  );
  assert.equal(run.status, 0, `cargo xtask gen-study failed: ${run.stderr}`);
  const { startStatic } = await import(pathToFileURL(join(repo, "www/tools/tus-servers.mjs")).href);
  server = await startStatic({ routes: { "/": PAGE }, mounts: { "/npm/": join(dist, "npm") } });
  const { launchChromium } = await import(pathToFileURL(join(repo, "www/tools/chromium.mjs")).href);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Relative paths of the files under `dir`, sorted. */
function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path).split("\\").join("/"));
    }
  };
  walk(dir);
  return out;
}

test("a file removed after it was chosen is skipped as unreadable; the others scan alike in workers and on the main thread", { skip, timeout: 300_000 }, async () => {
  const cd = join(root, "cd");
  const paths = filesUnder(cd);
  const images = paths.filter((p) => /IM\d+/.test(p));
  assert.equal(images.length, 80, `images: ${images.length}`);
  const page = await browser.newPage();
  try {
    await page.goto(`${server.origin}/`, { timeout: 30_000 });
    await page.waitForFunction(() => window.ready === true, null, { timeout: LIMIT_MS });
    await page.locator("#picker").setInputFiles(paths.map((p) => join(cd, p)));
    // The page has seen each file (its size), as the widget has by the time
    // it scans; then one image goes away.
    assert.ok((await page.evaluate(() => window.touch())) > 0);
    const gone = images[37];
    rmSync(join(cd, gone));
    const { workers, main, tuning } = await page.evaluate((p) => window.scanBoth(p), paths);

    assert.ok(tuning.batch < paths.length, `one batch holds all ${paths.length} files: ${JSON.stringify(tuning)}`);
    assert.deepEqual(main, workers, "workers and main thread find the same");
    assert.equal(workers.files, paths.length);
    assert.equal(workers.studies.length, 1);
    assert.equal(workers.studies[0].images, 79);
    const kinds = Object.fromEntries(workers.skipped.map((s) => [s.path, s.kind]));
    assert.equal(kinds[gone], "unreadable", JSON.stringify(workers.skipped));
    for (const junk of ["README.TXT", "AUTORUN.INF", "VIEWER/VIEWER.EXE"]) {
      assert.equal(kinds[paths.find((p) => p.endsWith(junk))], "not_dicom", junk);
    }
    assert.equal(workers.skipped.length, 4, JSON.stringify(workers.skipped));
    // Heads only: at most one first read per file.
    assert.ok(workers.bytesRead <= paths.length * tuning.firstRead, `read ${workers.bytesRead} bytes`);
  } finally {
    await page.close();
  }
});
