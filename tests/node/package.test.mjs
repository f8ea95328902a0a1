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
  writeFileSync(join(project, "probe.mjs"), 'export * from "auraloader";\n');
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
