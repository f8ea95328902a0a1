// The package's TypeScript types (dist/npm/index.d.ts) checked by the
// TypeScript compiler (npm `typescript`, a dev dependency in www/): the
// README's TypeScript example compiles under `strict`, and wrong configs and
// callbacks do not. Runs on the built dist/ (AURALOADER_DIST).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dist = resolve(process.env.AURALOADER_DIST ?? fileURLToPath(new URL("../../dist", import.meta.url)));
const tsc = fileURLToPath(new URL("../../www/node_modules/typescript/bin/tsc", import.meta.url));

/** Type-checks `source` against the package; returns tsc's exit code and output. */
function check(source) {
  const project = mkdtempSync(join(tmpdir(), "auraloader-types-"));
  try {
    mkdirSync(join(project, "node_modules"));
    symlinkSync(join(dist, "npm"), join(project, "node_modules", "auraloader"), "dir");
    writeFileSync(join(project, "example.ts"), source);
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: "es2022",
          module: "es2022",
          moduleResolution: "bundler",
          lib: ["es2022", "dom"],
        },
        files: ["example.ts"],
      }),
    );
    const run = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], {
      cwd: project,
      encoding: "utf8",
      timeout: 120_000,
    });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
}

const PRELUDE = `
import { StandaloneAuraloader, type AuraloaderError, type StudyInfo, type UploadResult, type UploaderState, type UploaderStep } from "auraloader";
declare const token: string;
declare function saveIds(id: string, ids: string[]): void;
`;

const README_EXAMPLE = `${PRELUDE}
const uploader = new StandaloneAuraloader({
  apiToken: "your-service-api-key",
  apiBaseUrl: "https://aura-instance.com/api",
  uploadToken: token,
  containerId: "uploader-container",
  patientId: "patient_123",
  context: { referral_id: "REF-456", patient: { given_names: "John", family_name: "Smith" } },
  theme: "auto",
  strings: { title: "Upload your scans" },
  callbacks: {
    onStudiesFound: (studies: StudyInfo[]) => console.log(\`\${studies.length} studies\`),
    onStateChange: (state: UploaderState) => console.log(state),
    onUploadComplete: (result: UploadResult) => saveIds(result.uploadId, result.studies.map((s) => s.id)),
    onUploadError: (error: AuraloaderError) => console.error(error.code, error.statusCode, error.message),
    onUploadCancel: () => console.log("cancelled"),
  },
});
await uploader.init();
await uploader.mount();
const state: UploaderState = uploader.state;
await uploader.addFiles([] as File[]);
await uploader.removeStudy("1.2.3");
uploader.destroy();
`;

test("the README's TypeScript example compiles under strict", () => {
  const { status, output } = check(README_EXAMPLE);
  assert.equal(status, 0, output);
});

test("auraloader's optional settings type-check", () => {
  const { status, output } = check(`${PRELUDE}
new StandaloneAuraloader({
  apiToken: "k", apiBaseUrl: "u", uploadToken: token, containerId: "c",
  chunkSize: 1048576, parallelUploads: 3, stallTimeoutMs: 10000,
  rejectRules: [{ description: "no SR", modality: "SR" }], allowedModalities: ["CT"],
});
export {};
`);
  assert.equal(status, 0, output);
});

test("wrong configs, callbacks and results are type errors", () => {
  const wrong = [
    ["a missing uploadToken", `new StandaloneAuraloader({ apiToken: "k", apiBaseUrl: "u", containerId: "c" });`],
    ["a stall timeout as text", `new StandaloneAuraloader({ apiToken: "k", apiBaseUrl: "u", uploadToken: token, containerId: "c", stallTimeoutMs: "30000" });`],
    ["an unknown theme", `new StandaloneAuraloader({ apiToken: "k", apiBaseUrl: "u", uploadToken: token, containerId: "c", theme: "purple" });`],
    ["an unknown string key", `new StandaloneAuraloader({ apiToken: "k", apiBaseUrl: "u", uploadToken: token, containerId: "c", strings: { titel: "x" } });`],
    ["a callback of the wrong type", `new StandaloneAuraloader({ apiToken: "k", apiBaseUrl: "u", uploadToken: token, containerId: "c", callbacks: { onStateChange: (s: number) => s } });`],
    ["a made-up step", `const s: UploaderStep = "done";`],
    ["a state without a published field", `const s: UploaderState = { step: "start", totalFiles: 0, studiesCount: 0, seriesCount: 0, studies: [], complete: false, studyId: "", zipping: false, errorMessage: "" };`],
    ["a made-up result field", `const f = (r: UploadResult) => r.studyIds;`],
    ["a made-up error code", `const f = (e: AuraloaderError) => e.code === "oops";`],
  ];
  for (const [what, line] of wrong) {
    const { status, output } = check(`${PRELUDE}\n${line}\nexport {};\n`);
    assert.notEqual(status, 0, `${what} should not type-check`);
    assert.match(output, /error TS\d+/, what);
  }
});

test("the types use no `any`", () => {
  const types = readFileSync(join(dist, "npm", "index.d.ts"), "utf8");
  assert.doesNotMatch(types.replace(/\/\*[\s\S]*?\*\//g, ""), /\bany\b/);
});
