// The published JavaScript API of auraloader, as thin classes over the wasm
// module. The constructors check their arguments synchronously (so the errors
// of the published widget are thrown at `new`, even while the wasm module is
// still loading); every method then waits for the module and calls into Rust.
//
// `createApi(load)` is shared by the three entry points (browser ESM, Node,
// script tag), which differ only in how they load the wasm bytes.

/** Throws the published widget's constructor errors, in its order. */
function checkConfig(config) {
  if (config === null || typeof config !== "object") {
    throw new Error("config is required");
  }
  if (!config.apiToken) throw new Error("apiToken is required");
  if (!config.apiBaseUrl) throw new Error("apiBaseUrl is required");
  if (!config.containerId) throw new Error("containerId is required");
  if (!config.uploadToken) throw new Error("uploadToken is required");
  try {
    new URL(config.apiBaseUrl);
  } catch {
    throw new Error("apiBaseUrl must be a valid URL");
  }
  if (!String(config.uploadToken).startsWith("aubt_")) {
    throw new Error("uploadToken must start with 'aubt_'");
  }
}

export function createApi(load) {
  let loading = null;
  /** Loads and instantiates the wasm module once; later calls share it. */
  function ready() {
    if (loading === null) {
      loading = load().catch((error) => {
        loading = null;
        throw new Error(`auraloader: could not load its WebAssembly module: ${error && error.message ? error.message : error}`);
      });
    }
    return loading;
  }

  class StandaloneAuraloader {
    #config;
    #core = null;

    constructor(config) {
      checkConfig(config);
      this.#config = config;
      ready().catch(() => {});
    }

    /** Resolves when the wasm module is loaded; rejects if it cannot be. */
    static ready() {
      return ready().then(() => undefined);
    }

    async #instance() {
      const wasm = await ready();
      if (this.#core === null) {
        this.#core = new wasm.StandaloneAuraloader(this.#config);
      }
      return this.#core;
    }

    /** Checks the container and fetches the uploader configuration. */
    async init() {
      await (await this.#instance()).init();
    }

    /** Renders the widget into its container; rejects before `init()`. */
    async mount() {
      (await this.#instance()).mount();
    }

    /** Starts uploading the studies found. */
    async upload() {
      await (await this.#instance()).upload();
    }

    /** Cancels the current upload. */
    async cancel() {
      await (await this.#instance()).cancel();
    }

    /** Returns to the start step. */
    async reset() {
      await (await this.#instance()).reset();
    }

    /** Removes a study from the queue. */
    async removeStudy(studyInstanceUid) {
      await (await this.#instance()).removeStudy(studyInstanceUid);
    }

    /** Unmounts the widget and releases everything it holds. */
    destroy() {
      if (this.#core !== null) {
        this.#core.destroy();
        this.#core.free();
        this.#core = null;
      }
    }
  }

  class HmacSigner {
    #appId;
    #appSecret;

    constructor(appId, appSecret) {
      if (!appId) throw new Error("appId is required");
      if (!appSecret) throw new Error("appSecret is required");
      this.#appId = String(appId);
      this.#appSecret = String(appSecret);
    }

    /**
     * Signs an axios-style request config in place with AURA-HMAC-SHA256 and
     * returns it. `options.timestamp` (Unix seconds) and `options.nonce` fix
     * those values, for tests.
     */
    async sign(config, options) {
      const wasm = await ready();
      wasm.signRequest(this.#appId, this.#appSecret, config, options ?? {});
      return config;
    }
  }

  function createSigner(appId, appSecret) {
    return new HmacSigner(appId, appSecret);
  }

  return { StandaloneAuraloader, HmacSigner, createSigner, ready };
}
