// The official tus-js-client (npm, from www/node_modules) against the dev
// server's tus endpoint. Run by `tests/tus_js_client.rs`, which checks the
// stored bytes; this script checks what the client saw and prints one JSON
// line: the upload URLs and how many chunks each client sent.
//
// Env: TUS_ENDPOINT, LIFT_TOKEN, UPLOAD_FILE, AURALOADER_WWW (the www/ dir).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.AURALOADER_WWW, "package.json"));
const tus = require("tus-js-client");
const { version } = require("tus-js-client/package.json");

const CHUNK = 256 * 1024;
const data = readFileSync(process.env.UPLOAD_FILE);

function fail(message) {
  console.error(`check failed: ${message}`);
  process.exit(1);
}

function options(extra) {
  return {
    endpoint: process.env.TUS_ENDPOINT,
    chunkSize: CHUNK,
    headers: { Authorization: `Bearer ${process.env.LIFT_TOKEN}` },
    metadata: {
      filename: "study.zip",
      filetype: "application/zip",
      upload_id: "tus-js-client-0001",
      study_uid: "1.2.826.0.1.3680043.10.1234.1",
    },
    retryDelays: [0, 250, 1000],
    storeFingerprintForResuming: false,
    ...extra,
  };
}

// Resolves when the upload succeeds; rejects on its error.
function whole(extra) {
  return new Promise((resolve, reject) => {
    let chunks = 0;
    const upload = new tus.Upload(
      data,
      options({
        ...extra,
        onChunkComplete: () => {
          chunks += 1;
        },
        onSuccess: () => resolve({ url: upload.url, chunks }),
        onError: reject,
      }),
    );
    upload.start();
  });
}

// Starts an upload and aborts it once at least `stopAfter` bytes are accepted.
function partial(stopAfter) {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(
      data,
      options({
        onChunkComplete: (_size, accepted) => {
          if (accepted >= stopAfter) {
            upload.abort().then(() => resolve({ url: upload.url, accepted }), reject);
          }
        },
        onSuccess: () => reject(new Error("the first client was not stopped")),
        onError: reject,
      }),
    );
    upload.start();
  });
}

const timer = setTimeout(() => fail("uploads did not finish within 120 s"), 120_000);

try {
  const first = await whole({});
  const expected = Math.ceil(data.length / CHUNK);
  if (first.chunks !== expected) fail(`whole upload sent ${first.chunks} chunks, wanted ${expected}`);

  const stopped = await partial(Math.floor(data.length / 3));
  if (!(stopped.accepted > 0 && stopped.accepted < data.length)) {
    fail(`first client stopped at ${stopped.accepted} of ${data.length}`);
  }
  const resumed = await whole({ uploadUrl: stopped.url });
  if (resumed.url !== stopped.url) fail(`second client used ${resumed.url}, not ${stopped.url}`);
  const rest = Math.ceil((data.length - stopped.accepted) / CHUNK);
  if (resumed.chunks !== rest) {
    fail(`second client sent ${resumed.chunks} chunks, wanted ${rest} from offset ${stopped.accepted}`);
  }
  console.log(
    JSON.stringify({
      version,
      size: data.length,
      whole: first,
      resumed: { url: resumed.url, offset: stopped.accepted, chunks: resumed.chunks },
    }),
  );
} catch (error) {
  fail(`${error}`);
} finally {
  clearTimeout(timer);
}
