// The demo page end to end in headless Chromium (playwright-core driving the
// machine's Chromium, www/tools/chromium.mjs) against the running dev server:
// `node tests/e2e/demo_flow.mjs http://127.0.0.1:PORT/`. `cargo xtask test`
// runs it in its demo step.
//
// It checks, in the real page: axe-core (npm) finds no serious or critical
// violation on the start, review and complete steps; the sample study goes
// through the scan to the review table; the Upload button is reached with Tab
// and pressed with Enter; the study is zipped and sent with tus, and the dev
// server records upload/init, upload/start and upload/complete for the
// session and holds one verified zip of the study's 10 images; the console
// never shows patient data. Prints TAP-style `# pass N` / `# fail N` for xtask's count and
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
    await page.waitForFunction(() => /onUploadComplete|onUploadError/.test(document.querySelector("#log").textContent), null, {
      timeout: 120_000,
    });
    const log = await page.locator("#log").textContent();
    if (!log.includes("onStateChange uploading")) throw new Error(log);
    if (!log.includes("onUploadComplete")) throw new Error(log);
    if (!log.includes("onStateChange complete")) throw new Error(log);
    const result = JSON.parse(log.split("onUploadComplete ")[1].split("\n")[0]);
    const uploads = await (await fetch(new URL("/api/dev/uploads", url))).json();
    const session = uploads.sessions.find((s) => s.upload_id === result.uploadId);
    if (!session) throw new Error(`no session ${result.uploadId}: ${JSON.stringify(uploads).slice(0, 500)}`);
    const kinds = session.events.map((e) => e.kind).join(",");
    if (kinds !== "init,start,complete") throw new Error(`lifecycle: ${kinds}`);
    if (session.studies.length !== 1 || session.studies[0].images !== 10) {
      throw new Error(`init did not store the study: ${JSON.stringify(session.studies)}`);
    }
    const zips = session.studies[0].uploads;
    if (zips.length !== 1 || zips[0].state !== "complete" || zips[0].verified !== true || zips[0].entry_count !== 10) {
      throw new Error(`the server holds no verified zip of the 10 images: ${JSON.stringify(zips)}`);
    }
    if (result.studies.length !== 1 || result.studies[0].id !== session.studies[0].id) {
      throw new Error(`onUploadComplete: ${JSON.stringify(result)}`);
    }
    if (!result.studies[0].uploadUrl.endsWith(`/files/${zips[0].id}`)) throw new Error(`upload URL: ${result.studies[0].uploadUrl}`);
  });

  await check("axe-core: no serious or critical violations on the complete step", async () => {
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
