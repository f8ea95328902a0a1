// Browser entry of the npm package (Vite, webpack, any ES module bundler or a
// plain <script type="module">): the wasm file is fetched beside this module.
import init, * as wasm from "./auraloader.js";
import { createApi } from "./facade.js";

export { ALGORITHM, SERVICE, REQUIRED_HEADERS, hmacSha256, sha256, generateNonce } from "./facade.js";

const api = createApi(async () => {
  await init({ module_or_path: new URL("./auraloader_bg.wasm", import.meta.url) });
  return wasm;
});

export const { StandaloneAuraloader, HmacSigner, createSigner, ready } = api;
export default StandaloneAuraloader;
