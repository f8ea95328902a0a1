//! `cargo xtask bench scan`: how fast the header scan finds the studies in a
//! large folder, natively and in headless Chromium from real `File` objects,
//! beside the npm `dicom-parser` reading the same files in the same page.
//!
//! Steps: generate a 2,000-file synthetic CT study (512 KiB per file) into a
//! temporary folder; scan it natively (`crates/core/examples/scan_dir.rs`,
//! release build); build the widget; serve the bench page (`www/bench/`,
//! bundled with esbuild and dicom-parser), the npm package and the files from
//! the dev server on 127.0.0.1; drive Chromium through chromedriver (plain
//! WebDriver HTTP) and read the page's JSON results; write the table into the
//! scan section of `BENCHMARKS.md`. No threshold is checked: this measures.
//!
//! `cargo xtask bench tus` and `bench zip` live in [`tus`] and [`zip`];
//! `bench server` in `crate::bench_server`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use auraloader_core::synth::{StudyTree, SynthError, SynthSyntax};
use serde_json::{json, Value};

use crate::build::{self, Options};
use crate::setup::{self, Need, Tools};
use crate::util::{self, run_cmd};

mod tus;
mod zip;

/// Usage of the subcommand.
pub const USAGE: &str = "usage: cargo xtask bench scan [options]

options:
  --files N      files in the study (default 2000)
  --file-kib K   size of each file in KiB (default 512)
  --runs R       timed runs of each reader in the browser; the median is reported (default 3)
  --no-write     print the table without updating BENCHMARKS.md";

/// The heading of the section this benchmark owns in BENCHMARKS.md.
const SECTION: &str = "## Scan: finding the studies in a folder";

/// How long the scan's browser part may take before it is abandoned.
const PAGE_LIMIT: Duration = Duration::from_secs(600);

/// Chromium flags: headless, no sandbox (root in CI), no background traffic
/// or throttling that would distort timings.
const CHROME_FLAGS: [&str; 11] = [
    "--headless=new",
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

/// Parsed options.
#[derive(Debug, PartialEq, Eq)]
struct BenchOptions {
    files: usize,
    file_kib: usize,
    runs: u32,
    write: bool,
}

impl BenchOptions {
    fn from_args(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            files: 2000,
            file_kib: 512,
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
                "--files" => options.files = to_usize(number(arg)?)?,
                "--file-kib" => options.file_kib = to_usize(number(arg)?)?,
                "--runs" => options.runs = u32::try_from(number(arg)?.min(10)).unwrap_or(10),
                "--no-write" => options.write = false,
                other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

fn to_usize(n: u64) -> Result<usize, String> {
    usize::try_from(n).map_err(|_| format!("{n} is too large"))
}

/// `cargo xtask bench <what> …`.
pub fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        Some("scan") if args.iter().any(|a| a == "-h" || a == "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        Some("scan") => scan(&BenchOptions::from_args(&args[1..])?),
        Some("server") => crate::bench_server::run(&args[1..]),
        Some("tus") => tus::run(&args[1..]),
        Some("zip") if args.iter().any(|a| a == "-h" || a == "--help") => {
            println!("{}", zip::USAGE);
            Ok(())
        }
        Some("zip") => zip::run(&args[1..]),
        _ => Err(format!("{USAGE}\n\n{}\n\n{}", tus::USAGE, zip::USAGE)),
    }
}

/// Removes a folder however the benchmark ends.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills a child process however the benchmark ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the study looks like.
struct Study {
    tree: StudyTree,
    files: u64,
    bytes: u64,
}

fn scan(options: &BenchOptions) -> Result<(), String> {
    let tools = setup::run(Need::Everything)?;
    let root = util::root();
    let scratch =
        Scratch(std::env::temp_dir().join(format!("auraloader-bench-scan-{}", std::process::id())));
    let data = scratch.0.join("files");
    let study = generate(options, &data)?;

    println!("\nbench: native scan (release build)");
    let native = native_scan(&root, &data)?;

    build::build(&tools, &Options::BENCH)?;
    let page = scratch.0.join("page");
    let listed = bundle_page(&root, &page, &data)?;
    let selected: Vec<PathBuf> = listed.iter().map(|(path, _)| data.join(path)).collect();
    println!(
        "\nbench: browser scan (headless Chromium, {} runs each)",
        options.runs
    );
    let load = load_average();
    let query = format!("runs={}", options.runs);
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
    let section = section(&study, &native, &browser, &tools, &load);
    println!("\n{section}");
    if options.write {
        let path = root.join("BENCHMARKS.md");
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        util::write(&path, replace_section(&old, SECTION, &section))?;
        println!("bench: wrote the scan section of {}", path.display());
    }
    Ok(())
}

/// Writes the study: `files` instances of one CT study in four series, each
/// file `file_kib` KiB (the pixel payload makes up what the header leaves).
fn generate(options: &BenchOptions, out: &Path) -> Result<Study, String> {
    let series = if options.files % 4 == 0 { 4 } else { 1 };
    let mut tree = StudyTree {
        studies: 1,
        series,
        instances: options.files / series,
        pixel_bytes: 0,
        syntax: SynthSyntax::ExplicitLe,
        preamble: true,
        junk: false,
        dicomdir: false,
        patient_count: None,
        hostile: false,
        seed: 1,
    };
    tree.pixel_bytes = (options.file_kib * 1024).saturating_sub(header_len(&tree)?);
    println!(
        "bench: writing {} files of {} KiB to {}",
        options.files,
        options.file_kib,
        out.display()
    );
    let (files, bytes) = crate::gen_study::write_tree(&tree, out)?;
    Ok(Study { tree, files, bytes })
}

/// The size of the first file of `tree` without pixel data: its header.
pub(crate) fn header_len(tree: &StudyTree) -> Result<usize, String> {
    let probe = StudyTree {
        series: 1,
        instances: 1,
        pixel_bytes: 0,
        ..tree.clone()
    };
    let mut header = 0;
    probe
        .for_each_file(|_, bytes| {
            header = bytes.len();
            Ok::<(), SynthError>(())
        })
        .map_err(|e| e.to_string())?;
    Ok(header)
}

/// Runs the native scan (the `scan_dir` example, release) over `data`.
fn native_scan(root: &Path, data: &Path) -> Result<Value, String> {
    let mut cargo = util::cargo();
    cargo
        .args([
            "run",
            "--quiet",
            "--release",
            "--package",
            "auraloader-core",
            "--example",
            "scan_dir",
            "--",
        ])
        .arg(data)
        .current_dir(root)
        .stderr(Stdio::inherit());
    println!("$ {}", util::describe(&cargo));
    let output = cargo
        .output()
        .map_err(|e| format!("could not run the native scan: {e}"))?;
    if !output.status.success() {
        return Err(format!("the native scan failed ({})", output.status));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).map_err(|e| format!("unreadable native scan output {line:?}: {e}"))
}

/// The bench page in `page/`: `index.html`, `scan.js` bundled with
/// dicom-parser, and `manifest.json` listing the files under `data` (returned:
/// relative paths and sizes, in the order the page gets them).
fn bundle_page(root: &Path, page: &Path, data: &Path) -> Result<Vec<(String, u64)>, String> {
    bundle_bench_page(root, page, "scan")?;
    let mut files = Vec::new();
    list(data, data, 0, &mut files)?;
    files.sort();
    let entries: Vec<Value> = files
        .iter()
        .map(|(path, size)| json!({ "path": path, "size": size }))
        .collect();
    util::write(
        &page.join("manifest.json"),
        json!({ "files": entries }).to_string(),
    )?;
    Ok(files)
}

/// Copies `www/bench/{name}.html` to `page/index.html` and bundles
/// `www/bench/{name}.js` (with its npm imports; the widget stays external at
/// `/npm/`) to `page/{name}.js`.
pub(crate) fn bundle_bench_page(root: &Path, page: &Path, name: &str) -> Result<(), String> {
    util::copy(
        &root.join(format!("www/bench/{name}.html")),
        &page.join("index.html"),
    )?;
    let esbuild = root.join("www/node_modules/.bin/esbuild");
    if !esbuild.is_file() {
        return Err(format!(
            "{} is missing: run `cargo xtask setup`",
            esbuild.display()
        ));
    }
    run_cmd(
        Command::new(esbuild)
            .arg(root.join(format!("www/bench/{name}.js")))
            .args([
                "--bundle",
                "--format=esm",
                "--target=es2022",
                "--external:/npm/*",
                "--log-level=error",
            ])
            .arg(format!(
                "--outfile={}",
                page.join(format!("{name}.js")).display()
            ))
            .current_dir(root.join("www")),
    )
}

/// Relative `/`-separated paths and sizes of the files under `dir`.
pub(crate) fn list(
    base: &Path,
    dir: &Path,
    depth: usize,
    out: &mut Vec<(String, u64)>,
) -> Result<(), String> {
    if depth > 16 {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        if path.is_dir() {
            list(base, &path, depth + 1, out)?;
        } else {
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            let relative = path.strip_prefix(base).unwrap_or(&path);
            out.push((relative.to_string_lossy().replace('\\', "/"), size));
        }
    }
    Ok(())
}

/// Serves the page in `page` at `/bench/` (and `dist/` at `/`) and drives
/// Chromium through chromedriver to `/bench/?{query}`, selecting `selected`
/// when the page asks; returns the page's result JSON, or fails after `limit`.
pub(crate) fn browser_page(
    tools: &Tools,
    root: &Path,
    scratch: &Path,
    page: &Path,
    selected: &[PathBuf],
    query: &str,
    limit: Duration,
) -> Result<Value, String> {
    let (Some(chrome), Some(driver)) = (&tools.chrome, &tools.chromedriver) else {
        return Err("Chromium and chromedriver are needed: run `cargo xtask setup`".to_owned());
    };
    let server_bin = crate::serve::build_server()?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut server = crate::serve::server_command(
        &server_bin,
        &addr,
        &scratch.join("server-data"),
        &build::bench_dist(root),
    );
    server
        .arg("--static")
        .arg(format!("/bench={}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    println!("$ {}", util::describe(&server));
    let _server = Running(
        server
            .spawn()
            .map_err(|e| format!("could not start the dev server: {e}"))?,
    );
    wait_for_port(&addr, Duration::from_secs(30))?;

    let driver_addr = format!("127.0.0.1:{}", free_port()?);
    let port = driver_addr
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut chromedriver = Command::new(driver);
    chromedriver
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _driver = Running(
        chromedriver
            .spawn()
            .map_err(|e| format!("could not start chromedriver: {e}"))?,
    );
    wait_for_port(&driver_addr, Duration::from_secs(30))?;

    let mut args: Vec<String> = CHROME_FLAGS.iter().map(|f| (*f).to_owned()).collect();
    args.push(format!(
        "--user-data-dir={}",
        scratch.join("chrome").display()
    ));
    let capabilities = json!({
        "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chrome.to_string_lossy(), "args": args },
        }}
    });
    let session = webdriver(&driver_addr, "POST", "/session", Some(&capabilities))?;
    let session = Session {
        driver: driver_addr.clone(),
        id: session["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| format!("chromedriver gave no session: {session}"))?
            .to_owned(),
    };
    let url = format!("http://{addr}/bench/?{query}");
    drive(&driver_addr, &session.id, &url, selected, limit)
}

/// A WebDriver session, ended (Chromium closed) however the benchmark ends.
struct Session {
    driver: String,
    id: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = webdriver(
            &self.driver,
            "DELETE",
            &format!("/session/{}", self.id),
            None,
        );
    }
}

/// Opens the page, selects the files in its picker (WebDriver file upload:
/// the page gets disk-backed `File`s, as from a user's drop) and waits for
/// its result.
fn drive(
    driver: &str,
    id: &str,
    url: &str,
    selected: &[PathBuf],
    limit: Duration,
) -> Result<Value, String> {
    let session = format!("/session/{id}");
    webdriver(
        driver,
        "POST",
        &format!("{session}/url"),
        Some(&json!({ "url": url })),
    )?;
    let script = json!({
        "script": "const r = document.getElementById('result'); \
                   return r && r.dataset.done === '1' ? r.textContent : \
                   (document.getElementById('status') || {}).textContent || '';",
        "args": [],
    });
    let started = Instant::now();
    let mut shown = String::new();
    let mut files_selected = false;
    while started.elapsed() < limit {
        let answer = webdriver(
            driver,
            "POST",
            &format!("{session}/execute/sync"),
            Some(&script),
        )?;
        let text = answer["value"].as_str().unwrap_or_default().to_owned();
        if text.starts_with('{') {
            return serde_json::from_str(&text).map_err(|e| format!("unreadable page result: {e}"));
        }
        if text != shown {
            println!("bench page: {text}");
            shown.clone_from(&text);
        }
        if text == "waiting for files" && !files_selected {
            select_files(driver, &session, selected)?;
            files_selected = true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "the bench page did not finish within {} s",
        limit.as_secs()
    ))
}

/// Types the files' paths into each of the page's `<input type=file
/// multiple>` (the scan page has more than one: every selection gives new
/// `File` objects).
fn select_files(driver: &str, session: &str, selected: &[PathBuf]) -> Result<(), String> {
    let found = webdriver(
        driver,
        "POST",
        &format!("{session}/elements"),
        Some(&json!({ "using": "css selector", "value": "input[type=file]" })),
    )?;
    // The W3C WebDriver element reference key.
    let elements: Vec<String> = found["value"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["element-6066-11e4-a52e-4f735466cecf"].as_str())
        .map(str::to_owned)
        .collect();
    if elements.is_empty() {
        return Err(format!("no file picker in the bench page: {found}"));
    }
    let paths: Vec<String> = selected.iter().map(|p| p.display().to_string()).collect();
    let started = Instant::now();
    for element in &elements {
        webdriver(
            driver,
            "POST",
            &format!("{session}/element/{element}/value"),
            Some(&json!({ "text": paths.join("\n") })),
        )?;
    }
    println!(
        "bench: selected {} files in the page's {} picker(s) in {:.1} s",
        paths.len(),
        elements.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn webdriver(addr: &str, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(addr)
        .map_err(|e| format!("cannot reach chromedriver at {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("chromedriver {method} {path}: {e}"))?;
    let (head, body) =
        read_response(&mut stream).map_err(|e| format!("chromedriver {method} {path}: {e}"))?;
    let value: Value = serde_json::from_str(&body)
        .map_err(|e| format!("chromedriver {method} {path}: unreadable answer ({e})"))?;
    let status_ok = head.split_whitespace().nth(1) == Some("200");
    if status_ok {
        Ok(value)
    } else {
        Err(format!(
            "chromedriver {method} {path}: {}",
            value["value"]["message"]
        ))
    }
}

/// Reads one HTTP response (chromedriver keeps connections open, so the
/// body ends by its Content-Length, or by the last chunk).
fn read_response(stream: &mut TcpStream) -> Result<(String, String), String> {
    let mut data = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    let mut framing: Option<(usize, Option<usize>)> = None;
    // Bounded: a response larger than 64 MiB is not chromedriver's.
    while data.len() < 64 << 20 {
        if framing.is_none() {
            if let Some(end) = find(&data, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let length = head.lines().find_map(|l| {
                    l.strip_prefix("content-length:")
                        .and_then(|n| n.trim().parse::<usize>().ok())
                });
                framing = Some((end + 4, length));
            }
        }
        match framing {
            Some((start, Some(length))) if data.len() >= start + length => break,
            Some((start, None)) if find(&data[start..], b"0\r\n\r\n").is_some() => break,
            _ => {}
        }
        let n = stream.read(&mut buffer).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buffer[..n]);
    }
    let Some((start, length)) = framing else {
        return Err("no HTTP response".to_owned());
    };
    let head = String::from_utf8_lossy(&data[..start]).into_owned();
    let body = match length {
        Some(length) => {
            String::from_utf8_lossy(&data[start..(start + length).min(data.len())]).into_owned()
        }
        None => dechunk(&String::from_utf8_lossy(&data[start..])),
    };
    Ok((head, body))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a chunked HTTP body.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    for _ in 0..100_000 {
        let Some((size, rest)) = body.split_once("\r\n") else {
            break;
        };
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// A port on 127.0.0.1 that was free a moment ago.
pub(crate) fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

fn wait_for_port(addr: &str, limit: Duration) -> Result<(), String> {
    let started = Instant::now();
    while TcpStream::connect(addr).is_err() {
        if started.elapsed() > limit {
            return Err(format!(
                "nothing listened on {addr} within {} s",
                limit.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// The BENCHMARKS.md section: how it was made, and the table.
/// The table's name for the bench page's reader `name` (`batch`: files per
/// batched read).
fn label(name: &str, batch: f64) -> String {
    match name {
        "auraloader scanFiles" => {
            "auraloader `scanFiles` (wasm, head reads in its workers)".to_owned()
        }
        "auraloader scanFiles, main thread" => {
            "auraloader `scanFiles`, reads on the main thread".to_owned()
        }
        "auraloader scanFiles, Files never looked at" => {
            "auraloader `scanFiles` on `File`s never looked at (a picker's first scan)".to_owned()
        }
        "floor: head Blobs only, workers" => {
            "floor: the head `Blob`s alone (`slice()`, never read), in workers".to_owned()
        }
        "floor: batched head reads, workers" => {
            format!("floor: one read per {batch:.0} heads, in workers (JS, no parsing)")
        }
        "floor: batched head reads, main thread" => {
            format!("floor: one read per {batch:.0} heads, main thread (JS, no parsing)")
        }
        "floor: one read per file, main thread" => {
            "floor: one `arrayBuffer()` per head, main thread (JS, no parsing)".to_owned()
        }
        "floor: one read per file, workers" => {
            "floor: one `arrayBuffer()` per head, in workers (JS, no parsing)".to_owned()
        }
        "dicom-parser full parse" => format!("dicom-parser {DICOM_PARSER_VERSION}, full parse"),
        other => format!(
            "dicom-parser {DICOM_PARSER_VERSION}, {}",
            other.trim_start_matches("dicom-parser ")
        ),
    }
}

fn section(study: &Study, native: &Value, browser: &Value, tools: &Tools, load: &str) -> String {
    let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
    let files = study.files as f64;
    let number = |v: &Value| v.as_f64().unwrap_or(0.0);
    let tuning = &browser["tuning"];
    let batch = number(&tuning["batch"]);
    let row = |reader: &str, place: &str, seconds: f64, bytes_read: f64, longest: &str| {
        format!(
            "| {reader} | {place} | {:.0} | {:.3} s | {:.1} MiB ({:.1} %) | {longest} |",
            files / seconds.max(1e-9),
            seconds,
            mib(bytes_read),
            100.0 * bytes_read / (study.bytes as f64).max(1.0),
        )
    };
    let mut rows = vec![row(
        "auraloader `scan_head` (Rust, release profile, 1 thread)",
        "native, `File::open` + `read`",
        number(&native["seconds"]),
        number(&native["bytes_read"]),
        "n/a",
    )];
    let mut found = vec![format!(
        "native: {} instances in {} study, {} skipped",
        native["instances"], native["studies"], native["skipped"]
    )];
    for result in browser["results"].as_array().into_iter().flatten() {
        let name = result["name"].as_str().unwrap_or("?");
        let longest = match number(&result["longestTaskMs"]) {
            ms if ms > 0.0 => format!("{ms:.0} ms ({} over 50 ms)", result["longTasks"]),
            _ => "none over 50 ms".to_owned(),
        };
        let reader = label(name, batch);
        rows.push(row(
            &reader,
            "Chromium, disk-backed `File`s",
            number(&result["medianMs"]) / 1000.0,
            number(&result["bytesRead"]),
            &longest,
        ));
        let runs: Vec<String> = result["runsMs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|ms| format!("{:.0}", number(ms)))
            .collect();
        let what = if result["instances"].is_null() {
            "reads only".to_owned()
        } else {
            format!(
                "{} instances in {} study, {} skipped",
                result["instances"], result["studies"], result["skipped"]
            )
        };
        let tasks: Vec<String> = result["longTasksPerRun"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .flat_map(|(run, tasks)| {
                tasks
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(move |t| format!("run {}: {} ms at {} ms", run + 1, t[1], t[0]))
            })
            .collect();
        let tasks = if tasks.is_empty() {
            String::new()
        } else {
            format!("; long tasks: {}", tasks.join(", "))
        };
        found.push(format!(
            "{name}: {what}; runs {} ms{tasks}",
            runs.join(" / ")
        ));
    }
    let median = |name: &str| browser_median(browser, name).unwrap_or(0.0);
    let ours = median("auraloader scanFiles");
    let full = median("dicom-parser full parse");
    let times = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let verdict = |met: bool| {
        if met {
            "met"
        } else {
            "not met on this machine"
        }
    };
    // The fastest way this browser gave to read one head per file, and the
    // cost of merely making the head Blobs.
    let (floor_ms, floor_name) = browser["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("floor:") && !n.contains("Blobs only"))
        })
        .filter_map(|r| Some((r["medianMs"].as_f64()?, r["name"].as_str()?.to_owned())))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .unwrap_or((0.0, "?".to_owned()));
    let floor_label = label(&floor_name, batch);
    let floor_label = floor_label.trim_start_matches("floor: ");
    let blobs_ms = median("floor: head Blobs only, workers");
    let own_floor = median("floor: batched head reads, workers");
    let fresh = median("auraloader scanFiles, Files never looked at");
    let per_file = |ms: f64| ms / files.max(1.0);
    let tenth = full / 10.0;
    let floor_ratio = times(full, floor_ms);
    let limit = if floor_ratio < 10.0 {
        format!(
            "yet dicom-parser's full parse took only {floor_ratio:.1}× as long: no scanner \
             that reads every head in this page can be 10× faster than dicom-parser here"
        )
    } else {
        format!("and dicom-parser's full parse took {floor_ratio:.1}× as long")
    };
    let share = |part: f64, whole: f64| {
        if part > whole {
            format!("{:.1}× that budget", times(part, whole))
        } else {
            format!("{:.0} % of that budget", 100.0 * times(part, whole))
        }
    };
    let overhead = if ours > own_floor {
        format!(
            "`scanFiles` took {:.3} s more than the same reads without parsing (one read \
             per {batch:.0} heads, in workers): {:.0} % of its time is its own work \
             (parsing, grouping, moving the heads into wasm memory) on top of the \
             browser's.",
            (ours - own_floor) / 1000.0,
            100.0 * times(ours - own_floor, ours),
        )
    } else {
        format!(
            "`scanFiles` took no longer than the same reads without parsing (one read \
             per {batch:.0} heads, in workers, {:.3} s): its parsing and grouping run \
             while the workers read.",
            own_floor / 1000.0
        )
    };
    let reach = format!(
        "The fastest floor, {floor_label} ({:.3} s, {:.3} ms per file), reads and \
         parses nothing, {limit}. 10× needs the whole scan in {:.3} s ({:.3} ms per \
         file); making the {} head `Blob`s alone, before any byte is read, took \
         {:.3} s ({:.3} ms per file: each `slice()` waits for the browser process to \
         register the new `Blob`), {}. {overhead} On `File`s the page had never \
         looked at, `scanFiles` took {:.3} s: {:.3} s more, Chromium's stat of each \
         file on first use (below). The per-file costs are Chromium's: natively the \
         same heads take {:.3} ms per file to open, read and scan.",
        floor_ms / 1000.0,
        per_file(floor_ms),
        tenth / 1000.0,
        per_file(tenth),
        study.files,
        blobs_ms / 1000.0,
        per_file(blobs_ms),
        share(blobs_ms, tenth),
        fresh / 1000.0,
        (fresh - ours).max(0.0) / 1000.0,
        1000.0 * number(&native["seconds"]) / files.max(1.0),
    );
    let why_slow = if ours >= 1000.0 {
        format!(
            " Why the first target is missed: reading alone, with no parsing, took at \
             best {:.2} s ({floor_label}); under 1 s for {} files needs under {:.2} ms \
             per file.",
            floor_ms / 1000.0,
            study.files,
            1000.0 / files.max(1.0),
        )
    } else {
        String::new()
    };
    let targets = format!(
        "Targets of issue 3: the whole scan in Chromium under 1 s: {} ({:.2} s); at \
         least 10× faster than dicom-parser's full parse: {} ({:.1}×; the reads alone, \
         with no parsing, allow about {:.1}× here: see above).{why_slow}",
        verdict(ours > 0.0 && ours < 1000.0),
        ours / 1000.0,
        verdict(times(full, ours) >= 10.0),
        times(full, ours),
        floor_ratio,
    );
    let ratio = |other: &str| format!("{:.1}×", times(median(other), ours));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let busy = load
        .split(" / ")
        .next()
        .and_then(|one| one.parse::<f64>().ok())
        .is_some_and(|one| one > cores as f64);
    let noise = if busy {
        "\nThe machine was busy during this run (a 1-minute load average above its CPU\n\
         count: other work was compiling and testing beside it), so the absolute\n\
         numbers are high and noisy; compare the rows, which ran in the same page."
    } else {
        ""
    };
    let tree = &study.tree;
    format!(
        "{SECTION}

Command: `cargo xtask bench scan` (rerunning replaces this section). Date: {date}.
Machine: {cpus} CPUs (`nproc`), {cpu}, load average {load} at the start;
{chromium}, headless.{noise}

Input: one synthetic CT study from the `synth` generator (as `cargo xtask
gen-study --studies 1 --series {series} --instances {instances} --pixel-bytes
{pixels}`): {files} files of {kib:.0} KiB ({total:.0} MiB), explicit VR little
endian, Part 10, headers under 1 KiB. Native: the files are in the OS page
cache. Browser: WebDriver selects the files in the page's `<input type=file
multiple>`, so they are the disk-backed `File` objects a user's drop gives the
widget; each reader is warmed up on one file, then timed {runs} times on all of
them, and the table shows the median run. `scanFiles` reads the heads in its
Web Workers ({workers} here, from `navigator.hardwareConcurrency`, at most 4):
{batch:.0} files per request, read as one `Blob` made of their first
{first_kib:.0} KiB, {in_flight} requests in flight per worker; the page's
thread parses and groups. Its main-thread row reads the same batches on the
page's thread; its \"never looked at\" row scans, in each run, the `File`s of
another selection of the same files (WebDriver fills one more picker per
run), which the page has not touched, as a user's first scan of a picker's
files. The floor rows read the same heads the same way with no
parsing: what the reads alone cost in this browser. dicom-parser reads each
file with `file.arrayBuffer()` inside the timed region, as a page using it
would, 32 reads in flight, and takes the same attributes.

| reader | where | files/s | wall time | bytes read | longest main-thread task |
| --- | --- | ---: | ---: | ---: | --- |
{rows}

In Chromium, dicom-parser's full parse took {vs_full} as long as auraloader's
scan, and with `untilTag` {vs_until} as long. {reach}

Before the runs: the page's first look at the {files} `File`s' sizes (its
check against the manifest) took {sizes:.0} ms: the first time a page reads a
picked `File`'s size (or slices it, or posts it to a worker) Chromium has the
browser process stat the file, one round trip per file; later looks cost
nothing. Every row but the \"never looked at\" one runs on `File`s already
looked at. `warmScan()`, what the widget's `mount()` runs
(it starts the workers and scans one tiny in-memory file so V8 compiles the
scan code), took {warm:.0} ms after the module loaded; the first `scanFiles`
call after it took {first:.0} ms for one file. Long tasks are those over 50
ms (`PerformanceObserver` type `longtask`); the scan yields to the event loop
every 8 ms of its own work, so a long task inside a run that also shows in the
floors' runs (which run no scan code) is the browser's own work. What each
reader found, the times of every run, and each long task (its start after the
run began):
{found}

{targets}
",
        date = today(),
        cpus = cores,
        cpu = cpu_model(),
        chromium = chromium_version(tools),
        series = tree.series,
        instances = tree.instances,
        pixels = tree.pixel_bytes,
        files = study.files,
        kib = study.bytes as f64 / files.max(1.0) / 1024.0,
        total = mib(study.bytes as f64),
        runs = browser["runs"],
        workers = tuning["workers"],
        first_kib = number(&tuning["firstRead"]) / 1024.0,
        in_flight = tuning["inFlight"],
        rows = rows.join("\n"),
        vs_full = ratio("dicom-parser full parse"),
        vs_until = ratio("dicom-parser untilTag x7fe00010"),
        sizes = number(&browser["firstSizesMs"]),
        warm = number(&browser["warmScanMs"]),
        first = number(&browser["firstScanCallMs"]),
        found = found
            .iter()
            .map(|f| format!("- {f}"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// `/proc/loadavg`'s 1, 5 and 15 minute averages: how busy the machine was.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" / "))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The dicom-parser version pinned in `www/package.json`.
const DICOM_PARSER_VERSION: &str = "1.8.21";

fn browser_median(browser: &Value, name: &str) -> Option<f64> {
    browser["results"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == name)?["medianMs"]
        .as_f64()
}

pub(crate) fn chromium_version(tools: &Tools) -> String {
    tools
        .chrome
        .as_ref()
        .and_then(|chrome| util::output(Command::new(chrome).arg("--version")))
        .and_then(|v| {
            v.lines()
                .next()
                .map(|l| l.split(" built").next().unwrap_or(l).trim().to_owned())
        })
        .unwrap_or_else(|| "Chromium".to_owned())
}

/// The CPU model from /proc/cpuinfo.
pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, model)| model.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned())
}

/// Today's date (UTC) as YYYY-MM-DD.
pub(crate) fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date(i64::try_from(secs / 86_400).unwrap_or(0))
}

/// The date `days` after 1970-01-01, as YYYY-MM-DD (Howard Hinnant's
/// civil-from-days algorithm).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `old` with the section under `heading` replaced by `section` (or added).
pub(crate) fn replace_section(old: &str, heading: &str, section: &str) -> String {
    let section = section.trim_end();
    let Some(start) = old.find(heading) else {
        let base = if old.trim().is_empty() {
            "# Benchmarks\n\nMeasured results, one section per benchmark; each section says the command that produced it.\n".to_owned()
        } else {
            old.trim_end().to_owned() + "\n"
        };
        return format!("{base}\n{section}\n");
    };
    let after = &old[start + heading.len()..];
    let end = after
        .find("\n## ")
        .map_or(old.len(), |i| start + heading.len() + i + 1);
    format!("{}{section}\n\n{}", &old[..start], &old[end..])
        .trim_end()
        .to_owned()
        + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_scan_section() {
        let old =
            format!("# Benchmarks\n\nintro\n\n{SECTION}\n\nold table\n\n## Zip\n\nzip table\n");
        let new = replace_section(&old, SECTION, &format!("{SECTION}\n\nnew table\n"));
        assert_eq!(
            new,
            format!("# Benchmarks\n\nintro\n\n{SECTION}\n\nnew table\n\n## Zip\n\nzip table\n")
        );
        let added = replace_section(
            "# Benchmarks\n\n## Zip\n\nzip\n",
            SECTION,
            &format!("{SECTION}\n\nt\n"),
        );
        assert_eq!(
            added,
            format!("# Benchmarks\n\n## Zip\n\nzip\n\n{SECTION}\n\nt\n")
        );
        let created = replace_section("", SECTION, &format!("{SECTION}\n\nt\n"));
        assert!(created.starts_with("# Benchmarks\n"));
        assert!(created.ends_with(&format!("{SECTION}\n\nt\n")));
    }

    #[test]
    fn counts_days_from_the_unix_epoch() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(59), "1970-03-01");
        assert_eq!(civil_date(19_723), "2024-01-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
    }

    #[test]
    fn dechunks_http_bodies() {
        assert_eq!(dechunk("4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"), "{\"a\":1}");
    }

    #[test]
    fn parses_options() {
        let args: Vec<String> = ["--files", "10", "--runs", "2", "--no-write"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let options = BenchOptions::from_args(&args).unwrap();
        assert_eq!(
            options,
            BenchOptions {
                files: 10,
                file_kib: 512,
                runs: 2,
                write: false
            }
        );
        assert!(BenchOptions::from_args(&["--files".to_owned(), "0".to_owned()]).is_err());
    }
}
