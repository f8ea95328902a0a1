// Node entry of the npm package (Node 18+), for backends that sign the token
// exchange with HmacSigner. The wasm file is read from beside this module.
import { readFile } from "node:fs/promises";
import { webcrypto } from "node:crypto";
import init, * as wasm from "./auraloader.js";
import { createApi } from "./facade.js";

export { ALGORITHM, SERVICE, REQUIRED_HEADERS, hmacSha256, sha256, generateNonce } from "./facade.js";

// Node 18 has Web Crypto only under node:crypto; the signer's nonces need it.
if (!globalThis.crypto) {
  globalThis.crypto = webcrypto;
}

const api = createApi(async () => {
  const bytes = await readFile(new URL("./auraloader_bg.wasm", import.meta.url));
  await init({ module_or_path: bytes });
  return wasm;
});

export const { StandaloneAuraloader, HmacSigner, createSigner, ready } = api;
export default StandaloneAuraloader;
