// The published widget's integration snippets, pasted unchanged but for
// their URLs and tokens, run to completion against the dev server.
//
// tests/e2e/snippets/ holds the snippets of the README of the published
// widget (@aurabx/standalone-uploader 1.0.0, as given in seed 000), each
// cut byte for byte from the seed's text (the SHA-256 below are of those
// cuts; with AURALOADER_SEED naming the seed's file the test also finds
// each one in it):
// - es-module.js: "Usage / ES Module";
// - script-tag.html: "Usage / Script Tag (UMD)";
// - phase2-frontend.js: "Phase 2: Browser Upload with Token";
// - phase1-backend.js: "Phase 1: Backend Token Exchange", getUploadToken;
// - backend-implementation.js: "Your Backend Implementation", app.post.
// CHANGES below is the one list of what the pages and the backend change
// in them, each a string replaced (and how often it must occur): the Aura
// API URL becomes the dev server's /api, the service API key the dev
// server's demo key, the "aubt_..." placeholder a real upload token, the
// UMD file name the built script-tag file. Nothing else is touched: the
// test checks that each committed snippet is the seed's text, that each
// change matches exactly as often as listed, and that the pages served
// carry the changed text verbatim. "/api/upload-token" stays: the
// partner's backend (tests/e2e/partner.mjs) answers it by running the
// backend snippets, with the dev server's demo credentials in the
// environment variables they read.
//
// The frontends run in pages of the partner's own origin (the dev server
// allows it with --allowed-origins), the ES module ones with
// `import { StandaloneAuraloader } from "@aurabx/standalone-uploader";`
// resolved by an import map to the built package. In each page a
// synthetic study is dropped on the mounted widget, Upload pressed, and
// then the snippet's own callbacks (their console.log) must have fired
// with the result, the server must hold the study's zip, verified and
// byte-identical to the files, and the session's lifecycle must be
// init, start, complete.
//
// The seed's snippets do not fit together everywhere; the test shows
// where, without changing them:
// - the frontends fetch GET /api/upload-token, the backend snippet
//   registers POST: the partner's backend runs that handler for both;
// - Phase 1 asks for the scopes upload:init and upload:manage only, while
//   GET /uploader/config needs integration:read (docs/spec/API.md, and
//   the seed's own endpoint list): its token is refused by init() with
//   403 insufficient_scope, which the last test asserts. "Your Backend
//   Implementation" asks for all three and is the one the uploads use.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  assertUploadResultShape, assertZipHolds, checkEnv, env, genStudy, launchBrowser, LIMIT_MS, Scratch, sha256,
  startDevServer, until, uploadIdOf, WidgetPage,
} from "./harness.mjs";
import { startPartner } from "./partner.mjs";

const SNIPPETS_DIR = fileURLToPath(new URL("snippets/", import.meta.url));

/** SHA-256 of each snippet as cut from seed 000's text. */
const SEED_SHA256 = {
  "es-module.js": "a44d7e0ac6b5f0d31bc1f647ce269f51baf2f26a89108164c2f0407047119077",
  "script-tag.html": "00242391bca368f926e260c3c65bcd6b3e2a7297f3711ca732615daf7897abfe",
  "phase2-frontend.js": "ca089c3839f517dfacbf77fbd443d9f68004e7d00ce241e003749d098dfbdb09",
  "phase1-backend.js": "a6af28567ffcc79c2c5eb7e1238b5ec890cd9f8ea23bfd8b8d2d04dbd4439db3",
  "backend-implementation.js": "4eed854e09973d1eb685d435b9f58251f4e4641a41a9e953e2c45dd7db2eef15",
};

/**
 * Every change made to the pasted snippets: [the quoted string the seed
 * has, the name of the value whose quoted string replaces it, how many
 * times it occurs]. The values are the run's: `api` the dev server's
 * `/api` URL, `apiKey` its demo service API key, `token` an upload token,
 * `umd` the built script-tag file on the partner's site.
 */
const CHANGES = {
  "es-module.js": [
    ['"https://aura-instance.com/api"', "api", 1],
    ['"your-service-api-key"', "apiKey", 1],
    ['"aubt_..."', "token", 1],
  ],
  "script-tag.html": [
    ['"standalone-auraloader.umd.js"', "umd", 1],
    ['"https://aura-instance.com/api"', "api", 1],
    ['"your-service-api-key"', "apiKey", 1],
  ],
  "phase2-frontend.js": [
    ['"https://aura-instance.com/api"', "api", 1],
    ['"your-service-api-key"', "apiKey", 1],
  ],
  "phase1-backend.js": [['"https://aura-instance.com/api"', "api", 1]],
  // Reads the API URL and every credential from process.env.
  "backend-implementation.js": [],
};

/** The committed text of snippet `name`. */
const seedText = (name) => readFileSync(join(SNIPPETS_DIR, name), "utf8");

/** Snippet `name` with the CHANGES applied from `values`; throws if a change does not match as listed. */
function pasted(name, values) {
  let text = seedText(name);
  for (const [from, key, count] of CHANGES[name]) {
    assert.equal(text.split(from).length - 1, count, `${name}: ${from} occurs ${count} time(s)`);
    assert.ok(typeof values[key] === "string", `${name}: a value for ${key}`);
    text = text.split(from).join(JSON.stringify(values[key]));
  }
  return text;
}

/** Resolves the published package name to the built package on the partner's site. */
const IMPORT_MAP = `<script type="importmap">{ "imports": { "@aurabx/standalone-uploader": "/npm/index.js" } }</script>\n`;

/** The host pages: the pasted frontend, and what a page needs around it. */
const PAGES = {
  /** `import` of the published name, resolved to the built package. */
  "es-module.js": (snippet) => page("ES Module", IMPORT_MAP, `<div id="uploader-container"></div>
<script type="module">
${snippet}</script>`),
  "script-tag.html": (snippet) => page("Script Tag (UMD)", "", snippet),
  /** The snippet defines initializeUploader(); the page calls it. */
  "phase2-frontend.js": (snippet) => page("Phase 2: Browser Upload with Token", IMPORT_MAP, `<div id="uploader-container"></div>
<script type="module">
${snippet}
initializeUploader();
</script>`),
};

/** A partner's page titled `title` with `head` and `body`. */
function page(title, head, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Partner page: ${title}</title>
${head}</head>
<body>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`;
}

const scratch = new Scratch();
let server;
let partner;
let browser;
let folder;
let files;
/** The run's values for CHANGES (but `token`, per page). */
let values;

before(async () => {
  checkEnv();
  folder = join(scratch.dir("snippets"), "study");
  files = genStudy(folder, [
    "--studies", "1", "--series", "2", "--instances", "3", "--pixel-bytes", "40000", "--seed", "43",
  ]);
  partner = await startPartner({ dir: scratch.dir("partner"), npm: join(env.dist, "npm") });
  server = await startDevServer(scratch, { args: ["--allowed-origins", partner.origin] });
  values = { api: `${server.origin}/api`, apiKey: server.credentials.apiKey, umd: "/npm/standalone-auraloader.js" };
  await partner.load({
    phase1: pasted("phase1-backend.js", values),
    implementation: pasted("backend-implementation.js", values),
    env: {
      AURA_APP_ID: server.credentials.appId,
      AURA_APP_SECRET: server.credentials.appSecret,
      SERVICE_API_KEY: server.credentials.apiKey,
      AURA_API_URL: `${server.origin}/api`,
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await partner?.close();
  await server?.stop();
  scratch.cleanup();
});

/** A widget page of the snippet whose container is `#container`. */
class SnippetPage extends WidgetPage {
  constructor(context, page, server, container) {
    super(context, page, server);
    this.container = container;
    /** The snippet's console.log / console.error calls: {type, text, args (as JSON)}. */
    this.logged = [];
    page.on("console", async (message) => {
      const entry = { type: message.type(), text: message.text(), args: null };
      this.logged.push(entry);
      entry.args = await Promise.all(message.args().map((a) => a.jsonValue().catch(() => null)));
    });
  }

  locator(selector) {
    return this.page.locator(`#${this.container} ${selector}`);
  }
}

/** Serves `html` at `path` on the partner's site and opens it; resolves to a SnippetPage. */
async function openSnippet(path, html, container) {
  partner.pages.set(path, html);
  const served = await (await fetch(`${partner.origin}${path}`)).text();
  assert.equal(served, html, "the partner serves the page as written");
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(LIMIT_MS);
  const widget = new SnippetPage(context, page, server, container);
  await page.goto(`${partner.origin}${path}`);
  widget.cdp = await context.newCDPSession(page);
  return widget;
}

/**
 * Drops the study on the widget the snippet mounted and presses Upload;
 * waits for the snippet's completion log `logLine` (and no error log
 * `errorLine`) and checks the result,
 * the server's records and the stored zip. Resolves to the result.
 */
async function uploadThrough(widget, logLine, errorLine) {
  await widget.waitForStep("start");
  // The snippets keep `uploader` in a local variable (script tag, Phase 2):
  // a garbage collection now must not take the mounted widget away.
  await widget.cdp.send("HeapProfiler.collectGarbage");
  await widget.dropFolder(folder);
  await widget.waitForStep("pending");
  assert.equal((await widget.studyRows()).length, 1);
  await widget.clickUpload();
  await widget.waitForStep("complete");

  // The snippet's own onUploadComplete: console.log(logLine, result).
  const logged = await until(`the snippet's console.log("${logLine}", result)`, () =>
    widget.logged.find((l) => l.type === "log" && l.text.startsWith(logLine) && l.args));
  assert.equal(logged.args[0], logLine);
  const result = logged.args[1];
  assertUploadResultShape(result);
  assert.equal(result.studies.length, 1);
  assert.deepEqual(widget.logged.filter((l) => l.type === "error" && l.text.startsWith(errorLine)), [], "onUploadError did not fire");

  // The server: the session's lifecycle in order, the zip verified and byte-exact.
  const [study] = result.studies;
  const upload = await server.finishedUpload(uploadIdOf(study.uploadUrl));
  assert.equal(upload.verified, true, upload.verify_error);
  assert.equal(upload.upload_id, result.uploadId);
  assert.equal(assertZipHolds(server.storedBytes(upload.id), files, study.studyUid), files.length);
  const session = await server.session(result.uploadId);
  assert.deepEqual(session.events.map((e) => e.kind), ["init", "start", "complete"]);
  assert.deepEqual(widget.errors, []);
  return result;
}

test("the committed snippets are seed 000's text, and each listed change matches exactly", () => {
  const seed = process.env.AURALOADER_SEED ? readFileSync(process.env.AURALOADER_SEED, "utf8") : null;
  for (const name of Object.keys(CHANGES)) {
    const text = seedText(name);
    assert.equal(sha256(Buffer.from(text)), SEED_SHA256[name], `${name} is not the seed's text`);
    if (seed) assert.ok(seed.includes(text), `${name} is not in ${process.env.AURALOADER_SEED}`);
    const changed = pasted(name, { ...values, token: "aubt_test" });
    for (const [from] of CHANGES[name]) assert.ok(!changed.includes(from), `${name}: ${from} left`);
  }
});

test("ES Module: the snippet, with its token from the backend snippet's POST route, uploads a study", async () => {
  // The backend snippet's session check, then a token as a partner's
  // server would fetch it before rendering the page.
  const calls = partner.tokenCalls.length;
  const anonymous = await fetch(`${partner.origin}/api/upload-token`, { method: "POST" });
  assert.equal(anonymous.status, 401);
  assert.deepEqual(await anonymous.json(), { error: "Unauthorized" });
  const answer = await fetch(`${partner.origin}/api/upload-token`, { method: "POST", headers: { Cookie: partner.login() } });
  assert.equal(answer.status, 200);
  const issued = await answer.json();
  assert.deepEqual(Object.keys(issued).sort(), ["expires_at", "scopes", "token"]);
  assert.match(issued.token, /^aubt_/);
  assert.deepEqual(issued.scopes, ["upload:init", "upload:manage", "integration:read"]);

  const snippet = pasted("es-module.js", { ...values, token: issued.token });
  const widget = await openSnippet("/es-module.html", PAGES["es-module.js"](snippet), "uploader-container");
  try {
    await uploadThrough(widget, "Upload complete!", "Upload failed:");
    assert.deepEqual(partner.tokenCalls.slice(calls).map((c) => [c.method, c.status]), [["POST", 401], ["POST", 200]],
      "the page used the token it was given, and asked for none");
  } finally {
    await widget.close();
  }
});

test("Script Tag (UMD): the snippet fetches GET /api/upload-token from the backend snippet and uploads a study", async () => {
  partner.tokenRoute = "app.post";
  const calls = partner.tokenCalls.length;
  const snippet = pasted("script-tag.html", values);
  const widget = await openSnippet("/script-tag.html", PAGES["script-tag.html"](snippet), "uploader");
  try {
    await uploadThrough(widget, "Complete!", "Error:");
    const [call] = partner.tokenCalls.slice(calls);
    assert.deepEqual([call.method, call.handler, call.status], ["GET", "app.post", 200]);
  } finally {
    await widget.close();
  }
});

test("Phase 2: the frontend snippet gets its token, sends its patientId and context with upload/init, and uploads a study", async () => {
  partner.tokenRoute = "app.post";
  const snippet = pasted("phase2-frontend.js", values);
  const widget = await openSnippet("/phase2.html", PAGES["phase2-frontend.js"](snippet), "uploader-container");
  const inits = [];
  widget.page.on("request", (request) => {
    if (new URL(request.url()).pathname === "/api/uploader/upload/init") inits.push(request.postDataJSON());
  });
  try {
    await uploadThrough(widget, "Upload complete!", "Upload failed:");
    assert.equal(inits.length, 1);
    assert.equal(inits[0].patient_id, "patient_123");
    assert.deepEqual(inits[0].context, {
      patient_id: "your-patient-id",
      referral_id: "your-referral-id",
      patient: { given_names: "john", family_name: "smith", date_of_birth: "1977-06-03", sex: "m" },
    });
  } finally {
    await widget.close();
  }
});

test("Phase 1: getUploadToken runs unchanged, but its token lacks integration:read, so init() is refused with 403", async () => {
  partner.tokenRoute = "getUploadToken";
  const calls = partner.tokenCalls.length;
  const snippet = pasted("script-tag.html", values);
  const widget = await openSnippet("/phase1.html", PAGES["script-tag.html"](snippet), "uploader");
  try {
    const call = await until("GET /api/upload-token answered", () => partner.tokenCalls.slice(calls).find((c) => c.status));
    assert.deepEqual([call.method, call.handler, call.status], ["GET", "getUploadToken", 200]);
    assert.deepEqual(Object.keys(call.body).sort(), ["expires_at", "token"]);
    assert.match(call.body.token, /^aubt_/);

    // init() asks GET /uploader/config, which needs integration:read.
    const config = await until("GET /api/uploader/config answered", () =>
      widget.requests.find((r) => r.path === "/api/uploader/config" && r.status));
    assert.equal(config.status, 403);
    const refused = await fetch(`${server.origin}/api/uploader/config`, {
      headers: { Authorization: `Bearer ${call.body.token}`, "X-Api-Key": server.credentials.apiKey },
    });
    assert.equal(refused.status, 403);
    assert.equal((await refused.json()).error.code, "insufficient_scope");
    // initUploader() rejects (the snippet does not catch): the page
    // reports it, and no widget is mounted.
    const error = await until("the page's unhandled rejection", () => widget.errors[0]);
    assert.match(error, /integration:read/);
    assert.equal(await widget.page.locator("#uploader .auraloader").count(), 0);
  } finally {
    await widget.close();
  }
});
