//! `cargo xtask build`: turns the widget into the three forms users consume.
//!
//! - `dist/npm/`: the npm package (ES module entries for browsers and Node, the
//!   `.wasm`, types, `package.json` with an `exports` map);
//! - `dist/standalone-auraloader.js`: one classic script for a `<script>` tag,
//!   the wasm inlined;
//! - `dist/demo/`: the demo page.
//!
//! With `--bench-api` the same layout goes to `target/bench-dist/`, built
//! with the widget's `bench-api` feature: the JS entry points of the
//! benchmarks and package tests (`scanFiles`, `prepareStudy`,
//! `startTusUploads`, …) are in that wasm only, never in `dist/`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::setup::{self, Need, Tools};
use crate::util::{self, copy, run_cmd, write};

/// Build options.
pub struct Options {
    /// Debug wasm, no wasm-opt: faster, bigger.
    pub dev: bool,
    /// The bench and test build (`target/bench-dist/`, with the `bench-api`
    /// feature) instead of the product (`dist/`).
    pub bench_api: bool,
}

impl Options {
    /// The product, optimised.
    pub const PRODUCT: Self = Self {
        dev: false,
        bench_api: false,
    };

    /// The bench and test build, optimised as the product is.
    pub const BENCH: Self = Self {
        dev: false,
        bench_api: true,
    };

    /// Parses `--dev` and `--bench-api`.
    pub fn from_args(args: &[String]) -> Self {
        Self {
            dev: args.iter().any(|a| a == "--dev"),
            bench_api: args.iter().any(|a| a == "--bench-api"),
        }
    }
}

/// Where the bench and test build goes (`--bench-api`).
pub fn bench_dist(root: &Path) -> PathBuf {
    root.join("target/bench-dist")
}

/// Sets up the build tools, then builds.
pub fn run(options: &Options) -> Result<(), String> {
    let tools = setup::run(Need::Build)?;
    build(&tools, options)
}

/// Builds every artefact with tools already set up.
pub fn build(tools: &Tools, options: &Options) -> Result<(), String> {
    let root = util::root();
    let (dist, stage) = if options.bench_api {
        (bench_dist(&root), root.join("target/js-stage-bench"))
    } else {
        (root.join("dist"), root.join("target/js-stage"))
    };
    let profile = if options.dev { "debug" } else { "release" };

    let mut cargo = util::cargo();
    cargo.args([
        "build",
        "--package",
        "auraloader",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    if !options.dev {
        cargo.arg("--release");
    }
    if options.bench_api {
        cargo.args(["--features", "bench-api"]);
    }
    run_cmd(cargo.current_dir(&root))?;
    let wasm = root
        .join("target/wasm32-unknown-unknown")
        .join(profile)
        .join("auraloader.wasm");

    let _ = std::fs::remove_dir_all(&stage);
    run_cmd(
        Command::new(&tools.wasm_bindgen)
            .args(["--target", "web", "--out-name", "auraloader", "--out-dir"])
            .arg(&stage)
            .arg(&wasm),
    )?;
    let bg_wasm = stage.join("auraloader_bg.wasm");
    if !options.dev {
        wasm_opt(&root, &bg_wasm)?;
    }
    for file in [
        "facade.js",
        "index.js",
        "node.js",
        "standalone.js",
        "index.d.ts",
    ] {
        copy(&root.join("www/js").join(file), &stage.join(file))?;
    }

    let _ = std::fs::remove_dir_all(&dist);
    let standalone = dist.join("standalone-auraloader.js");
    let mut esbuild = node_bin(&root, "esbuild")?;
    esbuild
        .arg(stage.join("standalone.js"))
        .args([
            "--bundle",
            "--format=iife",
            "--loader:.wasm=binary",
            // Older than esnext, so the inlined wasm is decoded without
            // Uint8Array.fromBase64, which many browsers lack.
            "--target=es2022",
            "--log-level=error",
        ])
        .arg(format!("--outfile={}", standalone.display()));
    if !options.dev {
        esbuild.arg("--minify");
    }
    run_cmd(&mut esbuild)?;

    let npm = dist.join("npm");
    for file in [
        "auraloader.js",
        "auraloader.d.ts",
        "auraloader_bg.wasm",
        "facade.js",
        "index.js",
        "node.js",
        "index.d.ts",
    ] {
        copy(&stage.join(file), &npm.join(file))?;
    }
    copy(&standalone, &npm.join("standalone-auraloader.js"))?;
    write(&npm.join("package.json"), package_json())?;
    copy(&root.join("www/npm-README.md"), &npm.join("README.md"))?;

    let demo = dist.join("demo");
    copy_dir(&root.join("www/demo"), &demo)?;
    copy(&standalone, &demo.join("standalone-auraloader.js"))?;

    if options.bench_api {
        println!("build: bench and test build in {}", dist.display());
        return Ok(());
    }
    print_sizes(&[
        (
            "dist/npm/auraloader_bg.wasm",
            npm.join("auraloader_bg.wasm"),
        ),
        ("dist/npm (whole package)", npm.clone()),
        ("dist/standalone-auraloader.js", standalone.clone()),
    ])?;
    Ok(())
}

/// Optimises the wasm for size with binaryen's wasm-opt: `$WASM_OPT`, else the
/// npm dev dependency, else one on PATH; skipped with a note when none runs.
fn wasm_opt(root: &Path, wasm: &Path) -> Result<(), String> {
    let npm_bin = root.join("www/node_modules/.bin/wasm-opt");
    let tool = util::find_tool(Some("WASM_OPT"), &[])
        .or_else(|| npm_bin.is_file().then_some(npm_bin))
        .or_else(|| util::find_tool(None, &["wasm-opt"]));
    let Some(tool) = tool else {
        println!("build: wasm-opt not found; the wasm is not size-optimised");
        return Ok(());
    };
    // The features rustc enables by default for wasm32-unknown-unknown.
    run_cmd(
        Command::new(tool)
            .args([
                "-Oz",
                "--enable-bulk-memory",
                "--enable-mutable-globals",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-reference-types",
                "--enable-multivalue",
            ])
            .arg(wasm)
            .arg("-o")
            .arg(wasm),
    )
}

/// A command for an executable of the npm dev dependencies.
fn node_bin(root: &Path, name: &str) -> Result<Command, String> {
    let path = root.join("www/node_modules/.bin").join(name);
    if path.is_file() {
        Ok(Command::new(path))
    } else {
        Err(format!(
            "{} is missing: run `cargo xtask setup`",
            path.display()
        ))
    }
}

/// The npm package's manifest.
fn package_json() -> String {
    let version = env!("CARGO_PKG_VERSION");
    format!(
        r#"{{
  "name": "auraloader",
  "version": "{version}",
  "description": "DICOM upload widget for the Aura platform (Rust + WebAssembly); API-compatible with @aurabx/standalone-uploader",
  "license": "MIT OR Apache-2.0",
  "type": "module",
  "main": "./index.js",
  "module": "./index.js",
  "types": "./index.d.ts",
  "exports": {{
    ".": {{
      "types": "./index.d.ts",
      "node": "./node.js",
      "default": "./index.js"
    }},
    "./standalone-auraloader.js": "./standalone-auraloader.js",
    "./auraloader_bg.wasm": "./auraloader_bg.wasm",
    "./package.json": "./package.json"
  }},
  "files": [
    "auraloader.js",
    "auraloader.d.ts",
    "auraloader_bg.wasm",
    "facade.js",
    "index.js",
    "node.js",
    "index.d.ts",
    "standalone-auraloader.js",
    "README.md"
  ],
  "sideEffects": false,
  "engines": {{ "node": ">=18" }}
}}
"#
    )
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    let entries =
        std::fs::read_dir(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            copy(&path, &target)?;
        }
    }
    Ok(())
}

/// Prints raw and gzipped sizes (gzip level 9) of files, or of all files in a folder.
fn print_sizes(items: &[(&str, PathBuf)]) -> Result<(), String> {
    println!("\n{:<34} {:>12} {:>12}", "artefact", "raw", "gzip -9");
    for (label, path) in items {
        let files = if path.is_dir() {
            let mut files = Vec::new();
            for entry in std::fs::read_dir(path).map_err(|e| e.to_string())? {
                files.push(entry.map_err(|e| e.to_string())?.path());
            }
            files
        } else {
            vec![path.clone()]
        };
        let (mut raw, mut gz) = (0usize, 0usize);
        for file in files.iter().filter(|f| f.is_file()) {
            let bytes =
                std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            raw += bytes.len();
            gz += gzip_len(&bytes)?;
        }
        println!("{label:<34} {:>12} {:>12}", human(raw), human(gz));
    }
    Ok(())
}

fn gzip_len(bytes: &[u8]) -> Result<usize, String> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).map_err(|e| e.to_string())?;
    encoder.finish().map(|v| v.len()).map_err(|e| e.to_string())
}

fn human(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.2} MiB", bytes as f64 / (1 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}
