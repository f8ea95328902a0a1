// Launches the machine's Chromium (never a downloaded one) through
// playwright-core, for the browser tests, the end-to-end suite and the
// benchmarks. `cargo xtask` passes the binary in $CHROME (found by
// `cargo xtask setup`); playwright-core is only the CDP client here.

import { chromium } from "playwright-core";

/** Headless flags for this sandbox: no sandbox (root in CI), no GPU, no
 * background traffic (only loopback is reachable) and no throttling of
 * background timers, which would distort timings. */
export const CHROME_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

/** The Chromium binary from $CHROME, or an error that says how to get one. */
export function chromeBinary() {
  const chrome = process.env.CHROME;
  if (!chrome) {
    throw new Error("set CHROME to a Chromium binary (cargo xtask setup finds one; cargo xtask test passes it)");
  }
  return chrome;
}

/** Starts headless Chromium. `extraArgs` are appended to CHROME_FLAGS. */
export async function launchChromium({ extraArgs = [], timeoutMs = 60_000 } = {}) {
  return chromium.launch({
    executablePath: chromeBinary(),
    headless: true,
    args: [...CHROME_FLAGS, ...extraArgs],
    timeout: timeoutMs,
  });
}
