//! `cargo xtask`: the project's commands.
//!
//! - `setup`: installs what builds and tests need (idempotent, fast when done)
//! - `build`: the npm package, the script-tag file and the demo under `dist/`
//! - `test`: every check, ending with one summary line (`--only` picks steps)
//! - `demo`: build, then serve the demo page on 127.0.0.1:8080
//! - `gen-study`: write a folder of synthetic DICOM studies
//! - `screenshots`: refresh the README's screenshots in `docs/screenshots/`
//! - `bench`: measure (`bench scan`: the header scan, native and in Chromium;
//!   `bench server`: the dev server's tus ingest and API latency beside `@tus/server`;
//!   `bench tus`: upload throughput and memory beside tus-js-client;
//!   `bench zip`: study zip preparation in Chromium beside zip.js and fflate)

mod bench;
mod bench_server;
mod build;
mod gen_study;
mod screenshots;
mod serve;
mod setup;
mod test;
mod util;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  setup              install the wasm target, wasm-bindgen-cli, Chromium + chromedriver, npm dev deps
  build [--dev]      build dist/npm, dist/standalone-auraloader.js and dist/demo (--dev: no wasm-opt, debug wasm)
  test [--only S]    fmt, clippy, native tests, wasm tests in headless Chromium, package tests,
                     demo page and end-to-end suite (--only e2e: just the suite; test --help)
  demo [--addr A]    build and serve the demo on A (default 127.0.0.1:8080)
  gen-study --out D  write synthetic DICOM studies to D (gen-study --help for options)
  screenshots        shoot every step in both themes and refresh docs/screenshots/
  bench scan         time the scan natively and in Chromium beside dicom-parser; writes BENCHMARKS.md
  bench server       tus ingest and API latency of the dev server beside @tus/server; writes BENCHMARKS.md
  bench tus          upload 1 GiB to @tus/server in Chromium, ours vs tus-js-client; writes BENCHMARKS.md
  bench zip          time study zip preparation in Chromium beside zip.js and fflate; writes BENCHMARKS.md";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("setup") => setup::run(setup::Need::Everything).map(|_| ()),
        Some("build") => build::run(&build::Options::from_args(&args[1..])).map(|_| ()),
        Some("test") => test::run(&args[1..]),
        Some("demo") => serve::demo(&args[1..]),
        Some("gen-study") => gen_study::run(&args[1..]),
        Some("screenshots") => screenshots::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::FAILURE
        }
    }
}
