// Tests of the built npm package and script-tag file, run by `cargo xtask test`
// after `cargo xtask build` (AURALOADER_DIST points at dist/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

const dist = resolve(process.env.AURALOADER_DIST ?? new URL("../../dist", import.meta.url).pathname);

// Import the package the way a Node backend does (`import … from "auraloader"`),
// through its package.json `exports` map, from a temp project that links it.
async function importPackage() {
  const project = mkdtempSync(join(tmpdir(), "auraloader-node-"));
  mkdirSync(join(project, "node_modules"));
  symlinkSync(join(dist, "npm"), join(project, "node_modules", "auraloader"), "dir");
  writeFileSync(join(project, "probe.mjs"), 'export * from "auraloader";\nexport { default } from "auraloader";\n');
  try {
    return await import(pathToFileURL(join(project, "probe.mjs")).href);
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

const VECTOR_SIGNATURE = "4e865169c280c238e93ea51681fdf9e5977ecbf0dc60fbbf0b6b7ccba2005093";
const VECTOR_AUTHORIZATION =
  "AURA-HMAC-SHA256 Credential=test-app-id,SignedHeaders=content-type;host;x-aura-nonce;x-aura-timestamp,Signature=" +
  VECTOR_SIGNATURE;

function vectorConfig() {
  return {
    method: "POST",
    url: "/auth/exchange",
    baseURL: "https://aura.example.com/api",
    headers: { "Content-Type": "application/json", "X-Api-Key": "service-key" },
    data: { ttl: 3600, scopes: ["upload:init", "upload:manage"] },
  };
}
const FIXED = { timestamp: 1706140800, nonce: "550e8400-e29b-41d4-a716-446655440000" };

test("package.json names the entry points, the types and the wasm", () => {
  const pkg = JSON.parse(readFileSync(join(dist, "npm", "package.json"), "utf8"));
  assert.equal(pkg.name, "auraloader");
  assert.match(pkg.version, /^\d+\.\d+\.\d+/);
  assert.equal(pkg.types, "./index.d.ts");
  assert.equal(pkg.exports["."].node, "./node.js");
  assert.equal(pkg.exports["."].default, "./index.js");
  for (const file of pkg.files) {
    assert.ok(readFileSync(join(dist, "npm", file)).length > 0, `${file} is in the package`);
  }
});

test("HmacSigner from the npm package signs the spec's vector in Node", async () => {
  const { HmacSigner } = await importPackage();
  const signer = new HmacSigner("test-app-id", "test-secret-key");
  const config = vectorConfig();
  const returned = await signer.sign(config, FIXED);
  assert.equal(returned, config, "sign() returns the config it signed in place");
  assert.equal(config.headers.Authorization, VECTOR_AUTHORIZATION);
  assert.equal(config.headers["X-Aura-Timestamp"], "1706140800");
  assert.equal(config.headers["X-Aura-Nonce"], FIXED.nonce);
  assert.equal(config.headers["X-Api-Key"], "service-key", "the API key is kept and not signed");
});

test("HmacSigner adds Content-Type for a body and uses a fresh nonce and the clock", async () => {
  const { createSigner } = await importPackage();
  const signer = createSigner("id", "secret");
  const a = { method: "post", url: "https://h.example/api/auth/exchange", data: { ttl: 60 } };
  const b = { method: "post", url: "https://h.example/api/auth/exchange", data: { ttl: 60 } };
  await signer.sign(a);
  await signer.sign(b);
  assert.equal(a.headers["Content-Type"], "application/json");
  assert.match(a.headers["X-Aura-Nonce"], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a.headers["X-Aura-Nonce"], b.headers["X-Aura-Nonce"]);
  assert.ok(Math.abs(Number(a.headers["X-Aura-Timestamp"]) - Date.now() / 1000) < 60);
  assert.match(a.headers.Authorization, /^AURA-HMAC-SHA256 Credential=id,SignedHeaders=content-type;host;x-aura-nonce;x-aura-timestamp,Signature=[0-9a-f]{64}$/);
});

test("HmacSigner's signature changes with the body", async () => {
  const { HmacSigner } = await importPackage();
  const signer = new HmacSigner("test-app-id", "test-secret-key");
  const config = vectorConfig();
  config.data.ttl = 3601;
  await signer.sign(config, FIXED);
  assert.notEqual(config.headers.Authorization, VECTOR_AUTHORIZATION);
});

test("HmacSigner throws the published constructor errors", async () => {
  const { HmacSigner } = await importPackage();
  assert.throws(() => new HmacSigner("", "s"), { message: "appId is required" });
  assert.throws(() => new HmacSigner("id"), { message: "appSecret is required" });
});

test("StandaloneAuraloader throws the published constructor errors, in order", async () => {
  const { StandaloneAuraloader } = await importPackage();
  const valid = {
    apiToken: "key",
    apiBaseUrl: "https://aura.example.com/api",
    uploadToken: "aubt_x",
    containerId: "c",
  };
  const cases = [
    [{ ...valid, apiToken: "" }, "apiToken is required"],
    [{ ...valid, apiBaseUrl: undefined }, "apiBaseUrl is required"],
    [{ ...valid, containerId: "" }, "containerId is required"],
    [{ ...valid, uploadToken: "" }, "uploadToken is required"],
    [{ ...valid, apiBaseUrl: "not a url" }, "apiBaseUrl must be a valid URL"],
    [{ ...valid, uploadToken: "token" }, "uploadToken must start with 'aubt_'"],
    [{ apiBaseUrl: "x" }, "apiToken is required"],
  ];
  for (const [config, message] of cases) {
    assert.throws(() => new StandaloneAuraloader(config), { message });
  }
  assert.doesNotThrow(() => new StandaloneAuraloader(valid));
});

test("the script-tag file defines the globals and its inlined wasm signs the vector", async () => {
  const code = readFileSync(join(dist, "standalone-auraloader.js"), "utf8");
  const wasmSize = readFileSync(join(dist, "npm", "auraloader_bg.wasm")).length;
  assert.ok(code.length > wasmSize, "the wasm is inlined (base64), not fetched beside the script");
  const sandbox = { console, URL, TextEncoder, TextDecoder, WebAssembly, crypto: globalThis.crypto };
  sandbox.window = sandbox;
  vm.createContext(sandbox);
  vm.runInContext(code, sandbox, { filename: "standalone-auraloader.js" });
  assert.equal(typeof sandbox.StandaloneAuraloader, "function");
  assert.equal(typeof sandbox.HmacSigner, "function");
  await sandbox.StandaloneAuraloader.ready();
  const config = vectorConfig();
  await new sandbox.HmacSigner("test-app-id", "test-secret-key").sign(config, FIXED);
  assert.equal(config.headers.Authorization, VECTOR_AUTHORIZATION);
});

// The published package's whole module surface (docs/spec/API.md, "The
// widget's JavaScript surface"): each name here is one an integration may
// import, so each goes missing only with a failing test.
const PUBLISHED_EXPORTS = [
  "ALGORITHM", "HmacSigner", "REQUIRED_HEADERS", "SERVICE", "StandaloneAuraloader",
  "createSigner", "default", "generateNonce", "hmacSha256", "sha256",
];

test("the npm package exports every published name, the widget as the default export", async () => {
  const npm = await importPackage();
  for (const name of PUBLISHED_EXPORTS) assert.ok(name in npm, `export ${name}`);
  assert.equal(npm.default, npm.StandaloneAuraloader);
  assert.equal(npm.ALGORITHM, "AURA-HMAC-SHA256");
  assert.equal(npm.SERVICE, "aura_request");
  assert.deepEqual([...npm.REQUIRED_HEADERS], ["host", "x-aura-nonce", "x-aura-timestamp"]);
  const signer = npm.createSigner("id", "secret");
  assert.ok(signer instanceof npm.HmacSigner);
  assert.deepEqual(signer.credentials, { appId: "id", appSecret: "secret" });
  assert.match(npm.generateNonce(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(npm.generateNonce(), npm.generateNonce());
});

test("sha256 and hmacSha256 recompute the spec's vector step by step", async () => {
  const { sha256, hmacSha256, ALGORITHM, SERVICE } = await importPackage();
  // RFC 4231, test case 2, with the key as a string and as bytes.
  const rfc = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
  assert.equal(await hmacSha256("Jefe", "what do ya want for nothing?"), rfc);
  assert.equal(await hmacSha256(new TextEncoder().encode("Jefe").buffer, "what do ya want for nothing?"), rfc);
  // docs/spec/HMAC.md: payload hash, canonical request, keys, signature.
  const body = '{"ttl":3600,"scopes":["upload:init","upload:manage"]}';
  const payload = await sha256(body);
  assert.equal(payload, "5335037164580247d5b44ecd0bafecaed26775a65e61c2fb867f39f97cbdd303");
  const signed = "content-type;host;x-aura-nonce;x-aura-timestamp";
  const canonical = [
    "POST", "/api/auth/exchange", "",
    `content-type:application/json\nhost:aura.example.com\nx-aura-nonce:${FIXED.nonce}\nx-aura-timestamp:${FIXED.timestamp}\n`,
    signed, payload,
  ].join("\n");
  const scope = `test-app-id/20240125/${SERVICE}`;
  const toSign = [ALGORITHM, String(FIXED.timestamp), scope, await sha256(canonical)].join("\n");
  const bytes = (hex) => new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16))).buffer;
  const dateKey = await hmacSha256("AURAtest-secret-key", "20240125");
  const signingKey = await hmacSha256(bytes(dateKey), SERVICE);
  assert.equal(await hmacSha256(bytes(signingKey), toSign), VECTOR_SIGNATURE);
});

test("HmacSigner signs axios-style params as the query they make", async () => {
  const { HmacSigner } = await importPackage();
  const signer = new HmacSigner("test-app-id", "test-secret-key");
  const withParams = { method: "GET", url: "/uploader/config", baseURL: "https://aura.example.com/api", params: { b: "2 3", a: 1, c: true } };
  const inUrl = { method: "GET", url: "/uploader/config?c=true&a=1&b=2%203", baseURL: "https://aura.example.com/api" };
  const without = { method: "GET", url: "/uploader/config", baseURL: "https://aura.example.com/api" };
  for (const config of [withParams, inUrl, without]) await signer.sign(config, FIXED);
  assert.equal(withParams.headers.Authorization, inUrl.headers.Authorization, "params sign as the same query in the URL");
  assert.notEqual(withParams.headers.Authorization, without.headers.Authorization, "params are signed");
});

test("the state object before the wasm side exists equals the wasm side's start state", async () => {
  const { StandaloneAuraloader } = await importPackage();
  const widget = new StandaloneAuraloader({
    apiToken: "key", apiBaseUrl: "http://127.0.0.1:9/api", uploadToken: "aubt_x", containerId: "c",
  });
  const before = widget.state;
  assert.equal(before.step, "start");
  // init() creates the wasm side, then fails in Node (no document).
  await assert.rejects(widget.init(), (e) => e.name === "AuraloaderError" && e.context === "init" && e.code === "container_not_found");
  const after = widget.state;
  assert.deepEqual(after, before);
  assert.notEqual(widget.state, after, "a fresh object on each read");
  widget.destroy();
});

test("the script-tag file sets the published globals only", () => {
  const code = readFileSync(join(dist, "standalone-auraloader.js"), "utf8");
  const sandbox = { console, URL, TextEncoder, TextDecoder, WebAssembly, crypto: globalThis.crypto };
  sandbox.window = sandbox;
  const before = new Set(Object.keys(sandbox));
  vm.createContext(sandbox);
  vm.runInContext(code, sandbox, { filename: "standalone-auraloader.js" });
  const added = Object.keys(sandbox).filter((k) => !before.has(k)).sort();
  assert.deepEqual(added, ["HmacSigner", "StandaloneAuraloader", "createSigner"]);
  assert.equal(sandbox.createSigner("a", "b") instanceof sandbox.HmacSigner, true);
});

test("neither the package nor the script-tag file carries the bench and test entry points", () => {
  const wasmDts = readFileSync(join(dist, "npm", "auraloader.d.ts"), "utf8");
  const glue = readFileSync(join(dist, "npm", "auraloader.js"), "utf8");
  const wasm = readFileSync(join(dist, "npm", "auraloader_bg.wasm")).toString("latin1");
  const script = readFileSync(join(dist, "standalone-auraloader.js"), "utf8");
  for (const name of ["scanFiles", "scanFilesWith", "warmScan", "scanTuning", "startTusUploads", "prepareStudy", "PreparedZip", "TusRun"]) {
    for (const [what, text] of [["auraloader.d.ts", wasmDts], ["auraloader.js", glue], ["the wasm", wasm], ["the script-tag file", script]]) {
      assert.ok(!text.includes(name), `${name} is in ${what}`);
    }
  }
});
