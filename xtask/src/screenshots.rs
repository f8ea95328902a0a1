//! `cargo xtask screenshots`: refreshes the screenshots committed under
//! `docs/screenshots/` (the README's gallery). Builds `dist/` and the dev
//! server, then runs only `tests/e2e/screenshots.test.mjs` with
//! `AURALOADER_UPDATE_SCREENSHOTS=1`: the file shoots every step of the
//! widget in both themes into `target/e2e-screenshots/` and copies the set
//! to `docs/screenshots/`. The same file runs, without copying, in the
//! end-to-end step of `cargo xtask test`.

use std::process::Command;

use crate::build::{self, Options};
use crate::setup::{self, Need};
use crate::util::{self, run_cmd};

/// Usage of `cargo xtask screenshots`.
pub const USAGE: &str = "usage: cargo xtask screenshots

Builds dist/ and the dev server, shoots every step of the widget in the light
and dark theme (tests/e2e/screenshots.test.mjs) into target/e2e-screenshots/
and copies them to docs/screenshots/, the README's gallery. Look at them
before committing.";

/// Runs the command.
pub fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    if let Some(other) = args.first() {
        return Err(format!("unknown option {other:?}\n\n{USAGE}"));
    }
    let tools = setup::run(Need::Everything)?;
    let chrome = tools
        .chrome
        .clone()
        .ok_or("Chromium is missing: set CHROME to its executable")?;
    build::build(&tools, &Options::PRODUCT)?;
    let server = crate::serve::build_server()?;
    let xtask = std::env::current_exe()
        .map_err(|e| format!("cannot find the xtask binary for gen-study: {e}"))?;
    let root = util::root();
    run_cmd(
        Command::new(&tools.node)
            .args(["--test", "--test-reporter=spec"])
            .arg(root.join("tests/e2e/screenshots.test.mjs"))
            .current_dir(&root)
            .env("AURALOADER_DIST", root.join("dist"))
            .env("AURALOADER_SERVER", &server)
            .env("AURALOADER_XTASK", &xtask)
            .env("AURALOADER_UPDATE_SCREENSHOTS", "1")
            .env("CHROME", chrome),
    )?;
    println!(
        "screenshots copied to {}: look at each before committing",
        root.join("docs/screenshots").display()
    );
    Ok(())
}
