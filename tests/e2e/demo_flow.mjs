// The demo page end to end in headless Chromium (playwright-core driving the
// machine's Chromium, www/tools/chromium.mjs) against the running dev server:
// `node tests/e2e/demo_flow.mjs http://127.0.0.1:PORT/`. `cargo xtask test`
// runs it in its demo step.
//
// It checks, in the real page: axe-core (npm) finds no serious or critical
// violation on the start, review and error steps; the sample study goes through
// the scan to the review table; the Upload button is reached with Tab and
// pressed with Enter; the dev server records upload/init, upload/start and
// upload/error for the session (this build has no transfer yet, which the
// widget reports as `not_implemented`); the console never shows patient
// data. Prints TAP-style `# pass N` / `# fail N` for xtask's count and
// exits non-zero on failure. Every wait has a timeout.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { launchChromium } from "../../www/tools/chromium.mjs";

const require = createRequire(new URL("../../www/package.json", import.meta.url));
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const url = process.argv[2];
if (!url) {
  console.error("usage: node tests/e2e/demo_flow.mjs http://127.0.0.1:PORT/");
  process.exit(2);
}
// The sample study's patient (sample-study.js): none of it may reach the console.
const PATIENT_DATA = ["Sample^Pat", "Pat Sample", "SAMPLE-0001", "19800101", "1980-01-01"];

const results = [];
async function check(name, body) {
  try {
    await body();
    results.push([name, null]);
    console.log(`ok - ${name}`);
  } catch (error) {
    results.push([name, error]);
    console.log(`not ok - ${name}\n  # ${String(error && error.stack ? error.stack : error).split("\n").join("\n  # ")}`);
  }
}

async function seriousViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.addScriptTag({ content: AXE });
  }
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document.querySelector("#uploader"), { resultTypes: ["violations"] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.html.slice(0, 120)) }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

const browser = await launchChromium();
let failed = false;
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const consoleLines = [];
  page.on("console", (message) => consoleLines.push(message.text()));
  page.on("pageerror", (error) => consoleLines.push(`pageerror: ${error.message}`));

  await check("the demo page mounts the widget in a shadow root", async () => {
    await page.goto(url);
    await page.waitForSelector("body[data-auraloader=mounted]");
    const heading = await page.locator("#uploader h2").textContent();
    if (heading !== "Upload imaging studies") throw new Error(`heading: ${heading}`);
  });

  await check("axe-core: no serious or critical violations on the start step", async () => {
    const found = await seriousViolations(page);
    if (found.length) throw new Error(JSON.stringify(found, null, 2));
  });

  await check("the sample study is scanned and listed for review", async () => {
    await page.click("#sample");
    await page.waitForSelector("#uploader tbody tr");
    const rows = await page.locator("#uploader tbody tr").count();
    if (rows !== 1) throw new Error(`${rows} rows`);
    const log = await page.locator("#log").textContent();
    if (!log.includes("onStudiesFound 1 studies (10 images)")) throw new Error(log);
    if (!log.includes("onStateChange pending")) throw new Error(log);
  });

  await check("axe-core: no serious or critical violations on the review step", async () => {
    await page.locator("#uploader details").evaluate((d) => (d.open = true));
    const found = await seriousViolations(page);
    if (found.length) throw new Error(JSON.stringify(found, null, 2));
  });

  await check("Upload is reached with Tab and pressed with Enter; the server records the lifecycle", async () => {
    await page.locator("#sample").focus();
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press("Tab");
      reached = await page.evaluate(() => {
        let active = document.activeElement;
        while (active && active.shadowRoot && active.shadowRoot.activeElement) active = active.shadowRoot.activeElement;
        return Boolean(active && active.classList && active.classList.contains("aul-upload"));
      });
    }
    if (!reached) throw new Error("Tab never reached the Upload button");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.querySelector("#log").textContent.includes("onUploadError"));
    const log = await page.locator("#log").textContent();
    if (!log.includes("onStateChange uploading")) throw new Error(log);
    if (!log.includes("onUploadError not_implemented")) throw new Error(log);
    const text = await page.locator("#uploader .aul-error-message").textContent();
    if (!text.includes("cannot send files yet")) throw new Error(text);
    const uploads = await (await fetch(new URL("/api/dev/uploads", url))).json();
    const sessions = uploads.sessions ?? uploads;
    const kinds = sessions.flatMap((s) => (s.events ?? []).map((e) => e.kind));
    for (const kind of ["start", "error"]) {
      if (!kinds.includes(kind)) throw new Error(`no ${kind} event: ${JSON.stringify(uploads).slice(0, 500)}`);
    }
    const studies = sessions.flatMap((s) => s.studies ?? []);
    if (!studies.some((s) => s.images === 10)) throw new Error(`init did not store the study: ${JSON.stringify(studies)}`);
  });

  await check("axe-core: no serious or critical violations on the error step", async () => {
    const found = await seriousViolations(page);
    if (found.length) throw new Error(JSON.stringify(found, null, 2));
  });

  await check("the console shows no patient data", async () => {
    const leaks = consoleLines.filter((line) => PATIENT_DATA.some((p) => line.includes(p)));
    if (leaks.length) throw new Error(leaks.join("\n"));
  });
} finally {
  await browser.close();
}
const fails = results.filter(([, e]) => e).length;
failed = fails > 0;
console.log(`# pass ${results.length - fails}`);
console.log(`# fail ${fails}`);
process.exit(failed ? 1 : 0);
