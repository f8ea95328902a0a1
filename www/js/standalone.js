// Entry of dist/standalone-auraloader.js, the script-tag build: esbuild bundles
// this file into one classic script with the wasm inlined (no second request,
// no path to configure). The globals exist as soon as the script has run;
// methods wait for the module themselves, and
// `await StandaloneAuraloader.ready()` waits explicitly.
import init, * as wasm from "./auraloader.js";
import wasmBytes from "./auraloader_bg.wasm";
import { createApi } from "./facade.js";

const api = createApi(async () => {
  await init({ module_or_path: wasmBytes });
  return wasm;
});

globalThis.StandaloneAuraloader = api.StandaloneAuraloader;
globalThis.HmacSigner = api.HmacSigner;
globalThis.createSigner = api.createSigner;
api.ready().then(
  () => {
    if (typeof globalThis.dispatchEvent === "function" && typeof Event === "function") {
      globalThis.dispatchEvent(new Event("auraloader:ready"));
    }
  },
  () => {},
);
