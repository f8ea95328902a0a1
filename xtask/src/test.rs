//! `cargo xtask test`: every check the project has, in one command. Each step
//! runs even when an earlier one failed (so one run shows every problem), and
//! the last line sums the tests of all steps.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::build::{self, Options};
use crate::setup::{self, Need, Tools};
use crate::util::{self, describe};

/// Tests counted in a step's output.
#[derive(Default, Clone, Copy)]
struct Counts {
    passed: u64,
    failed: u64,
}

/// Runs every step and prints the summary line.
pub fn run() -> Result<(), String> {
    let tools = setup::run(Need::Everything)?;
    let root = util::root();
    let mut steps: Vec<(&str, Result<Counts, String>)> = Vec::new();

    let mut fmt = util::cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    steps.push(("fmt", step(&mut fmt, &root)));

    let mut clippy = util::cargo();
    clippy.args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]);
    steps.push(("clippy", step(&mut clippy, &root)));

    let mut clippy_wasm = util::cargo();
    clippy_wasm.args([
        "clippy",
        "--package",
        "auraloader",
        "--all-targets",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]);
    steps.push(("clippy (wasm)", step(&mut clippy_wasm, &root)));

    let mut native = util::cargo();
    native.args(["test", "--workspace"]);
    steps.push(("native tests", step(&mut native, &root)));

    steps.push(("wasm tests (headless Chromium)", wasm_tests(&tools, &root)));

    let built = build::build(&tools, &Options { dev: false });
    let build_ok = built.is_ok();
    steps.push(("build", built.map(|()| Counts::default())));

    if build_ok {
        let mut node = Command::new(&tools.node);
        node.args(["--test", "--test-reporter=tap"])
            .arg(root.join("tests/node"))
            .env("AURALOADER_DIST", root.join("dist"));
        steps.push(("package tests (Node)", step(&mut node, &root)));
    } else {
        steps.push(("package tests (Node)", Err("not run: the build failed".to_owned())));
    }

    let mut total = Counts::default();
    let mut failed_steps = Vec::new();
    println!("\nxtask test steps:");
    for (name, result) in &steps {
        match result {
            Ok(counts) => {
                total.passed += counts.passed;
                total.failed += counts.failed;
                println!("  ok    {name} ({} tests)", counts.passed);
            }
            Err(why) => {
                total.failed += 1;
                failed_steps.push(*name);
                println!("  FAIL  {name}: {why}");
            }
        }
    }
    println!("summary: {} passed, {} failed", total.passed, total.failed);
    if failed_steps.is_empty() {
        Ok(())
    } else {
        Err(format!("failed: {}", failed_steps.join(", ")))
    }
}

/// Runs the widget's `wasm-bindgen-test` suite in headless Chromium.
fn wasm_tests(tools: &Tools, root: &Path) -> Result<Counts, String> {
    let (Some(chrome), Some(driver)) = (&tools.chrome, &tools.chromedriver) else {
        return Err("Chromium or chromedriver missing".to_owned());
    };
    // wasm-bindgen-test-runner reads extra WebDriver capabilities from
    // ./webdriver.json; it is generated (and git-ignored) because it names
    // this machine's Chromium.
    let capabilities = format!(
        r#"{{"goog:chromeOptions":{{"binary":{},"args":["--headless=new","--no-sandbox","--disable-gpu","--disable-dev-shm-usage","--disable-background-networking","--disable-component-update","--disable-sync","--no-first-run"]}}}}"#,
        json_string(&chrome.to_string_lossy())
    );
    util::write(&root.join("webdriver.json"), capabilities)?;
    let mut cargo = util::cargo();
    cargo
        .args(["test", "--package", "auraloader", "--target", "wasm32-unknown-unknown", "--test", "web"])
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", &tools.test_runner)
        .env("CHROMEDRIVER", driver)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
    step(&mut cargo, root)
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
fn step(cmd: &mut Command, dir: &Path) -> Result<Counts, String> {
    let shown = describe(cmd);
    println!("\n$ {shown}");
    let mut child = cmd
        .current_dir(dir)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    let mut counts = Counts::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("{line}");
            count_line(&line, &mut counts);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("`{shown}` did not finish: {e}"))?;
    if status.success() {
        Ok(counts)
    } else {
        Err(format!("exited with {status}"))
    }
}

fn count_line(line: &str, counts: &mut Counts) {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("test result:") {
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(label), Some(number)) = (words.next(), words.next()) else {
                continue;
            };
            let number = number.trim_start_matches("ok.").trim_start_matches("FAILED.");
            let Ok(n) = number.parse::<u64>() else { continue };
            match label {
                "passed" => counts.passed += n,
                "failed" => counts.failed += n,
                _ => {}
            }
        }
    } else if let Some(n) = line.strip_prefix("# pass ").and_then(|n| n.parse::<u64>().ok()) {
        counts.passed += n;
    } else if let Some(n) = line.strip_prefix("# fail ").and_then(|n| n.parse::<u64>().ok()) {
        counts.failed += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
