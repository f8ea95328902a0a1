// The widget's JS surface in the built package (AURALOADER_DIST, as in
// package.test.mjs): the checks of auraloader's optional settings, and the
// same API from the npm package and the script-tag file.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

const dist = resolve(process.env.AURALOADER_DIST ?? new URL("../../dist", import.meta.url).pathname);

async function importPackage() {
  const project = mkdtempSync(join(tmpdir(), "auraloader-widget-"));
  mkdirSync(join(project, "node_modules"));
  symlinkSync(join(dist, "npm"), join(project, "node_modules", "auraloader"), "dir");
  writeFileSync(join(project, "probe.mjs"), 'export * from "auraloader";\n');
  try {
    return await import(pathToFileURL(join(project, "probe.mjs")).href);
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

const valid = {
  apiToken: "key",
  apiBaseUrl: "https://aura.example.com/api",
  uploadToken: "aubt_x",
  containerId: "c",
};

test("the optional settings are checked at construction with clear messages", async () => {
  const { StandaloneAuraloader } = await importPackage();
  const cases = [
    [{ callbacks: "nope" }, "callbacks must be an object"],
    [{ callbacks: { onStateChange: 1 } }, "callbacks.onStateChange must be a function"],
    [{ strings: { title: 5 } }, "strings.title must be a string"],
    [{ strings: [] }, "strings must be an object of texts"],
    [{ theme: "blue" }, "theme must be 'light', 'dark' or 'auto'"],
    [{ chunkSize: 100 }, "chunkSize must be a whole number of bytes, at least 65536"],
    [{ parallelUploads: 0 }, "parallelUploads must be a whole number from 1 to 16"],
    [{ stallTimeoutMs: 999 }, "stallTimeoutMs must be a whole number of milliseconds from 1000 to 3600000"],
    [{ stallTimeoutMs: 1500.5 }, "stallTimeoutMs must be a whole number of milliseconds from 1000 to 3600000"],
    [{ stallTimeoutMs: "30000" }, "stallTimeoutMs must be a whole number of milliseconds from 1000 to 3600000"],
    [{ rejectRules: [{}] }, "rejectRules[0] needs a description"],
    [{ rejectRules: [{ description: "x", modality: 3 }] }, "rejectRules[0].modality must be a string"],
    [{ allowedModalities: "CT" }, 'allowedModalities must be an array of modality codes, e.g. ["CT", "MR"]'],
  ];
  for (const [extra, message] of cases) {
    assert.throws(() => new StandaloneAuraloader({ ...valid, ...extra }), { message });
  }
  const widget = new StandaloneAuraloader({
    ...valid,
    theme: "auto",
    strings: { title: "Bilder hochladen" },
    chunkSize: 5 * 1024 * 1024,
    parallelUploads: 3,
    stallTimeoutMs: 10_000,
    rejectRules: [{ description: "structured reports", modality: "SR" }],
    allowedModalities: ["CT", "MR"],
    callbacks: { onStateChange: () => {} },
  });
  assert.equal(widget.state.step, "start");
});

test("the npm package and the script-tag file expose the same API", async () => {
  const npm = await importPackage();
  const code = readFileSync(join(dist, "standalone-auraloader.js"), "utf8");
  const sandbox = { console, URL, TextEncoder, TextDecoder, WebAssembly, crypto: globalThis.crypto };
  sandbox.window = sandbox;
  vm.createContext(sandbox);
  vm.runInContext(code, sandbox, { filename: "standalone-auraloader.js" });
  const members = (cls) => Object.getOwnPropertyNames(cls.prototype).sort();
  assert.deepEqual(members(sandbox.StandaloneAuraloader), members(npm.StandaloneAuraloader));
  for (const method of ["init", "mount", "upload", "cancel", "reset", "removeStudy", "destroy", "addFiles"]) {
    assert.equal(typeof npm.StandaloneAuraloader.prototype[method], "function", method);
  }
  assert.deepEqual(members(sandbox.HmacSigner), members(npm.HmacSigner));
  assert.equal(typeof sandbox.createSigner, "function");
});
