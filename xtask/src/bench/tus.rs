//! `cargo xtask bench tus`: upload throughput and memory of the browser tus
//! driver beside `tus-js-client`, in the same headless Chromium page, to the
//! same `@tus/server` over loopback, with the same disk-backed File and chunk
//! size. The browser part is `www/bench/tus.mjs` (Node + playwright-core);
//! this builds the widget (release), runs it and writes the tus section of
//! `BENCHMARKS.md`. No threshold is checked: this measures.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::build::{self, Options};
use crate::setup::{self, Need};
use crate::util;

/// Usage of the subcommand.
pub const USAGE: &str = "usage: cargo xtask bench tus [options]

options:
  --mib N        size of the upload in MiB (default 1024)
  --chunk-mib C  PATCH size in MiB for both clients (default 5)
  --runs R       runs of each client, alternating which goes first; the median is reported (default 3)
  --no-write     print the section without updating BENCHMARKS.md";

/// The heading of the section this benchmark owns in BENCHMARKS.md.
const SECTION: &str = "## tus: upload throughput and memory in the browser";

#[derive(Debug, PartialEq, Eq)]
struct TusOptions {
    mib: u64,
    chunk_mib: u64,
    runs: u64,
    write: bool,
}

impl TusOptions {
    fn from_args(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            mib: 1024,
            chunk_mib: 5,
            runs: 3,
            write: true,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<u64, String> {
                let text = args
                    .next()
                    .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))?;
                text.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("{name} must be a positive whole number, not {text:?}"))
            };
            match arg.as_str() {
                "--mib" => options.mib = number(arg)?,
                "--chunk-mib" => options.chunk_mib = number(arg)?,
                "--runs" => options.runs = number(arg)?.min(10),
                "--no-write" => options.write = false,
                other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

/// `cargo xtask bench tus …`.
pub fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = TusOptions::from_args(args)?;
    let tools = setup::run(Need::Everything)?;
    let chrome = tools
        .chrome
        .clone()
        .ok_or("Chromium is needed: run `cargo xtask setup`")?;
    let root = util::root();
    build::build(&tools, &Options { dev: false })?;
    let load = super::load_average();
    let mut node = Command::new(&tools.node);
    node.arg(root.join("www/bench/tus.mjs"))
        .args(["--mib", &options.mib.to_string()])
        .args(["--chunk-mib", &options.chunk_mib.to_string()])
        .args(["--runs", &options.runs.to_string()])
        .env("CHROME", &chrome)
        .env("AURALOADER_DIST", root.join("dist"))
        .current_dir(&root)
        .stdout(Stdio::piped());
    println!("\n$ {}", util::describe(&node));
    let mut child = node
        .spawn()
        .map_err(|e| format!("could not start node: {e}"))?;
    let mut result = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match line.strip_prefix("BENCH_RESULT ") {
                Some(json) => result = Some(json.to_owned()),
                None => println!("{line}"),
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("node did not finish: {e}"))?;
    if !status.success() {
        return Err(format!("www/bench/tus.mjs failed ({status})"));
    }
    let result: Value =
        serde_json::from_str(&result.ok_or("www/bench/tus.mjs printed no BENCH_RESULT line")?)
            .map_err(|e| format!("www/bench/tus.mjs printed bad JSON: {e}"))?;
    if result["ok"] != Value::Bool(true) {
        return Err(format!(
            "the bench page reported errors: {}",
            result["errors"]
        ));
    }
    let section = section(&options, &result, &load);
    println!("\n{section}");
    if options.write {
        let path = root.join("BENCHMARKS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        util::write(&path, replace_section(&old, &section))?;
        println!("bench: wrote the tus section of {}", path.display());
    }
    Ok(())
}

const MIB: f64 = 1024.0 * 1024.0;

/// The median of `field` over a client's runs.
fn median(runs: &[Value], field: &str) -> f64 {
    let mut values: Vec<f64> = runs.iter().filter_map(|r| r[field].as_f64()).collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The largest `field` over a client's runs.
fn max(runs: &[Value], field: &str) -> f64 {
    runs.iter()
        .filter_map(|r| r[field].as_f64())
        .fold(0.0, f64::max)
}

fn section(options: &TusOptions, result: &Value, load: &str) -> String {
    let empty = Vec::new();
    let ours = result["results"]["auraloader"].as_array().unwrap_or(&empty);
    let peer = result["results"]["tus-js-client"]
        .as_array()
        .unwrap_or(&empty);
    let version = |name: &str| result["versions"][name].as_str().unwrap_or("?").to_owned();
    let runs_of = |runs: &[Value]| {
        runs.iter()
            .map(|r| format!("{:.1}", r["mibPerSecond"].as_f64().unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let row = |name: &str, runs: &[Value], wasm: bool| {
        let wasm_cell = if wasm {
            format!(
                "{:.1} MiB (grew {:.1} MiB)",
                max(runs, "wasmPeak") / MIB,
                runs.iter()
                    .filter_map(|r| Some(r["wasmPeak"].as_f64()? - r["wasmBase"].as_f64()?))
                    .fold(0.0, f64::max)
                    / MIB
            )
        } else {
            "none".to_owned()
        };
        format!(
            "| {name} | {:.1} MiB/s | {:.2} s | {:.2} MiB | {:.2} MiB | {wasm_cell} |",
            median(runs, "mibPerSecond"),
            median(runs, "ms") / 1000.0,
            max(runs, "heapAbove") / MIB,
            max(runs, "heapPeak") / MIB,
        )
    };
    let ours_speed = median(ours, "mibPerSecond");
    let peer_speed = median(peer, "mibPerSecond");
    let ours_memory = max(ours, "heapAbove")
        + ours
            .iter()
            .filter_map(|r| Some(r["wasmPeak"].as_f64()? - r["wasmBase"].as_f64()?))
            .fold(0.0, f64::max);
    let peer_memory = max(peer, "heapAbove");
    format!(
        "{SECTION}

Command: `cargo xtask bench tus` (rerunning replaces this section; options
`--mib {mib} --chunk-mib {chunk} --runs {runs}` were used). Date: {date}.
Machine: {cpus} CPUs (`nproc`), {cpu}, load average {load} at the start (a
load above the CPU count means other work ran beside the benchmark: noisy numbers);
Chromium {chromium}, headless; Node {node}; @tus/server {server} with
@tus/file-store {file_store} on 127.0.0.1, storing into a temp dir.

Input: {mib} MiB of pseudo-random bytes in a file on disk, selected in the
page's `<input type=file>`, so both clients get the same disk-backed `File` a
user's pick gives. Both upload it in {chunk} MiB PATCHes to the same server
from the same page, alternating which goes first, {runs} runs each; the table
shows the median throughput and the largest memory figures. After every run
the stored file is compared with the source (SHA-256) and deleted. auraloader
runs the widget's driver (`src/browser/tus.rs`, release build) through the
internal `startTusUploads` export; tus-js-client {tus_js} runs its browser
bundle with `chunkSize` set. JS heap is CDP `Performance.getMetrics`
`JSHeapUsedSize` of the page, sampled every 100 ms, after a forced garbage
collection before each run (\"above start\" is the peak minus that start);
wasm memory is auraloader's `memory.buffer.byteLength`.

| client | throughput | wall time | JS heap above start (peak) | JS heap peak | wasm memory |
| --- | ---: | ---: | ---: | ---: | --- |
{ours_row}
{peer_row}

Runs (MiB/s): auraloader {ours_runs}; tus-js-client {peer_runs}.

Targets of issue 5: at least the peer's throughput: {speed_verdict}
({ratio:.2}×); a tenth of its memory: {memory_verdict} (auraloader's JS heap
growth plus wasm growth {ours_mem:.2} MiB, tus-js-client's JS heap growth
{peer_mem:.2} MiB). Both clients send `Blob` slices of the file, so neither
holds a chunk in the JS heap or in wasm memory: both stay near a megabyte
whatever the upload's size, and what differs is bookkeeping (request objects,
callbacks, events), so the tenth is not reachable against this peer.
",
        mib = options.mib,
        chunk = options.chunk_mib,
        runs = options.runs,
        date = super::today(),
        cpus = std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu = super::cpu_model(),
        chromium = result["chromium"].as_str().unwrap_or("?"),
        node = result["node"].as_str().unwrap_or("?"),
        server = version("@tus/server"),
        file_store = version("@tus/file-store"),
        tus_js = version("tus-js-client"),
        ours_row = row("auraloader (wasm driver)", ours, true),
        peer_row = row(
            &format!("tus-js-client {}", version("tus-js-client")),
            peer,
            false
        ),
        ours_runs = runs_of(ours),
        peer_runs = runs_of(peer),
        speed_verdict = if ours_speed >= peer_speed {
            "met"
        } else {
            "not met"
        },
        ratio = ours_speed / peer_speed,
        memory_verdict = if ours_memory * 10.0 <= peer_memory {
            "met"
        } else {
            "not met"
        },
        ours_mem = ours_memory / MIB,
        peer_mem = peer_memory / MIB,
    )
}

/// `old` with the tus section replaced by `section` (or added at the end).
fn replace_section(old: &str, section: &str) -> String {
    let section = section.trim_end();
    let Some(start) = old.find(SECTION) else {
        let base = if old.trim().is_empty() {
            "# Benchmarks\n\nMeasured results, one section per benchmark; each section says the command that produced it.\n".to_owned()
        } else {
            old.trim_end().to_owned() + "\n"
        };
        return format!("{base}\n{section}\n");
    };
    let after = &old[start + SECTION.len()..];
    let end = after
        .find("\n## ")
        .map_or(old.len(), |i| start + SECTION.len() + i + 1);
    format!("{}{section}\n\n{}", &old[..start], &old[end..])
        .trim_end()
        .to_owned()
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_tus_section() {
        let old = format!("# Benchmarks\n\n## Scan\n\nscan table\n\n{SECTION}\n\nold\n");
        let new = replace_section(&old, &format!("{SECTION}\n\nnew\n"));
        assert_eq!(
            new,
            format!("# Benchmarks\n\n## Scan\n\nscan table\n\n{SECTION}\n\nnew\n")
        );
        let added = replace_section("# Benchmarks\n\n## Scan\n\nx\n", &format!("{SECTION}\n\ny"));
        assert!(
            added.ends_with(&format!("x\n\n{SECTION}\n\ny\n")),
            "{added}"
        );
    }

    #[test]
    fn parses_options_and_medians() {
        let args: Vec<String> = ["--mib", "64", "--runs", "2", "--no-write"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        assert_eq!(
            TusOptions::from_args(&args),
            Ok(TusOptions {
                mib: 64,
                chunk_mib: 5,
                runs: 2,
                write: false
            })
        );
        assert!(TusOptions::from_args(&["--mib".to_owned(), "0".to_owned()]).is_err());
        let runs: Vec<Value> = [3.0, 1.0, 2.0, 10.0]
            .iter()
            .map(|v| serde_json::json!({ "x": v }))
            .collect();
        assert_eq!(median(&runs, "x"), 2.5);
        assert_eq!(median(&runs[..3], "x"), 2.0);
        assert_eq!(max(&runs, "x"), 10.0);
    }
}
