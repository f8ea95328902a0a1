//! `cargo xtask bench tus`: what a user waits for and what the page holds
//! while a study is uploaded from headless Chromium to `@tus/server` over
//! loopback, auraloader beside `tus-js-client`, in the same run.
//!
//! Two inputs of the same size: a synthetic CT-like study (a folder of DICOM
//! files written by the `synth` generator, as `cargo xtask gen-study` does),
//! which auraloader prepares in its Web Workers and sends with its tus driver
//! while tus-js-client gets it zipped in memory by fflate (the published
//! widget's way), and one file of pseudo-random bytes that both clients send
//! as `Blob` slices (the transport alone). The browser part is
//! `www/bench/tus.mjs` (Node + playwright-core); this generates the study,
//! builds the widget (release), runs it and writes the tus section of
//! `BENCHMARKS.md`. No threshold is checked: this measures.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use auraloader_core::synth::SynthSyntax;
use auraloader_core::zip::{Compression, Method, DEFLATE_LEVEL};
use serde_json::Value;

use super::{cpu_model, load_average, replace_section, today, Scratch};
use crate::build::{self, Options};
use crate::setup::{self, Need};
use crate::util;

/// Usage of the subcommand.
pub const USAGE: &str = "usage: cargo xtask bench tus [options]

Uploads a synthetic CT-like study (files of 512 KiB) and one file of
pseudo-random bytes, each --mib in size, to @tus/server in headless Chromium:
auraloader (prepareStudy in its workers + its tus driver) beside tus-js-client
(given the study zipped in memory by fflate, and the same file).

options:
  --mib N         size of the study and of the file in MiB (default 1024; at most 4096;
                  tus-js-client's page holds about twice that while zipping the study)
  --chunk-mib C   PATCH size in MiB for both clients (default 5)
  --runs R        runs of each client on the file, alternating which goes first (default 3)
  --study-runs R  runs of each client on the study (default 2; 0 skips the study)
  --level L       deflate level of fflate for tus-js-client's zip (default 2: auraloader's fixed level)
  --no-write      print the section without updating BENCHMARKS.md";

/// The heading of the section this benchmark owns in BENCHMARKS.md.
const SECTION: &str = "## tus: upload throughput and memory in the browser";

/// Each study file's size.
const FILE_KIB: usize = 512;

/// The generator's seed for the study.
const SEED: u64 = 21;

#[derive(Debug, PartialEq, Eq)]
struct TusOptions {
    mib: u64,
    chunk_mib: u64,
    runs: u64,
    study_runs: u64,
    level: u64,
    write: bool,
}

impl TusOptions {
    fn from_args(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            mib: 1024,
            chunk_mib: 5,
            runs: 3,
            study_runs: 2,
            level: u64::from(DEFLATE_LEVEL),
            write: true,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<u64, String> {
                let text = args
                    .next()
                    .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))?;
                text.parse::<u64>()
                    .map_err(|_| format!("{name} must be a whole number, not {text:?}"))
            };
            let positive = |name: &str, n: u64| {
                if n == 0 {
                    Err(format!("{name} must be at least 1"))
                } else {
                    Ok(n)
                }
            };
            match arg.as_str() {
                "--mib" => options.mib = positive(arg, number(arg)?)?.min(4096),
                "--chunk-mib" => options.chunk_mib = positive(arg, number(arg)?)?.min(1024),
                "--runs" => options.runs = positive(arg, number(arg)?)?.min(10),
                "--study-runs" => options.study_runs = number(arg)?.min(10),
                "--level" => options.level = number(arg)?.min(9),
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
    let scratch =
        Scratch(std::env::temp_dir().join(format!("auraloader-bench-tus-{}", std::process::id())));
    let study_dir = scratch.0.join("study");
    let study = if options.study_runs > 0 {
        let files = usize::try_from(options.mib).unwrap_or(4096) * 1024 / FILE_KIB;
        let syntax = SynthSyntax::ExplicitLe;
        let (tree, bytes) = super::zip::generate(files, FILE_KIB, syntax, SEED, &study_dir)?;
        let method = match Compression::Auto.method_for(syntax.uid()) {
            Method::Stored => "stored",
            Method::Deflated => "deflated",
        };
        Some(StudyInfo {
            files: tree.series * tree.instances,
            bytes,
            method,
            command: format!(
                "cargo xtask gen-study --studies 1 --series {} --instances {} --pixel-bytes {} \
                 --transfer-syntax {} --seed {SEED}",
                tree.series,
                tree.instances,
                tree.pixel_bytes,
                syntax.name()
            ),
        })
    } else {
        None
    };
    build::build(&tools, &Options::BENCH)?;
    let load_start = load_average();
    let mut node = Command::new(&tools.node);
    node.arg(root.join("www/bench/tus.mjs"))
        .args(["--mib", &options.mib.to_string()])
        .args(["--chunk-mib", &options.chunk_mib.to_string()])
        .args(["--runs", &options.runs.to_string()])
        .args(["--study-runs", &options.study_runs.to_string()])
        .args(["--level", &options.level.to_string()]);
    if let Some(study) = &study {
        node.arg("--study")
            .arg(&study_dir)
            .args(["--study-method", study.method]);
    }
    node.env("CHROME", &chrome)
        .env("AURALOADER_DIST", build::bench_dist(&root))
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
    let load_end = load_average();
    let result: Value =
        serde_json::from_str(&result.ok_or("www/bench/tus.mjs printed no BENCH_RESULT line")?)
            .map_err(|e| format!("www/bench/tus.mjs printed bad JSON: {e}"))?;
    if result["ok"] != Value::Bool(true) {
        return Err(format!(
            "the bench page reported errors: {}",
            result["errors"]
        ));
    }
    let section = section(&options, study.as_ref(), &result, &load_start, &load_end);
    println!("\n{section}");
    if options.write {
        let path = root.join("BENCHMARKS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        util::write(&path, replace_section(&old, SECTION, &section))?;
        println!("bench: wrote the tus section of {}", path.display());
    }
    Ok(())
}

/// What was generated for the study rows.
struct StudyInfo {
    files: usize,
    bytes: u64,
    method: &'static str,
    command: String,
}

const MIB: f64 = 1024.0 * 1024.0;

/// The number at `path` (keys separated by '.') in `value`.
fn number(value: &Value, path: &str) -> f64 {
    path.split('.')
        .fold(value, |v, key| &v[key])
        .as_f64()
        .unwrap_or(f64::NAN)
}

/// The median of `path` over runs.
fn median(runs: &[Value], path: &str) -> f64 {
    let mut values: Vec<f64> = runs
        .iter()
        .map(|r| number(r, path))
        .filter(|v| v.is_finite())
        .collect();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The largest `path` over runs.
fn max(runs: &[Value], path: &str) -> f64 {
    runs.iter()
        .map(|r| number(r, path))
        .filter(|v| v.is_finite())
        .fold(f64::NAN, f64::max)
}

/// The largest difference `path - base` over runs.
fn max_growth(runs: &[Value], path: &str, base: &str) -> f64 {
    runs.iter()
        .map(|r| number(r, path) - number(r, base))
        .filter(|v| v.is_finite())
        .fold(f64::NAN, f64::max)
}

fn mib(bytes: f64) -> String {
    if bytes.is_finite() {
        format!("{:.1} MiB", bytes / MIB)
    } else {
        "?".to_owned()
    }
}

fn seconds(ms: f64) -> String {
    format!("{:.2} s", ms / 1000.0)
}

/// The first number of a `load_average()` string.
fn first_load(load: &str) -> f64 {
    load.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(f64::NAN)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "not met"
    }
}

/// One client's runs on one input.
struct Rows<'a> {
    kind: &'static str,
    name: String,
    runs: &'a [Value],
}

fn throughput_row(r: &Rows) -> String {
    let study = r.kind == "study";
    format!(
        "| {} | {} | {} | {:.1} MiB/s | {} | {} | {:.1} MiB/s | {} |",
        r.kind,
        r.name,
        seconds(median(r.runs, "ms")),
        median(r.runs, "mibPerSecond"),
        if study {
            seconds(median(r.runs, "zipMs"))
        } else {
            "none".to_owned()
        },
        seconds(median(r.runs, "tusMs")),
        median(r.runs, "tusMibPerSecond"),
        mib(max(r.runs, "sent")),
    )
}

fn memory_row(r: &Rows) -> String {
    let wasm = {
        let page = max(r.runs, "peak.page.wasm");
        let worker = max(r.runs, "peak.workers.wasm");
        match (page > 0.0, worker > 0.0) {
            (false, false) => "none".to_owned(),
            (true, false) => format!("page {}", mib(page)),
            _ => format!("page {}, a worker ≤ {}", mib(page), mib(worker)),
        }
    };
    let workers = {
        let heap = max(r.runs, "peak.workers.heap");
        let backing = max(r.runs, "peak.workers.backing");
        if heap > 0.0 {
            format!("{} + {}", mib(heap), mib(backing))
        } else {
            "none".to_owned()
        }
    };
    format!(
        "| {} | {} | **{}** | {} | {} | {} | {wasm} | {workers} | {} (+{}) | {} (+{}) |",
        r.kind,
        r.name,
        mib(max(r.runs, "peak.held")),
        mib(max(r.runs, "heldAbove")),
        mib(max(r.runs, "peak.page.heap")),
        mib(max(r.runs, "peak.page.backing")),
        mib(max(r.runs, "peak.rss.renderer")),
        mib(max_growth(r.runs, "peak.rss.renderer", "base.rss.renderer")),
        mib(max(r.runs, "peak.rss.browser")),
        mib(max_growth(r.runs, "peak.rss.browser", "base.rss.browser")),
    )
}

fn run_lines(r: &Rows) -> Vec<String> {
    r.runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            let phases = run["peak"]["heldByPhase"]
                .as_object()
                .map(|phases| {
                    phases
                        .iter()
                        .filter(|(phase, _)| phase.as_str() != "idle" && phase.as_str() != "done")
                        .map(|(phase, v)| {
                            format!("{phase} {}", mib(v.as_f64().unwrap_or(f64::NAN)))
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            format!(
                "- {} / {} run {}: wait {} (zip {}, tus {}), {:.1} MiB/s of input, \
                 tus {:.1} MiB/s; held at most {} ({phases}); renderer RSS {}; {}",
                r.kind,
                r.name,
                i + 1,
                seconds(number(run, "ms")),
                seconds(number(run, "zipMs")),
                seconds(number(run, "tusMs")),
                number(run, "mibPerSecond"),
                number(run, "tusMibPerSecond"),
                mib(number(run, "peak.held")),
                mib(number(run, "peak.rss.renderer")),
                run["check"].as_str().unwrap_or("?"),
            )
        })
        .collect()
}

fn section(
    options: &TusOptions,
    study: Option<&StudyInfo>,
    result: &Value,
    load_start: &str,
    load_end: &str,
) -> String {
    let empty = Vec::new();
    let runs = |kind: &str, client: &str| -> &[Value] {
        result["results"][kind][client]
            .as_array()
            .unwrap_or(&empty)
            .as_slice()
    };
    let version = |name: &str| result["versions"][name].as_str().unwrap_or("?").to_owned();
    let peer = format!("tus-js-client {}", version("tus-js-client"));
    let fflate = format!("fflate {}", version("fflate"));
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let busy = first_load(load_start).max(first_load(load_end)) > cpus as f64;
    let load_note = if busy {
        "The machine was busy (a 1-minute load average above its CPU count: other \
         work was compiling and testing beside the benchmark), so the absolute \
         numbers are low and noisy; compare the clients, which ran side by side, \
         alternating which went first."
    } else {
        "The machine was otherwise quiet (load average at most its CPU count)."
    };

    let mut rows = Vec::new();
    if study.is_some() {
        rows.push(Rows {
            kind: "study",
            name: "auraloader (`prepareStudy` in workers + wasm tus driver)".to_owned(),
            runs: runs("study", "auraloader"),
        });
        rows.push(Rows {
            kind: "study",
            name: format!("{peer} (archive by {fflate} `zipSync`, main thread)"),
            runs: runs("study", "tus-js-client"),
        });
    }
    rows.push(Rows {
        kind: "file",
        name: "auraloader (wasm tus driver)".to_owned(),
        runs: runs("file", "auraloader"),
    });
    rows.push(Rows {
        kind: "file",
        name: peer.clone(),
        runs: runs("file", "tus-js-client"),
    });
    let throughput: Vec<String> = rows.iter().map(throughput_row).collect();
    let memory: Vec<String> = rows.iter().map(memory_row).collect();
    let lines: Vec<String> = rows.iter().flat_map(run_lines).collect();
    let where_it_goes = match study {
        Some(s) => {
            let ours = runs("study", "auraloader");
            let theirs = runs("study", "tus-js-client");
            format!(
                "\nWhere the study's memory goes: auraloader's page stays at {} of JS heap and \
                 {} of wasm memory; most of its peak is the workers' `ArrayBuffer`s (at most {} \
                 in one worker): the 1 MiB reads of the files (`Blob.slice().arrayBuffer()`, two \
                 groups of files in flight per worker). They are garbage as soon as their \
                 bytes are in wasm, but stay until V8 collects them, which in a worker it does \
                 late; so the pool replaces a worker with a fresh one after it has read 64 MiB \
                 (`RECYCLE_AFTER_BYTES`) and terminates the old one once its requests end, and \
                 that figure is bounded by the limit rather than growing with the study. \
                 tus-js-client's page holds every file \
                 ({}) and then the archive ({}) as `ArrayBuffer`s, and still held {} while it \
                 uploaded: nothing triggered a collection of the garbage.",
                mib(max(ours, "peak.page.heap")),
                mib(max(ours, "peak.page.wasm")),
                mib(max(ours, "peak.workers.backing")),
                mib(s.bytes as f64),
                mib(max(theirs, "sent")),
                mib(max(theirs, "peak.heldByPhase.uploading")),
            )
        }
        None => String::new(),
    };

    let study_text = match study {
        Some(s) => format!(
            "- **study**: one synthetic CT-like study of {files} DICOM files of {kib} KiB \
             ({mib:.0} MiB; explicit VR little endian, native pixel data, which \
             `compression: \"auto\"` deflates), written by the `synth` generator as `{command}` \
             and selected in the page's `<input type=file multiple>`, so both clients start from \
             the disk-backed `File`s a user's pick gives. auraloader runs the widget's path: \
             `prepareStudy` in the page's shared Web Workers (started, as the widget's scan \
             starts them, by a warm-up on one file before the run) deflates the entries into \
             `Blob`s, and the widget's tus driver (`src/browser/tus.rs`, release build, through \
             the internal `startTusUploads` export with the `PreparedZip` as body, as \
             `TusPipeline` sends a study) sends its byte ranges. tus-js-client has no zipper, \
             so it gets the study zipped the published widget's way: every file read into \
             memory (`arrayBuffer()`), {fflate} `zipSync` on the page's thread (warmed up on \
             one file), the archive handed over as one `Blob`. Both zips deflate every entry \
             ({method}, as `compression: \"auto\"` decides for this transfer syntax) with the \
             same entry names (the files' relative paths): auraloader at its fixed level \
             {ours_level} (miniz_oxide), fflate given `level: {level}` (its own deflate){same}.",
            files = s.files,
            kib = FILE_KIB,
            mib = s.bytes as f64 / MIB,
            command = s.command,
            method = s.method,
            level = options.level,
            ours_level = DEFLATE_LEVEL,
            same = if options.level == u64::from(DEFLATE_LEVEL) {
                ", the same level, so both do the same kind of work and send archives of about \
                 the same size (the \"sent\" column)"
            } else {
                ", not the same level: compare the archives' sizes (the \"sent\" column) \
                 before the times"
            },
        ),
        None => "- study: skipped (`--study-runs 0`).".to_owned(),
    };

    let ratio = |a: f64, b: f64| a / b;
    let verdicts = {
        let mut out = Vec::new();
        if study.is_some() {
            let ours = runs("study", "auraloader");
            let theirs = runs("study", "tus-js-client");
            let wait = ratio(median(ours, "mibPerSecond"), median(theirs, "mibPerSecond"));
            let tus_rate = ratio(
                median(ours, "tusMibPerSecond"),
                median(theirs, "tusMibPerSecond"),
            );
            let held = ratio(max(theirs, "peak.held"), max(ours, "peak.held"));
            let rss = ratio(
                max_growth(theirs, "peak.rss.renderer", "base.rss.renderer"),
                max_growth(ours, "peak.rss.renderer", "base.rss.renderer"),
            );
            out.push(format!(
                "- study, throughput: {} ({wait:.2}× tus-js-client's input MiB/s over the \
                 user's wait; the tus part alone {tus_rate:.2}× its rate).",
                met(wait >= 1.0),
            ));
            let whole = |runs: &[Value]| {
                runs.iter()
                    .map(|r| {
                        number(r, "peak.rss.renderer") - number(r, "base.rss.renderer")
                            + number(r, "peak.rss.browser")
                            - number(r, "base.rss.browser")
                    })
                    .filter(|v| v.is_finite())
                    .fold(f64::NAN, f64::max)
            };
            let (whole_ours, whole_theirs) = (whole(ours), whole(theirs));
            out.push(format!(
                "- study, memory: {} for what the page holds (tus-js-client's page held \
                 {held:.1}× what auraloader's page and workers held at their peaks, {} against \
                 {}; the target is 10×; the renderer's RSS grew {rss:.1}× as much). Counting \
                 the whole browser, the renderer's and the browser process's RSS together \
                 grew {} for tus-js-client and {} for auraloader ({:.1}×{}): both keep the \
                 compressed archive (about {} here) as `Blob` data in the browser process, \
                 auraloader's workers handing their deflated entries over as `Blob`s and \
                 tus-js-client's archive becoming one.",
                met(held >= 10.0),
                mib(max(theirs, "peak.held")),
                mib(max(ours, "peak.held")),
                mib(whole_theirs),
                mib(whole_ours),
                whole_theirs / whole_ours,
                if whole_theirs >= 10.0 * whole_ours {
                    ""
                } else {
                    ", short of ten"
                },
                mib(max(ours, "sent")),
            ));
        }
        let ours = runs("file", "auraloader");
        let theirs = runs("file", "tus-js-client");
        let speed = ratio(median(ours, "mibPerSecond"), median(theirs, "mibPerSecond"));
        let held = ratio(max(theirs, "peak.held"), max(ours, "peak.held"));
        let spread = |runs: &[Value]| {
            let low = runs
                .iter()
                .map(|r| number(r, "mibPerSecond"))
                .fold(f64::NAN, f64::min);
            format!("{low:.0}–{:.0} MiB/s", max(runs, "mibPerSecond"))
        };
        out.push(format!(
            "- file, throughput: {} ({speed:.2}×; auraloader's runs {}, tus-js-client's {}); \
             memory: {} (tus-js-client's page held \
             {held:.2}× what auraloader's did at the peak: {} against {}, which counts \
             auraloader's wasm memory, {}). Given a `File`, tus-js-client also sends `Blob` \
             slices, so neither client holds \
             a chunk in the JS heap or in wasm memory and both stay near the page's idle \
             size whatever the upload's size; what differs is bookkeeping (request objects, \
             callbacks, events), so on a bare file the tenth is not reachable against this \
             peer: the difference lies in how a study becomes an archive.",
            met(speed >= 1.0),
            spread(ours),
            spread(theirs),
            met(held >= 10.0),
            mib(max(theirs, "peak.held")),
            mib(max(ours, "peak.held")),
            mib(max(ours, "peak.page.wasm")),
        ));
        out.join("\n")
    };

    format!(
        "{SECTION}

Command: `cargo xtask bench tus` (rerunning replaces this section; options
`--mib {mib} --chunk-mib {chunk} --runs {runs} --study-runs {study_runs} --level {level}`
were used). Date: {date}.
Machine: {cpus} CPUs (`nproc`), {cpu}; load average {load_start} at the start
and {load_end} at the end. {load_note}
Chromium {chromium}, headless; Node {node}; @tus/server {server} with
@tus/file-store {file_store} on 127.0.0.1 (in the benchmark's Node process),
storing into a temp dir.

Inputs, the same size:
{study_text}
- **file**: {mib} MiB of pseudo-random bytes in one file on disk, selected in the
  page's `<input type=file>`; both clients get the same `File` and send `Blob`
  slices of it: the transport alone, the fair comparison of the two tus clients.

Both send {chunk} MiB PATCHes to the same server. Every run has a fresh browser
context (a fresh renderer process) whose page loads only its client's code; the
clients alternate which goes first (runs of each client: {runs} on the file,
{study_runs} on the study). The tables show the median times and the largest memory figures
over the runs. \"Wait\" runs from the moment the page is handed the files to the
last byte acknowledged by the server, as a user waits; \"input MiB/s\" is the
input's size over that wait; \"zip\" is the part until the archive is ready
(`prepareStudy` resolved; fflate's archive wrapped in a `Blob`), \"upload\" the
rest, and \"tus rate\" the archive's bytes over the upload part. After every run
the stored upload is checked and deleted: the file by SHA-256; a study zip is
read back with Node's zlib entry by entry, and every entry's size and SHA-256
must equal its input file's and its CRC-32 the central directory's.

### Throughput

| input | client | wait | input MiB/s | zip | upload | tus rate | sent |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
{throughput}

### Memory

\"Held\" is what the page holds, sampled every 100 ms after a garbage
collection in the page and in each worker before the run: the V8 heap (CDP
`Runtime.getHeapUsage` `usedSize`, the figure `Performance.getMetrics`
reports as `JSHeapUsedSize`) plus the `ArrayBuffer` backing stores
(`backingStorageSize`, which `JSHeapUsedSize` leaves out; Chromium {chromium}
returns `usedSize`, `totalSize`, `embedderHeapUsedSize` and
`backingStorageSize`) plus wasm memory (`memory.buffer.byteLength`, which
`backingStorageSize` does not count), of the page and of every dedicated worker
(attached through CDP `Target.setAutoAttach` on the page's session), summed
at each sample; the peak of that sum is in bold, \"above idle\" is it minus the
same sum just before the run. The component columns are each one's own peak
(page JS heap; page `ArrayBuffer`s; wasm; the workers' JS heap + `ArrayBuffer`s).
The page's thread cannot answer CDP inside fflate's one `zipSync` task, so
the samples see what tus-js-client's page holds just before and after it; the
renderer process's RSS (`/proc/<pid>/status`, pid from CDP
`SystemInfo.getProcessInfo`; the larger of the sampled `VmRSS` and the
kernel's `VmHWM`, reset before each run{resets}) is the cross-check that sees
inside, and includes the workers (threads of that process). The browser
process keeps `Blob` data, so its RSS grows with the compressed archive for
both clients (auraloader's prepared parts, tus-js-client's one `Blob`).

| input | client | held at peak | above idle | page JS heap | page `ArrayBuffer`s | wasm | workers' JS heap + `ArrayBuffer`s | renderer RSS | browser process RSS |
| --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |
{memory}
{where_it_goes}

Targets of issue 5 (at least the peer's throughput with a tenth of its memory):
{verdicts}

Every run (\"held\" by phase: auraloader zipping then uploading; tus-js-client
reading, zipping, zipped (archive built, files still referenced) then uploading;
garbage counts until V8 collects it):
{lines}
",
        mib = options.mib,
        chunk = options.chunk_mib,
        runs = options.runs,
        study_runs = options.study_runs,
        level = options.level,
        date = today(),
        cpu = cpu_model(),
        chromium = result["chromium"].as_str().unwrap_or("?"),
        node = result["node"].as_str().unwrap_or("?"),
        server = version("@tus/server"),
        file_store = version("@tus/file-store"),
        throughput = throughput.join("\n"),
        memory = memory.join("\n"),
        where_it_goes = where_it_goes,
        lines = lines.join("\n"),
        resets = if result["peakResets"] == Value::Bool(true) {
            " through `/proc/<pid>/clear_refs`"
        } else {
            "; resetting was refused here, so `VmHWM` may hold an earlier run's peak and only the sampled `VmRSS` is exact per run"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_options() {
        let args: Vec<String> = [
            "--mib",
            "64",
            "--runs",
            "2",
            "--study-runs",
            "0",
            "--no-write",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            TusOptions::from_args(&args),
            Ok(TusOptions {
                mib: 64,
                chunk_mib: 5,
                runs: 2,
                study_runs: 0,
                level: 2,
                write: false
            })
        );
        assert!(TusOptions::from_args(&["--mib".to_owned(), "0".to_owned()]).is_err());
        assert!(TusOptions::from_args(&["--runs".to_owned(), "x".to_owned()]).is_err());
        assert!(TusOptions::from_args(&["--bogus".to_owned()]).is_err());
    }

    #[test]
    fn takes_medians_maxima_and_nested_fields() {
        let runs: Vec<Value> = [3.0, 1.0, 2.0, 10.0]
            .iter()
            .map(|v| json!({ "x": v, "peak": { "held": v * 2.0 }, "base": { "held": 1.0 } }))
            .collect();
        assert_eq!(median(&runs, "x"), 2.5);
        assert_eq!(median(&runs[..3], "x"), 2.0);
        assert_eq!(max(&runs, "peak.held"), 20.0);
        assert_eq!(max_growth(&runs, "peak.held", "base.held"), 19.0);
        assert!(median(&[], "x").is_nan());
        assert_eq!(first_load("2.50 / 1.00 / 0.50"), 2.5);
    }

    #[test]
    fn the_section_says_whether_each_target_is_met() {
        let run = |ms: f64, held: f64| {
            json!({
                "ms": ms, "zipMs": ms / 2.0, "tusMs": ms / 2.0, "sent": 1048576.0,
                "mibPerSecond": 1000.0 / ms, "tusMibPerSecond": 2000.0 / ms,
                "peak": { "held": held, "page": { "heap": 1.0, "backing": 1.0, "wasm": 0.0 },
                          "workers": { "heap": 0.0, "backing": 0.0, "wasm": 0.0 },
                          "rss": { "renderer": held, "browser": 1.0 }, "heldByPhase": {} },
                "base": { "rss": { "renderer": 0.0, "browser": 0.0 } },
                "heldAbove": held, "check": "ok"
            })
        };
        let result = json!({
            "results": {
                "study": { "auraloader": [run(10.0, 10.0)], "tus-js-client": [run(20.0, 200.0)] },
                "file": { "auraloader": [run(10.0, 5.0)], "tus-js-client": [run(9.0, 5.0)] },
            },
            "versions": { "tus-js-client": "4.3.1", "fflate": "0.8.2" },
            "peakResets": true,
        });
        let options = TusOptions::from_args(&[]).unwrap();
        let study = StudyInfo {
            files: 2,
            bytes: 1 << 20,
            method: "deflated",
            command: "gen".to_owned(),
        };
        let text = section(&options, Some(&study), &result, "0.5", "0.5");
        assert!(text.starts_with(SECTION));
        assert!(text.contains("- study, throughput: met (2.00×"), "{text}");
        assert!(
            text.contains(
                "- study, memory: met for what the page holds (tus-js-client's page held 20.0×"
            ),
            "{text}"
        );
        assert!(
            text.contains("- file, throughput: not met (0.90×; auraloader's runs 100–100 MiB/s")
                && text.contains("memory: not met (tus-js-client's page held 1.00×"),
            "{text}"
        );
        assert!(text.contains("otherwise quiet"));
        let busy = section(&options, Some(&study), &result, "2.5", "0.5");
        assert!(busy.contains("The machine was busy"));
    }
}
