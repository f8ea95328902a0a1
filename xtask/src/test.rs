//! `cargo xtask test`: every check the project has, in one command. Each step
//! runs even when an earlier one failed (so one run shows every problem), and
//! the last line sums the tests of all steps. `--only` picks steps.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::build::{self, Options};
use crate::setup::{self, Need, Tools};
use crate::util::{self, describe};

/// What one step did: the tests it counted, and why it failed if it did.
struct Step {
    counts: Counts,
    error: Option<String>,
}

/// Tests counted in a step's output.
#[derive(Default, Clone, Copy)]
struct Counts {
    passed: u64,
    failed: u64,
}

/// Usage of `cargo xtask test`.
pub const USAGE: &str = "usage: cargo xtask test [--only STEP[,STEP...]]

Runs every step (each even when an earlier one failed) and sums the tests.
--only runs the named steps alone (the build comes along when a step needs it):
  fmt       cargo fmt --check
  clippy    clippy, native and wasm32, -D warnings
  native    cargo test --workspace
  wasm      the wasm-bindgen-test suites in headless Chromium
  build     cargo xtask build
  node      the package tests in Node (tests/node)
  demo      the demo page in headless Chromium (tests/e2e/demo_flow.mjs)
  e2e       the end-to-end suite in headless Chromium (tests/e2e/*.test.mjs)";

/// The steps, by the names `--only` takes, in the order they run.
const STEPS: [&str; 8] = [
    "fmt", "clippy", "native", "wasm", "build", "node", "demo", "e2e",
];

/// Which steps to run.
#[derive(Debug, PartialEq, Eq)]
struct Selection(Vec<&'static str>);

impl Selection {
    fn from_args(args: &[String]) -> Result<Self, String> {
        let mut args = args.iter();
        let mut only: Option<Vec<&'static str>> = None;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--only" => {
                    let list = args
                        .next()
                        .ok_or_else(|| format!("--only needs a step name\n\n{USAGE}"))?;
                    let mut chosen = only.take().unwrap_or_default();
                    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        let known = STEPS.iter().find(|s| **s == name).ok_or_else(|| {
                            format!("unknown step {name:?}: one of {}", STEPS.join(", "))
                        })?;
                        chosen.push(known);
                    }
                    only = Some(chosen);
                }
                other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
            }
        }
        Ok(Self(only.unwrap_or_else(|| STEPS.to_vec())))
    }

    fn wants(&self, step: &str) -> bool {
        self.0.contains(&step)
    }

    /// Whether `dist/` must be built: for the build itself and every step
    /// that runs on it.
    fn needs_build(&self) -> bool {
        ["build", "node", "demo", "e2e"]
            .iter()
            .any(|s| self.wants(s))
    }
}

/// Runs the steps chosen by `args` (every step without `--only`) and prints
/// the summary line.
pub fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let selection = Selection::from_args(args)?;
    let tools = setup::run(Need::Everything)?;
    let root = util::root();
    // Every temp file of the steps goes into one folder, removed at the end:
    // chromedriver leaves a ~50 MiB browser profile in the temp dir for each
    // wasm test binary it ran, and Chromium its singleton folders.
    let scratch =
        std::env::temp_dir().join(format!("auraloader-xtask-test-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| format!("could not create {}: {e}", scratch.display()))?;
    let outer_tmpdir = std::env::var_os("TMPDIR");
    std::env::set_var("TMPDIR", &scratch);
    let mut steps: Vec<(&str, Step, Duration)> = Vec::new();
    let mut timed = |name: &'static str, run: &mut dyn FnMut() -> Step| {
        let started = Instant::now();
        let step = run();
        steps.push((name, step, started.elapsed()));
    };

    if selection.wants("fmt") {
        timed("fmt", &mut || {
            let mut fmt = util::cargo();
            fmt.args(["fmt", "--all", "--", "--check"]);
            step(&mut fmt, &root)
        });
    }

    if selection.wants("clippy") {
        timed("clippy", &mut || {
            let mut clippy = util::cargo();
            clippy.args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]);
            step(&mut clippy, &root)
        });
        timed("clippy (wasm)", &mut || {
            let mut clippy_wasm = util::cargo();
            clippy_wasm.args([
                "clippy",
                "--package",
                "auraloader",
                "--all-targets",
                "--features",
                "bench-api",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ]);
            step(&mut clippy_wasm, &root)
        });
        timed("clippy (wasm, product)", &mut || {
            // The product alone, without the bench entry points: nothing
            // in it may be left unused.
            let mut clippy_product = util::cargo();
            clippy_product.args([
                "clippy",
                "--package",
                "auraloader",
                "--lib",
                "--target",
                "wasm32-unknown-unknown",
                "--",
                "-D",
                "warnings",
            ]);
            step(&mut clippy_product, &root)
        });
    }

    if selection.wants("native") {
        timed("native tests", &mut || {
            let mut native = util::cargo();
            native.args(["test", "--workspace"]);
            step(&mut native, &root)
        });
    }

    if selection.wants("wasm") {
        timed("wasm tests (headless Chromium)", &mut || {
            wasm_tests(&tools, &root)
        });
    }

    let mut build_ok = false;
    if selection.needs_build() {
        timed("build", &mut || {
            // The product, and the bench and test build whose extra JS
            // entry points some package tests drive.
            let built = build::build(&tools, &Options::PRODUCT)
                .and_then(|()| build::build(&tools, &Options::BENCH));
            build_ok = built.is_ok();
            Step {
                counts: Counts::default(),
                error: built.err(),
            }
        });
    }
    let not_built = || Step {
        counts: Counts::default(),
        error: Some("not run: the build failed".to_owned()),
    };

    if selection.wants("node") {
        timed("package tests (Node)", &mut || {
            if !build_ok {
                return not_built();
            }
            let mut node = Command::new(&tools.node);
            node.args(["--test", "--test-reporter=tap"])
                .arg(root.join("tests/node"))
                .env("AURALOADER_DIST", root.join("dist"))
                .env("AURALOADER_BENCH_DIST", build::bench_dist(&root));
            // tests/node/tus.test.mjs uploads to the dev server too.
            match crate::serve::build_server() {
                Ok(server) => {
                    node.env("AURALOADER_SERVER", server);
                }
                Err(e) => println!("the dev server did not build, its tus test is skipped: {e}"),
            }
            if let Some(chrome) = &tools.chrome {
                node.env("CHROME", chrome);
            }
            step(&mut node, &root)
        });
    }

    if selection.wants("demo") {
        timed("demo page (headless Chromium)", &mut || {
            if build_ok {
                demo_smoke(&tools, &root)
            } else {
                not_built()
            }
        });
    }

    if selection.wants("e2e") {
        timed("end-to-end (headless Chromium)", &mut || {
            if build_ok {
                e2e_tests(&tools, &root)
            } else {
                not_built()
            }
        });
    }

    let mut total = Counts::default();
    let mut failed_steps = Vec::new();
    println!("\nxtask test steps:");
    for (name, step, took) in &steps {
        total.passed += step.counts.passed;
        total.failed += step.counts.failed;
        let tests = format!(
            "{} passed, {} failed; {:.0} s",
            step.counts.passed,
            step.counts.failed,
            took.as_secs_f64()
        );
        match &step.error {
            None => println!("  ok    {name} ({tests})"),
            Some(why) => {
                // A step that failed without a failing test (fmt, clippy, a
                // crash) still counts as one failure.
                if step.counts.failed == 0 {
                    total.failed += 1;
                }
                failed_steps.push(*name);
                println!("  FAIL  {name} ({tests}): {why}");
            }
        }
    }
    println!("summary: {} passed, {} failed", total.passed, total.failed);
    match outer_tmpdir {
        Some(dir) => std::env::set_var("TMPDIR", dir),
        None => std::env::remove_var("TMPDIR"),
    }
    if let Err(e) = std::fs::remove_dir_all(&scratch) {
        println!("could not remove {}: {e}", scratch.display());
    }
    if failed_steps.is_empty() {
        Ok(())
    } else {
        Err(format!("failed: {}", failed_steps.join(", ")))
    }
}

/// The end-to-end files that run after all others, in this order.
const E2E_LAST: [&str; 2] = ["reload.test.mjs", "big.test.mjs"];

/// Runs the end-to-end suite, `tests/e2e/*.test.mjs` (its harness is
/// `tests/e2e/harness.mjs`), with Node's test runner, one file at a time
/// (the heavy ones last, see [`E2E_LAST`]):
/// each file starts the dev server (built here) on a free loopback port
/// with a temp data dir, generates its fixtures with this xtask's
/// `gen-study` into temp dirs and removes them, and drives the built
/// widget in the machine's Chromium with playwright-core.
fn e2e_tests(tools: &Tools, root: &Path) -> Step {
    let failed = |error: String| Step {
        counts: Counts::default(),
        error: Some(error),
    };
    let Some(chrome) = &tools.chrome else {
        return failed("Chromium missing".to_owned());
    };
    let server = match crate::serve::build_server() {
        Ok(server) => server,
        Err(e) => return failed(e),
    };
    let xtask = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return failed(format!("cannot find the xtask binary for gen-study: {e}")),
    };
    let dir = root.join("tests/e2e");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
            .collect(),
        Err(e) => return failed(format!("cannot list {}: {e}", dir.display())),
    };
    // The files that write hundreds of MiB run last, so that the disk they
    // keep busy does not slow the fsyncs of the others.
    files.sort_by_key(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let heavy = name
            .as_deref()
            .and_then(|n| E2E_LAST.iter().position(|last| *last == n));
        (heavy, p.clone())
    });
    if files.is_empty() {
        return failed(format!("no *.test.mjs in {}", dir.display()));
    }
    // One run of Node's test runner per file, in this order (given several
    // files, it sorts them by name).
    let mut total = Step {
        counts: Counts::default(),
        error: None,
    };
    let mut failed_files = Vec::new();
    for file in &files {
        let mut node = Command::new(&tools.node);
        node.args([
            "--test",
            "--test-reporter=tap",
            // A bound per test against a hang the tests' own waits miss.
            "--test-timeout=1200000",
        ])
        .arg(file)
        .env("AURALOADER_DIST", root.join("dist"))
        .env("AURALOADER_SERVER", &server)
        .env("AURALOADER_XTASK", &xtask)
        .env("CHROME", chrome);
        let done = step(&mut node, root);
        total.counts.passed += done.counts.passed;
        total.counts.failed += done.counts.failed;
        if let Some(why) = done.error {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            failed_files.push(format!("{}: {why}", name.unwrap_or_default()));
        }
    }
    if !failed_files.is_empty() {
        total.error = Some(failed_files.join("; "));
    }
    total
}

/// Runs the widget's `wasm-bindgen-test` suites (`tests/web.rs`,
/// `tests/scan_web.rs`, `tests/tus_web.rs`, `tests/prepare_web.rs`,
/// `tests/ui_web.rs`, `tests/a11y_web.rs` with axe-core) in headless Chromium.
fn wasm_tests(tools: &Tools, root: &Path) -> Step {
    let (Some(chrome), Some(driver)) = (&tools.chrome, &tools.chromedriver) else {
        return Step {
            counts: Counts::default(),
            error: Some("Chromium or chromedriver missing".to_owned()),
        };
    };
    // wasm-bindgen-test-runner reads extra WebDriver capabilities from
    // ./webdriver.json; it is generated (and git-ignored) because it names
    // this machine's Chromium.
    let args: Vec<String> = CHROME_FLAGS.iter().map(|f| json_string(f)).collect();
    let capabilities = format!(
        r#"{{"goog:chromeOptions":{{"binary":{},"args":[{}]}}}}"#,
        json_string(&chrome.to_string_lossy()),
        args.join(",")
    );
    if let Err(error) = util::write(&root.join("webdriver.json"), capabilities) {
        return Step {
            counts: Counts::default(),
            error: Some(error),
        };
    }
    let mut cargo = util::cargo();
    cargo
        .args([
            "test",
            "--package",
            "auraloader",
            "--target",
            "wasm32-unknown-unknown",
            "--test",
            "web",
            "--test",
            "scan_web",
            "--test",
            "tus_web",
            "--test",
            "prepare_web",
            "--test",
            "ui_web",
            "--test",
            "a11y_web",
            // scan_web and prepare_web drive the bench entry points too.
            "--features",
            "bench-api",
        ])
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            &tools.test_runner,
        )
        .env("CHROMEDRIVER", driver)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
    step(&mut cargo, root)
}

/// Runs the dev server with the built demo page and loads it in headless
/// Chromium: the page gets a token through `/demo/upload-token` (a real HMAC
/// exchange), and the script-tag widget must initialise and mount. Then
/// `tests/e2e/demo_flow.mjs` drives the page through the sample study.
fn demo_smoke(tools: &Tools, root: &Path) -> Step {
    let failed = |error: String| Step {
        counts: Counts::default(),
        error: Some(error),
    };
    let Some(chrome) = &tools.chrome else {
        return failed("Chromium missing".to_owned());
    };
    let server = match crate::serve::build_server() {
        Ok(server) => server,
        Err(e) => return failed(e),
    };
    let port = match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => return failed(format!("no free port on 127.0.0.1: {e}")),
    };
    let addr = format!("127.0.0.1:{port}");
    let scratch =
        std::env::temp_dir().join(format!("auraloader-demo-smoke-{}", std::process::id()));
    let mut cmd =
        crate::serve::server_command(&server, &addr, &scratch.join("data"), &root.join("dist"));
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    println!("\n$ {}", describe(&cmd));
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return failed(format!("could not start the dev server: {e}")),
    };
    let result = load_demo(chrome, &addr, &scratch);
    // Then the whole flow in the same page with playwright-core: axe-core,
    // the sample study, keyboard, the lifecycle on the server, the console.
    let flow = result.is_ok().then(|| {
        let mut node = Command::new(&tools.node);
        node.arg(root.join("tests/e2e/demo_flow.mjs"))
            .arg(format!("http://{addr}/"))
            .env("CHROME", chrome);
        step(&mut node, root)
    });
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&scratch);
    match (result, flow) {
        (Ok(()), Some(flow)) => Step {
            counts: Counts {
                passed: 1 + flow.counts.passed,
                failed: flow.counts.failed,
            },
            error: flow.error,
        },
        (Ok(()), None) => Step {
            counts: Counts {
                passed: 1,
                failed: 0,
            },
            error: None,
        },
        (Err(e), _) => Step {
            counts: Counts {
                passed: 0,
                failed: 1,
            },
            error: Some(e),
        },
    }
}

fn load_demo(chrome: &Path, addr: &str, scratch: &Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            return Err(format!(
                "the dev server did not listen on {addr} within 30 s"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut cmd = Command::new(chrome);
    cmd.args(CHROME_FLAGS)
        .arg(format!(
            "--user-data-dir={}",
            scratch.join("chrome").display()
        ))
        .args(["--virtual-time-budget=15000", "--dump-dom"])
        .arg(format!("http://{addr}/"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    println!("\n$ {}", describe(&cmd));
    let dom = run_with_timeout(&mut cmd, std::time::Duration::from_secs(90))?;
    let mounted = dom.contains(r#"data-auraloader="mounted""#);
    let rendered = dom.contains("Upload imaging studies");
    let got_token = dom.contains("got an upload token from the demo backend");
    println!("demo page: token={got_token} mounted={mounted} rendered={rendered}");
    if mounted && rendered && got_token {
        return Ok(());
    }
    let log = dom
        .split("<pre id=\"log\"")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or("(no event log in the page)");
    Err(format!("the widget did not mount; the page's log: {log}"))
}

/// Headless Chromium flags for this sandbox: no sandboxing (root), no GPU, and
/// no background connections (the network outside loopback is closed).
const CHROME_FLAGS: [&str; 8] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// Runs a command with piped stdout, killing it after `limit`.
fn run_with_timeout(cmd: &mut Command, limit: std::time::Duration) -> Result<String, String> {
    let shown = describe(cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut out) = stdout {
            let _ = std::io::Read::read_to_string(&mut out, &mut text);
        }
        text
    });
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < limit => {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{shown}` did not finish within {} s",
                    limit.as_secs()
                ));
            }
        }
    }
    reader
        .join()
        .map_err(|_| format!("could not read the output of `{shown}`"))
}

fn json_string(s: &str) -> String {
    let escaped: String = s
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

/// Runs a command, echoing its stdout while counting test results in it
/// (cargo's `test result:` lines and node's TAP `# pass` / `# fail`).
fn step(cmd: &mut Command, dir: &Path) -> Step {
    let shown = describe(cmd);
    println!("\n$ {shown}");
    let mut counts = Counts::default();
    let mut child = match cmd.current_dir(dir).stdout(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) => {
            return Step {
                counts,
                error: Some(format!("could not start `{shown}`: {e}")),
            }
        }
    };
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            count_line(&line, &mut counts);
        }
    }
    let error = match child.wait() {
        Ok(status) if status.success() => None,
        Ok(status) => Some(format!("exited with {status}")),
        Err(e) => Some(format!("`{shown}` did not finish: {e}")),
    };
    Step { counts, error }
}

fn count_line(line: &str, counts: &mut Counts) {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("test result:") {
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = number.parse::<u64>() else {
                continue;
            };
            match label {
                "passed" => counts.passed += n,
                "failed" => counts.failed += n,
                _ => {}
            }
        }
    } else if let Some(n) = line
        .strip_prefix("# pass ")
        .and_then(|n| n.parse::<u64>().ok())
    {
        counts.passed += n;
    } else if let Some(n) = line
        .strip_prefix("# fail ")
        .and_then(|n| n.parse::<u64>().ok())
    {
        counts.failed += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn runs_every_step_unless_told_which() {
        let all = Selection::from_args(&[]).unwrap();
        assert!(STEPS.iter().all(|s| all.wants(s)));
        let only = Selection::from_args(&args(&["--only", "e2e"])).unwrap();
        assert_eq!(only, Selection(vec!["e2e"]));
        assert!(only.needs_build(), "the suite runs on dist/");
        assert!(!only.wants("native"));
        let some = Selection::from_args(&args(&["--only", "fmt,clippy"])).unwrap();
        assert_eq!(some, Selection(vec!["fmt", "clippy"]));
        assert!(!some.needs_build());
        assert!(Selection::from_args(&args(&["--only", "e2"])).is_err());
        assert!(Selection::from_args(&args(&["--only"])).is_err());
        assert!(Selection::from_args(&args(&["--fast"])).is_err());
    }

    #[test]
    fn counts_cargo_and_tap_lines() {
        let mut counts = Counts::default();
        for line in [
            "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test result: FAILED. 3 passed; 2 failed; 0 ignored",
            "# pass 4",
            "# fail 1",
            "running 3 tests",
        ] {
            count_line(line, &mut counts);
        }
        assert_eq!(counts.passed, 19);
        assert_eq!(counts.failed, 3);
    }
}
