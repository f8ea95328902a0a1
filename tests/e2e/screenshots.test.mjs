// Screenshots of every step of the widget, in the light and the dark theme:
// start, processing, pending (with skipped files), uploading, retrying,
// complete, error, cancelled. Each one is reached the way a user reaches
// it (a synthetic folder from `cargo xtask gen-study` dropped for real,
// Upload pressed, Cancel pressed) and held there while it is taken:
// - processing: the page's Worker.prototype.postMessage is wrapped (an
//   init script) so that the scan's first batch of head reads goes to the
//   workers and the others wait until the test lets them go;
// - uploading: the page's uploads throttled by CDP network emulation, so
//   the widget shows a speed and the time left;
// - cancelled: the fault proxy holds a PATCH;
// - retrying: the proxy answers a PATCH with 503 and `Retry-After: 120`;
// - error: the proxy answers the first PATCH with 401, as tus does for a
//   refused lift token.
// Before each shot the test asserts the step it shows (data-step, the
// heading, the step's own text), so a wrong step fails instead of being
// photographed, and runs axe-core on it (no serious or critical
// violation). The viewport, the widget's width, the fixtures (fixed seed)
// and the pixel ratio are fixed; motion is reduced so no bar is caught
// mid-transition. On one machine two runs give the same bytes; a slower
// one may catch a countdown a second later, and other fonts change every
// picture.
//
// Every run writes the PNGs to target/e2e-screenshots/ (or the directory
// in AURALOADER_SCREENSHOTS) and prints each path, saying when a picture
// is not the committed one. With AURALOADER_UPDATE_SCREENSHOTS=1 it also
// copies them to docs/screenshots/, the set the README shows (`cargo xtask
// screenshots` runs this file so). The last test checks that the committed
// set and the README's gallery name every step in both themes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { checkEnv, env, genStudy, launchBrowser, Scratch, startDevServer, until, WidgetPage } from "./harness.mjs";

/** The steps shot, in the order of the README's gallery. */
const STEPS = ["start", "processing", "pending", "uploading", "retrying", "complete", "error", "cancelled"];
/** The values of the widget's `theme` setting that are shot. */
const THEMES = ["light", "dark"];

const OUT = resolve(process.env.AURALOADER_SCREENSHOTS ?? join(env.repo, "target/e2e-screenshots"));
const UPDATE = process.env.AURALOADER_UPDATE_SCREENSHOTS === "1";
const COMMITTED = join(env.repo, "docs/screenshots");
const VIEWPORT = { width: 840, height: 900 };
/** The width of the widget's container in the host page, in CSS pixels. */
const WIDTH = 800;
const CHUNK = 64 * 1024;
/** Files per head-read request to a worker: HEAD_BATCH in src/browser/scan.rs, read from there so the two cannot drift apart. */
const HEAD_BATCH = (() => {
  const source = readFileSync(join(env.repo, "src/browser/scan.rs"), "utf8");
  const found = /pub const HEAD_BATCH: usize = (\d+);/.exec(source);
  if (!found) throw new Error("src/browser/scan.rs no longer defines HEAD_BATCH as a number");
  return Number(found[1]);
})();

const require = createRequire(join(env.repo, "www/package.json"));
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const scratch = new Scratch();
let server;
let browser;
let folder;
let files;
/** The proxy's fault list (read at each PATCH), extended by the scenarios. */
const faults = [];

before(async () => {
  checkEnv();
  mkdirSync(OUT, { recursive: true });
  if (UPDATE) mkdirSync(COMMITTED, { recursive: true });
  folder = join(scratch.dir("shots"), "CD");
  // Two studies of one (made-up) patient, two series of eight images each,
  // and what a CD carries besides: a DICOMDIR, an autorun file, a readme
  // and a viewer, which the review lists as skipped.
  files = genStudy(folder, [
    "--studies", "2", "--patients", "1", "--series", "2", "--instances", "8",
    "--junk", "--dicomdir", "--seed", "7",
  ]);
  // One server for every shot; tus through the fault proxy, whose fault
  // list each shot extends. Rate limits raised: 16 widgets in a few minutes.
  server = await startDevServer(scratch, {
    args: ["--rate-exchange", "1000", "--rate-config", "1000", "--rate-lifecycle", "1000", "--rate-tus", "10000"],
    tusProxy: { faults },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  scratch.cleanup();
});

/**
 * Installed in the page before its scripts: the scan's head reads
 * ({type: "heads"} messages to its workers) pass while
 * `window.e2eScanHold.allow` lasts, then wait in `queued` until
 * `release()`. Other messages (init, pack, cancel) are never held.
 */
function holdScanScript() {
  const hold = { armed: false, allow: 0, passed: 0, queued: [] };
  const post = Worker.prototype.postMessage;
  Worker.prototype.postMessage = function (message, ...rest) {
    if (hold.armed && message && message.type === "heads") {
      if (hold.passed >= hold.allow) {
        hold.queued.push(() => post.call(this, message, ...rest));
        return;
      }
      hold.passed += 1;
    }
    return post.call(this, message, ...rest);
  };
  hold.release = () => {
    hold.armed = false;
    for (const send of hold.queued.splice(0)) send();
  };
  window.e2eScanHold = hold;
}

/** A fresh browser context with the widget mounted in `theme`. */
async function openShot(theme) {
  const context = await browser.newContext({
    viewport: VIEWPORT,
    deviceScaleFactor: 1,
    reducedMotion: "reduce",
    colorScheme: theme,
  });
  await context.addInitScript(holdScanScript);
  const page = await context.newPage();
  const widget = new WidgetPage(context, page, server);
  await widget.load();
  await page.addStyleTag({ content: `#uploader { width: ${WIDTH}px; }` });
  await widget.start({ settings: { theme, chunkSize: CHUNK, parallelUploads: 1 } });
  return widget;
}

/** The heading of the step shown. */
const heading = (widget) => widget.locator("[data-step] h2").textContent();

/** Checks the step and its heading. */
async function assertStep(widget, step, title) {
  assert.equal(await widget.step(), step);
  assert.equal(await heading(widget), title);
}

/** axe-core's serious and critical violations in the widget. */
async function seriousViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) await page.addScriptTag({ content: AXE });
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document.querySelector("#uploader"), { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html.slice(0, 160)) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/**
 * Checks accessibility, then writes the widget's picture as `name`.png
 * (and to docs/ when updating). Resolves to a note when the picture is not
 * the committed one (fonts differ between machines, so this is no failure).
 */
async function shoot(widget, name) {
  assert.deepEqual(await seriousViolations(widget.page), [], `axe-core on ${name}`);
  const file = join(OUT, `${name}.png`);
  const committed = join(COMMITTED, `${name}.png`);
  await widget.page.locator("#uploader").screenshot({ path: file, animations: "disabled", caret: "hide", omitBackground: true });
  if (UPDATE) {
    copyFileSync(file, committed);
    return `${file}, copied to ${committed}`;
  }
  const same = existsSync(committed) && readFileSync(committed).equals(readFileSync(file));
  return same ? file : `${file} (differs from ${committed}: look, then cargo xtask screenshots)`;
}

/** PATCHes that reached the proxy so far (the proxy numbers faults from 1 by arrival). */
const patchesSoFar = () => server.proxy.log.filter((e) => e.method === "PATCH").length;

/** A promise and its resolve function, for a held PATCH. */
function gate() {
  let open;
  const closed = new Promise((r) => {
    open = r;
  });
  return { closed, open };
}

/** Drops the folder and waits for the review. */
async function review(widget) {
  await widget.dropFolder(folder);
  await widget.waitForStep("pending");
}

/** Waits until the proxy holds the PATCH `n`. */
const held = (n) =>
  until(`PATCH ${n} held at the proxy`, () => server.proxy.log.filter((e) => e.method === "PATCH")[n - 1]?.fault === "held");

/** How each step is reached and checked; `widget` is fresh, at the start step. */
const SCENARIOS = {
  async start(widget) {
    await assertStep(widget, "start", "Upload imaging studies");
    assert.equal(await widget.locator(".aul-dropzone button").count(), 2, "Choose files, Choose folder");
  },

  async processing(widget) {
    await widget.page.evaluate(() => {
      window.e2eScanHold.armed = true;
      window.e2eScanHold.allow = 1;
    });
    await widget.dropFolder(folder);
    await widget.waitForStep("processing");
    const text = widget.locator(".aul-processing .aul-progress .aul-muted");
    const shown = await until("the first batch read", async () => {
      const t = await text.textContent();
      const queued = await widget.page.evaluate(() => window.e2eScanHold.queued.length);
      return queued > 0 && t.startsWith(`${HEAD_BATCH} of `) ? t : null;
    });
    assert.match(shown, new RegExp(`^${HEAD_BATCH} of ${files.length} files read, \\d+ skipped$`));
    await assertStep(widget, "processing", "Reading files…");
    return async () => {
      // The held reads go on: the scan ends in the review.
      await widget.page.evaluate(() => window.e2eScanHold.release());
      await widget.waitForStep("pending");
    };
  },

  async pending(widget) {
    await review(widget);
    await widget.locator(".aul-skipped summary").click();
    await assertStep(widget, "pending", "Studies found: 2");
    const rows = await widget.studyRows();
    assert.equal(rows.length, 2);
    for (const row of rows) assert.deepEqual([row.series, row.images], [2, 16]);
    const skipped = await widget.skippedRows();
    assert.deepEqual(skipped.map((s) => s.path).sort(), ["CD/AUTORUN.INF", "CD/DICOMDIR", "CD/README.TXT", "CD/VIEWER/VIEWER.EXE"]);
    assert.ok(await widget.locator(".aul-skipped li").first().isVisible(), "the skipped list is open");
  },

  async uploading(widget) {
    // The page's uploads throttled by Chromium itself (CDP network
    // emulation, below the page, so the widget's upload progress, speed
    // and time left are those of a slow link), the shot taken once the
    // widget shows a speed and the time left.
    const cdp = await widget.context.newCDPSession(widget.page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 96 * 1024,
    });
    await review(widget);
    await widget.clickUpload();
    await widget.waitForStep("uploading");
    await assertStep(widget, "uploading", "Uploading…");
    const overall = widget.locator(".aul-uploading .aul-progress .aul-muted").first();
    const shown = await until("a speed and the time left", async () => {
      const text = await overall.textContent();
      return / of .* sent · .*\/s · about .* left$/.test(text) ? text : null;
    });
    assert.match(shown, /^[\d.]+ [KM]?B of [\d.]+ [KM]?B sent · /);
    assert.equal(await widget.locator(".aul-uploading .aul-progress").count(), 3);
    assert.equal(await widget.locator(".aul-retrying").count(), 0);
    return async () => {
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
      });
      await cdp.detach().catch(() => {});
    };
  },

  async retrying(widget) {
    const n = patchesSoFar() + 6;
    faults.push({ patch: n, status: 503, retryAfter: 120 });
    await review(widget);
    await widget.clickUpload();
    const notice = widget.locator(".aul-retrying");
    await notice.waitFor();
    assert.match(await notice.textContent(), /^Connection lost, retrying in 1[12]\d s$/);
    await assertStep(widget, "uploading", "Uploading…");
  },

  async complete(widget) {
    await review(widget);
    await widget.clickUpload();
    await widget.waitForStep("complete");
    await assertStep(widget, "complete", "Upload complete");
    assert.equal(await widget.locator(".aul-complete p").textContent(), "Studies uploaded: 2.");
    const [result] = await widget.waitForCall("onUploadComplete");
    assert.equal(result.studies.length, 2);
  },

  async error(widget) {
    faults.push({ patch: patchesSoFar() + 1, status: 401 });
    await review(widget);
    await widget.clickUpload();
    await widget.waitForStep("error");
    await assertStep(widget, "error", "Upload failed");
    assert.match(await widget.locator(".aul-error-message").textContent(), /HTTP 401/);
    assert.match(await widget.locator(".aul-error-hint").textContent(), /^Your upload permission has expired/);
  },

  async cancelled(widget) {
    const n = patchesSoFar() + 3;
    const hold = gate();
    faults.push({ patch: n, holdUntil: hold.closed });
    await review(widget);
    await widget.clickUpload();
    await held(n);
    await widget.clickCancel();
    await widget.waitForStep("cancelled");
    await assertStep(widget, "cancelled", "Upload cancelled");
    await widget.waitForCall("onUploadCancel");
    return hold.open;
  },
};

for (const theme of THEMES) {
  for (const step of STEPS) {
    test(`screenshot: ${step} (${theme})`, async (t) => {
      const widget = await openShot(theme);
      let finish = null;
      try {
        assert.equal(await widget.locator("[data-theme]").getAttribute("data-theme"), theme);
        finish = await SCENARIOS[step](widget);
        t.diagnostic(await shoot(widget, `${step}-${theme}`));
      } finally {
        await finish?.();
        await widget.close();
      }
    });
  }
}

test("the committed screenshots and the README's gallery show every step in both themes", () => {
  const names = STEPS.flatMap((step) => THEMES.map((theme) => `${step}-${theme}.png`));
  assert.ok(existsSync(COMMITTED), `${COMMITTED} is missing: run with AURALOADER_UPDATE_SCREENSHOTS=1`);
  assert.deepEqual(readdirSync(COMMITTED).filter((f) => f.endsWith(".png")).sort(), [...names].sort());
  const readme = readFileSync(join(env.repo, "README.md"), "utf8");
  for (const name of names) assert.ok(readme.includes(`docs/screenshots/${name}`), `README shows ${name}`);
  console.log(`# screenshots of this run: ${OUT}`);
});
