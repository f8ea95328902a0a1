// The npm package in a Vite app: `vite build` bundles `import … from "auraloader"`
// with no plugin or configuration, and the built page loads the wasm and signs
// the spec's vector in headless Chromium (CHROME names the executable; set by
// `cargo xtask test`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const repo = resolve(new URL("../..", import.meta.url).pathname);
const dist = resolve(process.env.AURALOADER_DIST ?? join(repo, "dist"));
const vitePath = join(repo, "www/node_modules/vite/dist/node/index.js");

const MAIN_JS = `
import { HmacSigner, StandaloneAuraloader } from "auraloader";
const out = document.getElementById("out");
try {
  await StandaloneAuraloader.ready();
  const config = {
    method: "POST", url: "/auth/exchange", baseURL: "https://aura.example.com/api",
    headers: { "Content-Type": "application/json" },
    data: { ttl: 3600, scopes: ["upload:init", "upload:manage"] },
  };
  await new HmacSigner("test-app-id", "test-secret-key").sign(config, {
    timestamp: 1706140800, nonce: "550e8400-e29b-41d4-a716-446655440000",
  });
  out.textContent = config.headers.Authorization;
} catch (error) {
  out.textContent = "error: " + error.message;
}
`;

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

async function serve(root) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    const file = join(root, path === "/" ? "index.html" : path);
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = readFileSync(file);
      res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return server;
}

function dumpDom(chrome, url) {
  const profile = mkdtempSync(join(tmpdir(), "auraloader-chrome-"));
  const args = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", `--user-data-dir=${profile}`, "--virtual-time-budget=15000", "--dump-dom", url,
  ];
  return new Promise((ok, fail) => {
    const child = spawn(chrome, args, { stdio: ["ignore", "pipe", "ignore"] });
    let dom = "";
    child.stdout.on("data", (chunk) => (dom += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("error", fail);
    child.on("close", () => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      ok(dom);
    });
  });
}

test("a Vite app bundles the package and runs it in Chromium", { timeout: 180_000 }, async (t) => {
  const project = mkdtempSync(join(tmpdir(), "auraloader-vite-"));
  t.after(() => rmSync(project, { recursive: true, force: true }));
  mkdirSync(join(project, "node_modules"));
  symlinkSync(join(dist, "npm"), join(project, "node_modules", "auraloader"), "dir");
  writeFileSync(join(project, "index.html"), '<!doctype html><pre id="out">pending</pre><script type="module" src="./main.js"></script>\n');
  writeFileSync(join(project, "main.js"), MAIN_JS);

  const { build } = await import(pathToFileURL(vitePath).href);
  const outDir = join(project, "out");
  await build({ root: project, logLevel: "silent", configFile: false, build: { outDir, target: "es2022" } });

  const files = listFiles(outDir);
  const wasm = files.filter((f) => f.endsWith(".wasm"));
  assert.equal(wasm.length, 1, `one wasm asset in the build: ${files.join(", ")}`);
  assert.deepEqual(readFileSync(wasm[0]), readFileSync(join(dist, "npm", "auraloader_bg.wasm")));

  const chrome = process.env.CHROME;
  if (!chrome) {
    t.diagnostic("CHROME is not set: the browser half of this test runs under `cargo xtask test`");
    return;
  }
  const server = await serve(outDir);
  t.after(() => server.close());
  const dom = await dumpDom(chrome, `http://127.0.0.1:${server.address().port}/`);
  assert.match(dom, /Signature=4e865169c280c238e93ea51681fdf9e5977ecbf0dc60fbbf0b6b7ccba2005093/);
});
