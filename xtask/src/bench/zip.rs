//! `cargo xtask bench zip`: how fast a study's zip is prepared in headless
//! Chromium (the widget's `prepareStudy`, in its Web Workers and on the main
//! thread), beside npm `@zip.js/zip.js` and `fflate` zipping the same files
//! in the same page with their default deflate.
//!
//! Steps: generate three synthetic sets (CT-like native pixel data, 2,000
//! small files, a JPEG study) into a temporary folder; build the widget;
//! serve the bench page (`www/bench/zip.*`, bundled with esbuild, zip.js and
//! fflate), the npm package and the files from the dev server on 127.0.0.1;
//! drive Chromium through chromedriver, which selects the files in the page
//! (disk-backed `File`s); read the page's JSON; write the zip section of
//! `BENCHMARKS.md`. The memory point (a 2 GiB study) repeats the CT-like
//! files under distinct names instead of writing 2 GiB to disk. No
//! threshold is checked: this measures.

use std::path::{Path, PathBuf};
use std::time::Duration;

use auraloader_core::synth::{StudyTree, SynthSyntax};
use auraloader_core::zip::{Compression, Method};
use serde_json::{json, Value};

use super::{
    browser_page, bundle_bench_page, chromium_version, cpu_model, header_len, list, load_average,
    replace_section, today, Scratch,
};
use crate::build::{self, Options};
use crate::setup::{self, Need};
use crate::util;

/// Usage of the subcommand.
pub const USAGE: &str = "usage: cargo xtask bench zip [options]

options:
  --ct-files N      CT-like files of 512 KiB (default 200, 100 MiB)
  --small-files N   small files of 16 KiB (default 2000)
  --jpeg-files N    JPEG files of 1 MiB, stored (default 50)
  --big-gib G       size of the memory-point study in GiB, made of the CT-like
                    files repeated (default 2; 0 skips it)
  --runs R          timed runs of each zipper; the median is reported (default 3)
  --no-peers        skip zip.js and fflate (a quick check of auraloader alone)
  --no-write        print the table without updating BENCHMARKS.md";

/// The heading of the section this benchmark owns in BENCHMARKS.md.
const SECTION: &str = "## Zip: preparing a study's archive";

/// How long the browser part may take before it is abandoned.
const PAGE_LIMIT: Duration = Duration::from_secs(1800);

/// zip.js and fflate versions pinned in `www/package.json`.
const ZIPJS_VERSION: &str = "2.24.0";
const FFLATE_VERSION: &str = "0.8.2";

#[derive(Debug, PartialEq, Eq)]
struct ZipOptions {
    ct_files: usize,
    small_files: usize,
    jpeg_files: usize,
    big_gib: u64,
    runs: u32,
    peers: bool,
    write: bool,
}

impl ZipOptions {
    fn from_args(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            ct_files: 200,
            small_files: 2000,
            jpeg_files: 50,
            big_gib: 2,
            runs: 3,
            peers: true,
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
            let count = |n: u64| usize::try_from(n.min(100_000)).unwrap_or(100_000);
            match arg.as_str() {
                "--ct-files" => options.ct_files = count(number(arg)?).max(1),
                "--small-files" => options.small_files = count(number(arg)?),
                "--jpeg-files" => options.jpeg_files = count(number(arg)?),
                "--big-gib" => options.big_gib = number(arg)?.min(64),
                "--runs" => {
                    options.runs = u32::try_from(number(arg)?.clamp(1, 10)).unwrap_or(10);
                }
                "--no-peers" => options.peers = false,
                "--no-write" => options.write = false,
                other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

/// One generated set of files.
struct Set {
    name: &'static str,
    what: String,
    dir: PathBuf,
    files: Vec<(String, u64)>,
    method: Method,
}

/// `cargo xtask bench zip …`.
pub fn run(args: &[String]) -> Result<(), String> {
    let options = ZipOptions::from_args(args)?;
    let tools = setup::run(Need::Everything)?;
    let root = util::root();
    let scratch =
        Scratch(std::env::temp_dir().join(format!("auraloader-bench-zip-{}", std::process::id())));
    let data = scratch.0.join("files");
    let mut sets = Vec::new();
    let specs = [
        (
            "CT-like",
            options.ct_files,
            512,
            SynthSyntax::ExplicitLe,
            11,
        ),
        (
            "small files",
            options.small_files,
            16,
            SynthSyntax::ExplicitLe,
            12,
        ),
        (
            "JPEG",
            options.jpeg_files,
            1024,
            SynthSyntax::JpegBaseline,
            13,
        ),
    ];
    for (name, files, kib, syntax, seed) in specs {
        if files == 0 {
            continue;
        }
        let dir = data.join(name.replace(' ', "-"));
        let (tree, bytes) = generate(files, kib, syntax, seed, &dir)?;
        let mut listed = Vec::new();
        list(&dir, &dir, 0, &mut listed)?;
        listed.sort();
        sets.push(Set {
            name,
            what: format!(
                "{} files of {kib} KiB ({:.0} MiB), {} (`gen-study --series {} --instances {} \
                 --pixel-bytes {} --transfer-syntax {} --seed {seed}`)",
                listed.len(),
                bytes as f64 / f64::from(1 << 20),
                syntax.name(),
                tree.series,
                tree.instances,
                tree.pixel_bytes,
                syntax.name(),
            ),
            dir,
            files: listed,
            method: Compression::Auto.method_for(syntax.uid()),
        });
    }

    build::build(&tools, &Options::BENCH)?;
    let page = scratch.0.join("page");
    bundle_bench_page(&root, &page, "zip")?;
    let manifest: Vec<Value> = sets
        .iter()
        .map(|set| {
            let method = match set.method {
                Method::Stored => "stored",
                Method::Deflated => "deflated",
            };
            json!({
                "name": set.name,
                "files": set.files.iter().map(|(path, size)| {
                    json!({ "path": format!("{}/{path}", set.name.replace(' ', "-")), "size": size, "method": method })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    util::write(
        &page.join("manifest.json"),
        json!({ "sets": manifest }).to_string(),
    )?;
    let selected: Vec<PathBuf> = sets
        .iter()
        .flat_map(|set| set.files.iter().map(|(path, _)| set.dir.join(path)))
        .collect();
    println!(
        "\nbench: zip in headless Chromium ({} runs each)",
        options.runs
    );
    let load = load_average();
    let query = format!(
        "runs={}&bigBytes={}&peers={}",
        options.runs,
        options.big_gib << 30,
        u8::from(options.peers)
    );
    let browser = browser_page(
        &tools, &root, &scratch.0, &page, &selected, &query, PAGE_LIMIT,
    )?;
    if browser["ok"] != json!(true) {
        return Err(format!(
            "the bench page failed: {}",
            browser["error"].as_str().unwrap_or("no error message")
        ));
    }
    println!("bench: page result: {browser}");
    let load_after = load_average();
    let section = section(
        &sets,
        &browser,
        &chromium_version(&tools),
        &load,
        &load_after,
    );
    println!("\n{section}");
    if options.write {
        let path = root.join("BENCHMARKS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        util::write(&path, replace_section(&old, SECTION, &section))?;
        println!("bench: wrote the zip section of {}", path.display());
    }
    Ok(())
}

/// Writes `files` files of about `kib` KiB in one study (4 series when
/// `files` allows) to `out`.
pub(super) fn generate(
    files: usize,
    kib: usize,
    syntax: SynthSyntax,
    seed: u64,
    out: &Path,
) -> Result<(StudyTree, u64), String> {
    let series = if files % 4 == 0 { 4 } else { 1 };
    let mut tree = StudyTree {
        studies: 1,
        series,
        instances: files / series,
        pixel_bytes: 0,
        syntax,
        preamble: true,
        junk: false,
        dicomdir: false,
        patient_count: None,
        hostile: false,
        seed,
    };
    tree.pixel_bytes = (kib * 1024).saturating_sub(header_len(&tree)?);
    println!(
        "bench: writing {files} {} files of {kib} KiB to {}",
        syntax.name(),
        out.display()
    );
    let (_, bytes) = crate::gen_study::write_tree(&tree, out)?;
    Ok((tree, bytes))
}

fn mib(bytes: f64) -> f64 {
    bytes / f64::from(1 << 20)
}

/// The BENCHMARKS.md section: how it was made, and the tables.
fn section(sets: &[Set], browser: &Value, chromium: &str, load: &str, load_after: &str) -> String {
    let number = |v: &Value| v.as_f64().unwrap_or(0.0);
    let results: Vec<&Value> = browser["results"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let mut rows = Vec::new();
    for set in sets {
        let of_set: Vec<&&Value> = results.iter().filter(|r| r["set"] == set.name).collect();
        let fflate_bytes = of_set
            .iter()
            .find(|r| r["name"] == "fflate")
            .map(|r| number(&r["bytesOut"]));
        for r in &of_set {
            let seconds = number(&r["medianMs"]) / 1000.0;
            let bytes_in = number(&r["bytesIn"]);
            let bytes_out = number(&r["bytesOut"]);
            let name = match r["name"].as_str().unwrap_or("?") {
                "auraloader workers" => format!(
                    "auraloader `prepareStudy`, {} workers",
                    r["workers"].as_u64().unwrap_or(0)
                ),
                "auraloader main thread" => "auraloader `prepareStudy`, main thread".to_owned(),
                "zip.js" => format!("@zip.js/zip.js {ZIPJS_VERSION} (defaults)"),
                "fflate" => format!("fflate {FFLATE_VERSION} `zipSync` (defaults, main thread)"),
                other => other.to_owned(),
            };
            let vs_default = match fflate_bytes {
                Some(f) if f > 0.0 => format!("{:.3}×", bytes_out / f),
                _ => "?".to_owned(),
            };
            let longest = match number(&r["longestTaskMs"]) {
                ms if ms > 0.0 => format!("{ms:.0} ms ({} over 50 ms)", r["longTasks"]),
                _ => "none over 50 ms".to_owned(),
            };
            let memory = if r["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("auraloader"))
            {
                let workers = number(&r["workerPeakMemory"]);
                format!(
                    "page {:.1} MiB{}",
                    mib(number(&r["pageWasmMemory"])),
                    if workers > 0.0 {
                        format!(", each worker ≤ {:.1} MiB", mib(workers))
                    } else {
                        String::new()
                    }
                )
            } else {
                "n/a".to_owned()
            };
            rows.push(format!(
                "| {} | {name} | {:.3} s | {:.0} MB/s | {:.3} | {vs_default} | {longest} | {memory} |",
                set.name,
                seconds,
                bytes_in / 1e6 / seconds.max(1e-9),
                bytes_out / bytes_in.max(1.0),
            ));
        }
    }
    let runs: Vec<String> = results
        .iter()
        .map(|r| {
            let times: Vec<String> = r["runsMs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|ms| format!("{:.0}", number(ms)))
                .collect();
            let predicted = if r["predicted"].is_null() {
                String::new()
            } else {
                format!(
                    "; predicted length {} = produced {}",
                    r["predicted"], r["bytesOut"]
                )
            };
            format!(
                "- {} / {}: runs {} ms; {} bytes out{predicted}; same size every run: {}",
                r["set"].as_str().unwrap_or("?"),
                r["name"].as_str().unwrap_or("?"),
                times.join(" / "),
                r["bytesOut"],
                r["sameSizeEveryRun"],
            )
        })
        .collect();
    let initial = number(&browser["initialMemory"]);
    let big = &browser["big"];
    let big_text = if big.is_null() {
        "The memory point was skipped (`--big-gib 0`).".to_owned()
    } else {
        let after = number(&big["pageWasmMemoryAfter"]);
        let worker = number(&big["workerPeakMemory"]);
        format!(
            "Memory point: a {:.2} GiB study ({} entries: the CT-like files repeated under \
             distinct names) prepared by {} workers in {:.1} s ({:.0} MB/s), {:.3} bytes out per \
             byte in, longest main-thread task {}. The page's wasm memory was {:.1} MiB after \
             loading and {:.1} MiB after the study (growth {:.1} MiB); each worker's wasm memory \
             peaked at {:.1} MiB (it starts at the module's {:.1} MiB, so growth ≤ {:.1} MiB). \
             Compressed parts are `Blob`s, outside every wasm memory.",
            number(&big["bytesIn"]) / f64::from(1 << 30),
            big["files"],
            big["workers"],
            number(&big["ms"]) / 1000.0,
            number(&big["bytesIn"]) / 1e6 / (number(&big["ms"]) / 1000.0).max(1e-9),
            number(&big["bytesOut"]) / number(&big["bytesIn"]).max(1.0),
            match number(&big["longestTaskMs"]) {
                ms if ms > 0.0 => format!("{ms:.0} ms"),
                _ => "none over 50 ms".to_owned(),
            },
            mib(initial),
            mib(after),
            mib(after - initial),
            mib(worker),
            mib(initial),
            mib((worker - initial).max(0.0)),
        )
    };
    let median = |set: &str, name: &str| {
        results
            .iter()
            .find(|r| r["set"] == set && r["name"] == name)
            .map(|r| number(&r["medianMs"]) / 1000.0)
    };
    let bytes = |set: &str, name: &str| {
        results
            .iter()
            .find(|r| r["set"] == set && r["name"] == name)
            .map(|r| number(&r["bytesOut"]))
    };
    // Every run in workers, the memory point's too.
    let longest = results
        .iter()
        .filter(|r| r["name"] == "auraloader workers")
        .map(|r| number(&r["longestTaskMs"]))
        .chain((!big.is_null()).then(|| number(&big["longestTaskMs"])))
        .fold(0.0f64, f64::max);
    let verdict = |met: bool| {
        if met {
            "met"
        } else {
            "not met on this machine"
        }
    };
    let ct = median("CT-like", "auraloader workers");
    let ct_ratio = match (
        bytes("CT-like", "auraloader workers"),
        bytes("CT-like", "fflate"),
    ) {
        (Some(a), Some(b)) if b > 0.0 => a / b,
        _ => 0.0,
    };
    let small = median("small files", "auraloader workers");
    let big_growth = if big.is_null() {
        "not measured".to_owned()
    } else {
        let growth = number(&big["pageWasmMemoryAfter"]) - initial;
        let worker_growth = (number(&big["workerPeakMemory"]) - initial).max(0.0);
        format!(
            "{} (page {:.1} MiB, a worker {:.1} MiB)",
            verdict(growth.max(worker_growth) <= f64::from(64 << 20)),
            mib(growth),
            mib(worker_growth)
        )
    };
    // The time targets hold for the sizes only.
    let set_bytes = |name: &str| {
        sets.iter()
            .find(|s| s.name == name)
            .map_or(0, |s| s.files.iter().map(|(_, size)| size).sum::<u64>())
    };
    let set_files = |name: &str| {
        sets.iter()
            .find(|s| s.name == name)
            .map_or(0, |s| s.files.len())
    };
    let timed = |seconds: Option<f64>, full_size: bool| match seconds {
        Some(s) if full_size => format!("{} ({s:.2} s)", verdict(s <= 1.5)),
        Some(s) => format!("not measured at the issue's size ({s:.2} s for a smaller set)"),
        None => "not measured".to_owned(),
    };
    let targets = format!(
        "Targets of issue 4 (workers): 100 MiB of CT-like files in ≤ 1.5 s: {}; \
         ≤ 1.1× default deflate's bytes: {} ({ct_ratio:.3}× fflate's level 6); 2,000 small \
         files in ≤ 1.5 s: {}; no main-thread task over 50 ms: {} (longest {}); wasm \
         memory growth ≤ 64 MiB for a 2 GiB study: {big_growth}.",
        timed(ct, set_bytes("CT-like") >= 99 << 20),
        verdict(ct_ratio > 0.0 && ct_ratio <= 1.1),
        timed(small, set_files("small files") >= 2000),
        verdict(longest <= 50.0),
        if longest > 0.0 {
            format!("{longest:.0} ms")
        } else {
            "none over 50 ms".to_owned()
        },
    );
    let inputs: Vec<String> = sets
        .iter()
        .map(|s| format!("- {}: {}", s.name, s.what))
        .collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let busy = [load, load_after].iter().any(|l| {
        l.split_whitespace()
            .next()
            .and_then(|one| one.parse::<f64>().ok())
            .is_some_and(|one| one > cores as f64)
    });
    let noise = if busy {
        "The machine was busy during this run (a 1-minute load average above its CPU\n\
         count: other work was compiling and testing beside it), so the times are\n\
         longer and noisier than on a quiet machine; the zippers ran side by side in\n\
         the same page, so compare them rather than the absolute numbers."
    } else {
        "The zippers ran side by side in the same page: compare them rather than the\n\
         absolute numbers, which depend on the machine's load."
    };
    format!(
        "{SECTION}

Command: `cargo xtask bench zip` (rerunning replaces this section). Date: {date}.
Machine: {cpus} CPUs (`nproc`), {cpu}, load average {load} at the start
and {load_after} at the end; {chromium}, headless,
`navigator.hardwareConcurrency` = {hc}.
{noise}

Inputs, from the `synth` generator, one study each (the CT-like and small
files are deflated and the JPEG files stored, as `Compression::Auto` decides
by transfer syntax):
{inputs}

WebDriver selects the files in the page's `<input type=file multiple>`, so
they are disk-backed `File`s as from a user's drop. Every zipper is warmed up
on one file, then timed {runs} times per set; the table shows the median.
auraloader's time is the whole preparation (every file read once, deflated
entries compressed at level 2 into `Blob`s, CRC-32 of stored ones, the layout)
and the archive `Blob`. Its workers take groups of up to 64 files (4 MiB), two
per worker in flight, and read each group as one `Blob` made of its files, in
1 MiB reads with two in flight: in Chromium each read of a disk-backed `File`
has a fixed cost in the browser process, which one read per small file paid
2,000 times (measured apart from this table, side by side in one page on
this machine, 2 workers: the reads
alone of the small files took 1.07 s one file at a time and 0.34 s as
composite reads; the whole preparation of the small files took 2.10 s before
and 0.98 s after, median of 7, loaded machine, the same archive bytes; the
CT-like set is bound by compression and used the same CPU time either way).
Level 2 of miniz_oxide, the `zlib-rs` backend, `+simd128` and the worker
count were measured too; the numbers and reasons are in the doc comments of
`DEFLATE_LEVEL` (`crates/core/src/zip/deflate.rs`) and `default_workers`
(`src/browser/worker.rs`). zip.js (`ZipWriter` + `BlobReader` + `BlobWriter`, all
files added at once; it uses its web workers and the browser's
`CompressionStream` by default) and fflate (`zipSync`, its default level 6,
on the page's thread; the files read with `arrayBuffer()` inside the timed
region) produce a whole archive in memory. fflate's async `zip` is not used:
it starts one worker per file, and with 200 files it drove this 2-core
machine to a load average over 70 without finishing a run in minutes.
\"vs default\" is the archive's size over fflate's at its default level 6.
Long tasks are those over 50 ms (`PerformanceObserver` type `longtask`).
Memory is `WebAssembly.Memory` sizes: the page's instance, and the largest
any worker reported.

| set | zipper | wall time | input MB/s | bytes out / in | vs default | longest main-thread task | wasm memory |
| --- | --- | ---: | ---: | ---: | ---: | --- | --- |
{rows}

{big_text}

The first preparation after the module loaded (one file, starting the
workers) took {first:.0} ms; it is not in the runs. Every run:
{runs_text}

{targets}
",
        date = today(),
        cpus = cores,
        cpu = cpu_model(),
        hc = browser["hardwareConcurrency"],
        inputs = inputs.join("\n"),
        runs = browser["runs"],
        rows = rows.join("\n"),
        first = number(&browser["firstPrepareMs"]),
        runs_text = runs.join("\n"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options() {
        let args: Vec<String> = [
            "--ct-files",
            "8",
            "--big-gib",
            "0",
            "--runs",
            "1",
            "--no-write",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(
            ZipOptions::from_args(&args).unwrap(),
            ZipOptions {
                ct_files: 8,
                small_files: 2000,
                jpeg_files: 50,
                big_gib: 0,
                runs: 1,
                peers: true,
                write: false,
            }
        );
        assert!(ZipOptions::from_args(&["--runs".to_owned()]).is_err());
        assert!(ZipOptions::from_args(&["--what".to_owned()]).is_err());
    }
}
