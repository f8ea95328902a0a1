// A partner's web app, for tests/e2e/snippets.test.mjs: a small Node
// backend that runs the published widget's backend snippets (the pasted
// text of tests/e2e/snippets/, changed only where the test says) and
// serves the pages that carry its frontend snippets, on its own loopback
// origin (so the widget talks to the dev server cross-origin, as it does
// from a partner's site).
//
// - The snippets import HmacSigner from "@aurabx/standalone-uploader": the
//   backend's temp dir has node_modules/@aurabx/standalone-uploader, a
//   symlink to the built package (dist/npm), so Node resolves the
//   published name to the package's Node entry.
// - "Your Backend Implementation" registers its route with `app.post`
//   and reads `req.session.user`: `app` is a minimal Express-like router
//   (post(path, handler); req.session; res.status(n).json(body)), and a
//   session is a cookie the backend sets when it serves a page.
// - "Phase 1" is a bare handler, `getUploadToken(req, res)`; the backend
//   exports it after the pasted text.
// - The published frontends fetch GET /api/upload-token, while the
//   published backend registers POST /api/upload-token: GET runs the
//   handler chosen in `tokenRoute` ("app.post": the handler that snippet
//   registered; "getUploadToken": Phase 1's), POST runs the app.post one.
import { createServer } from "node:http";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { extname, join, normalize } from "node:path";
import { pathToFileURL } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".ts": "text/plain",
};

/** The minimal Express-like router the app.post snippet registers on. */
const APP_SHIM = `// Written by tests/e2e/partner.mjs: the \`app\` of the published backend snippet.
export const routes = [];
export const app = {
  post(path, handler) {
    routes.push({ method: "POST", path, handler });
  },
};
`;

/**
 * Starts the partner's backend on a free 127.0.0.1 port. `dir` is a temp
 * dir for its modules, `npm` the built package. Resolves to a Partner.
 */
export async function startPartner({ dir, npm }) {
  const partner = new Partner(dir, npm);
  await partner.listen();
  return partner;
}

/** The partner's backend: its pages, its token route, what it answered. */
export class Partner {
  #server = null;
  #sessions = new Map();
  #handlers = { "app.post": null, getUploadToken: null };

  constructor(dir, npm) {
    this.dir = dir;
    this.npm = npm;
    /** Page path -> HTML, served with a new session cookie. */
    this.pages = new Map();
    /** Which handler answers GET /api/upload-token: "app.post" or "getUploadToken". */
    this.tokenRoute = "app.post";
    /** Every call of /api/upload-token: {method, handler, status, body}. */
    this.tokenCalls = [];
    /** `http://127.0.0.1:port`, once listening. */
    this.origin = null;
  }

  async listen() {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error) => {
        if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
        res.end(String(error?.stack ?? error));
      });
    });
    await new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(0, "127.0.0.1", resolve);
    });
    this.origin = `http://127.0.0.1:${this.#server.address().port}`;
  }

  /**
   * Writes the backend snippets (already changed as the test lists) into
   * modules beside the package symlink, sets the environment they read,
   * and imports them: `phase1` (the "Phase 1" text) and `implementation`
   * (the "Your Backend Implementation" text); `env` holds AURA_APP_ID,
   * AURA_APP_SECRET, SERVICE_API_KEY and AURA_API_URL.
   */
  async load({ phase1, implementation, env }) {
    const scope = join(this.dir, "node_modules/@aurabx");
    mkdirSync(scope, { recursive: true });
    symlinkSync(this.npm, join(scope, "standalone-uploader"), "dir");
    writeFileSync(join(this.dir, "app.mjs"), APP_SHIM);
    writeFileSync(join(this.dir, "phase1.mjs"), `${phase1}\nexport { getUploadToken };\n`);
    writeFileSync(join(this.dir, "implementation.mjs"), `import { app } from "./app.mjs";\n${implementation}`);
    Object.assign(process.env, env);
    const url = (name) => pathToFileURL(join(this.dir, name)).href;
    this.#handlers.getUploadToken = (await import(url("phase1.mjs"))).getUploadToken;
    await import(url("implementation.mjs"));
    const { routes } = await import(url("app.mjs"));
    const route = routes.find((r) => r.method === "POST" && r.path === "/api/upload-token");
    if (!route) throw new Error(`the backend snippet registered no POST /api/upload-token: ${JSON.stringify(routes)}`);
    this.#handlers["app.post"] = route.handler;
  }

  /** A logged-in session: the Cookie header value that carries it. */
  login() {
    const id = randomUUID();
    this.#sessions.set(id, { user: { id: "e2e-user" } });
    return `sid=${id}`;
  }

  async #handle(req, res) {
    const url = new URL(req.url, this.origin);
    const path = decodeURIComponent(url.pathname);
    if (path === "/api/upload-token") {
      const name = req.method === "GET" ? this.tokenRoute : req.method === "POST" ? "app.post" : null;
      const handler = name && this.#handlers[name];
      if (!handler) {
        res.writeHead(405).end();
        return;
      }
      const sid = /(?:^|;\s*)sid=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
      const call = { method: req.method, handler: name, status: null, body: null };
      this.tokenCalls.push(call);
      await handler({ method: req.method, headers: req.headers, session: this.#sessions.get(sid) ?? {} }, reply(res, call));
      return;
    }
    if (this.pages.has(path)) {
      res.writeHead(200, {
        "Content-Type": TYPES[".html"],
        "Cache-Control": "no-store",
        "Set-Cookie": `${this.login()}; Path=/; HttpOnly; SameSite=Lax`,
      });
      res.end(this.pages.get(path));
      return;
    }
    if (path.startsWith("/npm/")) {
      const rel = normalize(path.slice("/npm/".length)).replace(/^(\.\.[/\\])+/, "");
      try {
        const body = readFileSync(join(this.npm, rel));
        res.writeHead(200, { "Content-Type": TYPES[extname(rel)] ?? "application/octet-stream", "Cache-Control": "no-store" });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
      return;
    }
    // A partner page has no favicon; say so without an error in the console.
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
  }

  /** Stops the backend. */
  close() {
    this.#server?.closeAllConnections?.();
    return new Promise((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

/** The Express-like `res` of a handler, answering `res` and noting the answer in `call`. */
function reply(res, call) {
  const shim = {
    statusCode: 200,
    status(code) {
      shim.statusCode = code;
      return shim;
    },
    json(body) {
      call.status = shim.statusCode;
      call.body = body;
      res.writeHead(shim.statusCode, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify(body));
      return shim;
    },
  };
  return shim;
}
