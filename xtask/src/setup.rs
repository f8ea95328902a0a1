//! `cargo xtask setup`: installs what the build and the tests need. Each step
//! checks first, so a second run takes well under a second.

use std::path::PathBuf;
use std::process::Command;

use crate::util::{self, find_tool, output, run_cmd};

/// How much to set up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// What `build` and `demo` need: the wasm target, wasm-bindgen, npm tools.
    Build,
    /// Also a browser and its driver, for the tests.
    Everything,
}

/// The tools found or installed.
pub struct Tools {
    /// `wasm-bindgen` of the version in Cargo.lock.
    pub wasm_bindgen: PathBuf,
    /// `wasm-bindgen-test-runner`, installed beside it.
    pub test_runner: PathBuf,
    /// `node`.
    pub node: PathBuf,
    /// Chromium (only with [`Need::Everything`]).
    pub chrome: Option<PathBuf>,
    /// chromedriver (only with [`Need::Everything`]).
    pub chromedriver: Option<PathBuf>,
}

/// Runs every setup step that `need` asks for.
pub fn run(need: Need) -> Result<Tools, String> {
    wasm_target()?;
    let (wasm_bindgen, test_runner) = wasm_bindgen_cli()?;
    let node = npm_dev_dependencies()?;
    let (chrome, chromedriver) = if need == Need::Everything {
        let (chrome, driver) = browser()?;
        python_venv();
        (Some(chrome), Some(driver))
    } else {
        (None, None)
    };
    println!("setup: ok");
    Ok(Tools {
        wasm_bindgen,
        test_runner,
        node,
        chrome,
        chromedriver,
    })
}

const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn wasm_target() -> Result<(), String> {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))
        .map(|s| PathBuf::from(s.trim()))
        .ok_or("cannot run `rustc --print sysroot`")?;
    if sysroot.join("lib/rustlib").join(WASM_TARGET).is_dir() {
        return Ok(());
    }
    if find_tool(None, &["rustup"]).is_none() {
        return Err(format!(
            "the {WASM_TARGET} target is missing and rustup is not available: install the target for this toolchain"
        ));
    }
    run_cmd(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// wasm-bindgen-cli must match the `wasm-bindgen` crate exactly, or the
/// generated glue and the wasm disagree.
fn wasm_bindgen_cli() -> Result<(PathBuf, PathBuf), String> {
    let version = util::locked_version("wasm-bindgen")?;
    let installed = find_tool(Some("WASM_BINDGEN"), &["wasm-bindgen"]).filter(|tool| {
        output(Command::new(tool).arg("--version"))
            .is_some_and(|v| v.split_whitespace().nth(1) == Some(version.as_str()))
    });
    let wasm_bindgen = match installed {
        Some(tool) => tool,
        None => {
            println!("setup: installing wasm-bindgen-cli {version} (a few minutes, once)");
            run_cmd(util::cargo().args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                &format!("={version}"),
                "--force",
            ]))?;
            util::cargo_bin_dir().join("wasm-bindgen")
        }
    };
    let test_runner = wasm_bindgen.with_file_name("wasm-bindgen-test-runner");
    if !test_runner.is_file() {
        return Err(format!(
            "{} is missing beside wasm-bindgen: reinstall with `cargo install wasm-bindgen-cli --version ={version} --force`",
            test_runner.display()
        ));
    }
    Ok((wasm_bindgen, test_runner))
}

/// `npm install` in `www/` when `node_modules` is missing or older than the
/// lock file. Not `npm ci`: npm records only this platform's optional packages
/// of rollup (Vite's bundler) in the lock file and `npm ci` then refuses it,
/// while `npm install` installs the locked versions.
fn npm_dev_dependencies() -> Result<PathBuf, String> {
    let node = find_tool(Some("NODE"), &["node"])
        .ok_or("Node.js 18 or newer is needed (for esbuild, wasm-opt and the package tests): install it, e.g. `apt-get install nodejs npm`")?;
    let www = util::root().join("www");
    let lock = www.join("package-lock.json");
    let stamp = www.join("node_modules/.package-lock.json");
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = matches!((modified(&lock), modified(&stamp)), (Some(l), Some(s)) if s >= l);
    if !fresh {
        let npm =
            find_tool(Some("NPM"), &["npm"]).ok_or("npm is needed: install it beside Node.js")?;
        run_cmd(
            Command::new(npm)
                .args(["install", "--no-audit", "--no-fund"])
                .current_dir(&www),
        )?;
    }
    Ok(node)
}

/// Chromium and chromedriver: `$CHROME` / `$CHROMEDRIVER`, else on PATH, else
/// Debian's packages when running as root.
fn browser() -> Result<(PathBuf, PathBuf), String> {
    const CHROMES: [&str; 4] = [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ];
    let find = || {
        (
            find_tool(Some("CHROME"), &CHROMES),
            find_tool(Some("CHROMEDRIVER"), &["chromedriver"]),
        )
    };
    if let (Some(chrome), Some(driver)) = find() {
        return Ok((chrome, driver));
    }
    let is_root = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if is_root && find_tool(None, &["apt-get"]).is_some() {
        println!("setup: installing Chromium and chromedriver from Debian's packages");
        run_cmd(
            Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        run_cmd(
            Command::new("apt-get")
                .args([
                    "install",
                    "-y",
                    "--no-install-recommends",
                    "chromium",
                    "chromium-driver",
                ])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
        if let (Some(chrome), Some(driver)) = find() {
            return Ok((chrome, driver));
        }
    }
    Err(
        "the browser tests need Chromium and a matching chromedriver: install them \
         (Debian: `apt-get install chromium chromium-driver`) or point CHROME and \
         CHROMEDRIVER at the executables"
            .to_owned(),
    )
}

/// Python 3 with venv and pip, for the tests that install a pinned package
/// from PyPI (pydicom, the `aura-uploader` client). Debian splits venv off
/// into `python3-venv`: installed when missing and running as root. Not
/// fatal here: those tests fail with their own message.
fn python_venv() {
    let python = find_tool(Some("PYTHON"), &["python3", "python"]);
    let ready = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", "import venv, ensurepip"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python.as_ref().is_some_and(ready) {
        return;
    }
    let is_root = output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0");
    if is_root && find_tool(None, &["apt-get"]).is_some() {
        println!("setup: installing Python 3 with venv and pip from Debian's packages");
        let installed = run_cmd(
            Command::new("apt-get")
                .arg("update")
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
        .and_then(|()| {
            run_cmd(
                Command::new("apt-get")
                    .args([
                        "install",
                        "-y",
                        "--no-install-recommends",
                        "python3",
                        "python3-venv",
                        "python3-pip",
                    ])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        });
        if let Err(e) = installed {
            println!("setup: warning: {e}");
        }
        let python = find_tool(Some("PYTHON"), &["python3", "python"]);
        if python.as_ref().is_some_and(ready) {
            return;
        }
    }
    println!(
        "setup: warning: Python 3 with venv is missing; the tests that use pydicom and the \
         aura-uploader client will fail (Debian: `apt-get install python3-venv python3-pip`)"
    );
}
