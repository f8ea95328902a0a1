// A browser process's memory as Linux sees it (/proc), for the memory
// checks of the end-to-end suite and of the benchmarks: what the machine
// really gives the tab, including memory V8 no longer counts.
import { readFileSync, writeFileSync } from "node:fs";

/** `field` (a "... kB" line, e.g. VmRSS, VmHWM) of /proc/<pid>/status in bytes; null where unreadable. */
export function procStatus(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Resets the kernel's peak RSS (VmHWM) of `pid`; false where not allowed. */
export function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * The pid of `page`'s renderer process (Playwright page; `browserCdp` a
 * browser CDP session): the renderer whose CPU time grows while the page
 * spins for 400 ms (CDP SystemInfo.getProcessInfo). Null if none is found.
 */
export async function rendererPid(browserCdp, page) {
  const cpu = async () => {
    const { processInfo } = await browserCdp.send("SystemInfo.getProcessInfo");
    return new Map(processInfo.filter((p) => p.type === "renderer").map((p) => [p.id, p.cpuTime]));
  };
  const before = await cpu();
  await page.evaluate(() => {
    const end = performance.now() + 400;
    let x = 0;
    while (performance.now() < end) x += Math.random();
    return x;
  });
  const after = await cpu();
  let best = null;
  for (const [pid, time] of after) {
    const grew = time - (before.get(pid) ?? 0);
    if (best === null || grew > best.grew) best = { pid, grew };
  }
  return best?.pid ?? null;
}
