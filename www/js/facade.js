// The published JavaScript API of auraloader, as thin classes over the wasm
// module. The constructors check their arguments synchronously (so the errors
// of the published widget are thrown at `new`, even while the wasm module is
// still loading); every method then waits for the module and calls into Rust.
//
// `createApi(load)` is shared by the three entry points (browser ESM, Node,
// script tag), which differ only in how they load the wasm bytes. The
// published package's HMAC helpers and constants need no wasm: they are
// plain functions over Web Crypto, exported as they are.

/** The algorithm of an AURA-HMAC-SHA256 `Authorization` header. */
export const ALGORITHM = "AURA-HMAC-SHA256";
/** The service of the credential scope. */
export const SERVICE = "aura_request";
/** The headers every signature covers. */
export const REQUIRED_HEADERS = Object.freeze(["host", "x-aura-nonce", "x-aura-timestamp"]);

const toHex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

/** HMAC-SHA256 of `data` (UTF-8) with `key` (a string, UTF-8, or bytes), as lowercase hex. */
export async function hmacSha256(key, data) {
  const encoder = new TextEncoder();
  const raw = typeof key === "string" ? encoder.encode(key) : key;
  const cryptoKey = await globalThis.crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(await globalThis.crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(String(data))));
}

/** SHA-256 of `data` (UTF-8), as lowercase hex. */
export async function sha256(data) {
  return toHex(await globalThis.crypto.subtle.digest("SHA-256", new TextEncoder().encode(String(data))));
}

/** A fresh UUID v4. */
export function generateNonce() {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = toHex(bytes);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The state object before the wasm side exists (the same fields and values
 * as the wasm side's start state: a package test compares them).
 */
function startState() {
  return {
    step: "start",
    totalFiles: 0,
    studiesCount: 0,
    seriesCount: 0,
    studies: [],
    complete: false,
    studyId: "",
    zipping: false,
    errorMessage: "",
    connectionIssues: false,
    scan: { scanned: 0, total: 0, skipped: 0 },
    bytesSent: 0,
    bytesTotal: 0,
    bytesPerSecond: null,
    secondsLeft: null,
    retryInSeconds: null,
    uploads: [],
    errorCode: "",
    skipped: [],
    warnings: [],
  };
}

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
  checkExtras(config);
}

const CALLBACKS = ["onUploadComplete", "onUploadError", "onUploadCancel", "onStudiesFound", "onStateChange"];

/** Checks the optional settings auraloader adds to the published config. */
function checkExtras(config) {
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (config.callbacks !== undefined) {
    if (!isObject(config.callbacks)) throw new Error("callbacks must be an object");
    for (const name of CALLBACKS) {
      const callback = config.callbacks[name];
      if (callback !== undefined && typeof callback !== "function") {
        throw new Error(`callbacks.${name} must be a function`);
      }
    }
  }
  if (config.strings !== undefined) {
    if (!isObject(config.strings)) throw new Error("strings must be an object of texts");
    for (const [key, value] of Object.entries(config.strings)) {
      if (typeof value !== "string") throw new Error(`strings.${key} must be a string`);
    }
  }
  if (config.theme !== undefined && !["light", "dark", "auto"].includes(config.theme)) {
    throw new Error("theme must be 'light', 'dark' or 'auto'");
  }
  if (config.chunkSize !== undefined && !(Number.isInteger(config.chunkSize) && config.chunkSize >= 65536)) {
    throw new Error("chunkSize must be a whole number of bytes, at least 65536");
  }
  if (
    config.parallelUploads !== undefined &&
    !(Number.isInteger(config.parallelUploads) && config.parallelUploads >= 1 && config.parallelUploads <= 16)
  ) {
    throw new Error("parallelUploads must be a whole number from 1 to 16");
  }
  if (
    config.stallTimeoutMs !== undefined &&
    !(Number.isInteger(config.stallTimeoutMs) && config.stallTimeoutMs >= 1000 && config.stallTimeoutMs <= 3600000)
  ) {
    throw new Error("stallTimeoutMs must be a whole number of milliseconds from 1000 to 3600000");
  }
  if (config.rejectRules !== undefined) {
    if (!Array.isArray(config.rejectRules)) throw new Error("rejectRules must be an array");
    config.rejectRules.forEach((rule, i) => {
      if (!isObject(rule) || typeof rule.description !== "string" || !rule.description) {
        throw new Error(`rejectRules[${i}] needs a description`);
      }
      for (const key of ["sopClassUid", "protocolName", "modality"]) {
        if (rule[key] !== undefined && typeof rule[key] !== "string") {
          throw new Error(`rejectRules[${i}].${key} must be a string`);
        }
      }
    });
  }
  if (
    config.allowedModalities !== undefined &&
    !(Array.isArray(config.allowedModalities) && config.allowedModalities.every((m) => typeof m === "string"))
  ) {
    throw new Error("allowedModalities must be an array of modality codes, e.g. [\"CT\", \"MR\"]");
  }
}

export function createApi(load) {
  let loading = null;
  // Mounted widgets, held until destroy(): a page may drop its last
  // reference right after mount() (the published snippets keep `uploader`
  // in a function's local variable), and a collected instance would free
  // its Rust side while its UI stays on screen, dead.
  const mounted = new Set();
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
      mounted.add(this);
    }

    /**
     * Uploads the studies listed. Resolves when the upload is over; its
     * outcome goes to the callbacks (`onUploadComplete`, `onUploadError`,
     * `onUploadCancel`). Rejects when there is nothing to upload yet.
     */
    async upload() {
      await (await this.#instance()).upload();
    }

    /** Cancels the scan or the upload; does nothing in other steps. */
    async cancel() {
      (await this.#instance()).cancel();
    }

    /** Returns to the start step. */
    async reset() {
      (await this.#instance()).reset();
    }

    /** Removes a study (by Study Instance UID) before the upload. */
    async removeStudy(studyInstanceUid) {
      (await this.#instance()).removeStudy(String(studyInstanceUid));
    }

    /** Scans `files` (`File[]` or a `FileList`) as if they were dropped on the widget. */
    async addFiles(files) {
      await (await this.#instance()).addFiles(Array.from(files ?? []));
    }

    /** The current state object (`UploaderState`), a fresh copy. */
    get state() {
      return this.#core === null ? startState() : this.#core.state;
    }

    /** Unmounts the widget and releases everything it holds. */
    destroy() {
      mounted.delete(this);
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

    /** The credentials this signer uses (as the published signer has them). */
    get credentials() {
      return { appId: this.#appId, appSecret: this.#appSecret };
    }
  }

  function createSigner(appId, appSecret) {
    return new HmacSigner(appId, appSecret);
  }

  return { StandaloneAuraloader, HmacSigner, createSigner, ready };
}
