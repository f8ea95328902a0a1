//! `cargo xtask demo`: builds the widget and runs the dev server
//! (`crates/server`) with the demo page, so the whole two-phase flow runs for
//! real: the page asks `POST /demo/upload-token` (the server acting as a
//! partner backend signs an `auth/exchange` with the demo credentials), then
//! the widget initialises against the server's Aura API.
//!
//! The server binds to loopback unless told otherwise (`--addr`); its
//! `--static` mounts serve any folder of files, e.g. for a benchmark page.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::build::{self, Options};
use crate::util::{self, run_cmd};

/// Builds, then runs the dev server with the demo page until interrupted.
pub fn demo(args: &[String]) -> Result<(), String> {
    let addr = args
        .windows(2)
        .find(|w| w[0] == "--addr")
        .map(|w| w[1].clone())
        .or_else(|| std::env::var("AURALOADER_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let dev = args.iter().any(|a| a == "--dev");
    build::run(&Options {
        dev,
        bench_api: false,
    })?;
    let server = build_server()?;
    let root = util::root();
    let data_dir = root.join("target/demo-data");
    println!(
        "\nauraloader demo: http://{addr}/  (data in {}; Ctrl-C to stop)",
        data_dir.display()
    );
    run_cmd(
        server_command(&server, &addr, &data_dir, &root.join("dist")).arg("--print-credentials"),
    )
}

/// Builds the dev server binary and returns its path.
pub fn build_server() -> Result<PathBuf, String> {
    let root = util::root();
    run_cmd(
        util::cargo()
            .args([
                "build",
                "--package",
                "auraloader-server",
                "--bin",
                "auraloader-server",
            ])
            .current_dir(&root),
    )?;
    Ok(root.join("target/debug/auraloader-server"))
}

/// The dev server serving `dist/demo` at `/` and `dist/npm` at `/npm/`.
pub fn server_command(server: &Path, addr: &str, data_dir: &Path, dist: &Path) -> Command {
    let mut cmd = Command::new(server);
    cmd.arg("--addr")
        .arg(addr)
        .arg("--data-dir")
        .arg(data_dir)
        .arg("--static")
        .arg(format!(
            "{},/npm={}",
            dist.join("demo").display(),
            dist.join("npm").display()
        ));
    cmd
}
