//! Interop: the published Python client, `aura-uploader` from PyPI, against
//! the running server: `exchange_token`, `submit`, `withdraw`, and the errors
//! it raises for a bad id, an unknown transfer and a wrong secret.
//!
//! The client is installed once, pinned, into a venv cached under cargo's
//! target dir (`target/tmp/aura-uploader-<version>`), so reruns are fast.
//! Without `python3 -m venv` (Debian's `python3-venv` missing; `cargo xtask
//! setup` installs it when run as root) it falls back to `pip install
//! --target`. It fails, never skips, when Python or PyPI is unavailable.
//! `PYTHON` names another Python 3.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::process::{find_tool, run};
use common::Live;
use serde_json::Value;

/// The release of the client that is tested.
const CLIENT_VERSION: &str = "1.1.0";
/// How long creating the venv and installing the client may take.
const INSTALL_LIMIT: Duration = Duration::from_secs(300);
/// How long the script may take.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

/// How to run a Python that can `import aura_uploader`.
struct Client {
    python: PathBuf,
    /// Set for a `pip install --target` folder.
    pythonpath: Option<PathBuf>,
}

impl Client {
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.python);
        if let Some(path) = &self.pythonpath {
            cmd.env("PYTHONPATH", path);
        }
        cmd.env("PYTHONDONTWRITEBYTECODE", "1");
        cmd
    }

    /// Whether this installation imports the pinned version.
    fn is_ready(&self) -> bool {
        let check = format!(
            "from importlib.metadata import version; import aura_uploader.client; \
             assert version('aura-uploader') == '{CLIENT_VERSION}'"
        );
        self.command()
            .args(["-c", &check])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// Installs the client into a new folder beside `cached` and renames it into
/// place, so an interrupted install is never reused.
fn install(python: &Path, cached: &Path) -> Result<Client, String> {
    let mut staging = cached.as_os_str().to_owned();
    staging.push(format!(".partial-{}", std::process::id()));
    let staging = PathBuf::from(staging);
    let _ = std::fs::remove_dir_all(&staging);
    let pin = format!("aura-uploader=={CLIENT_VERSION}");
    let pip_flags = ["--no-input", "--disable-pip-version-check", "--quiet"];
    let venv = run(
        Command::new(python).args(["-m", "venv"]).arg(&staging),
        "create a venv with `python3 -m venv`",
        INSTALL_LIMIT,
    );
    let result = match venv {
        Ok(_) => run(
            Command::new(venv_python(&staging))
                .args(["-m", "pip", "install"])
                .args(pip_flags)
                .arg(&pin),
            &format!("pip install {pin} from PyPI into the venv"),
            INSTALL_LIMIT,
        )
        .map(|_| true),
        Err(venv_error) => {
            let _ = std::fs::remove_dir_all(&staging);
            run(
                Command::new(python)
                    .args(["-m", "pip", "install"])
                    .args(pip_flags)
                    .arg("--target")
                    .arg(&staging)
                    .arg(&pin),
                &format!("pip install --target {pin} from PyPI"),
                INSTALL_LIMIT,
            )
            .map(|_| false)
            .map_err(|pip_error| {
                format!(
                    "{venv_error}\n\nand the fallback failed too: {pip_error}\n\n\
                     install Python 3 with venv and pip (Debian: `apt-get install python3-venv \
                     python3-pip`, or `cargo xtask setup` as root) and make sure PyPI is reachable"
                )
            })
        }
    };
    let is_venv = match result {
        Ok(is_venv) => is_venv,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let _ = std::fs::remove_dir_all(cached);
    std::fs::rename(&staging, cached)
        .map_err(|e| format!("cannot move the client install into place: {e}"))?;
    Ok(if is_venv {
        Client {
            python: venv_python(cached),
            pythonpath: None,
        }
    } else {
        Client {
            python: python.to_owned(),
            pythonpath: Some(cached.to_owned()),
        }
    })
}

/// The cached install when it is whole, else a new one.
fn client() -> Result<Client, String> {
    let python = find_tool("PYTHON", &["python3", "python"])
        .ok_or("Python 3 is needed for this test: install python3 or set PYTHON")?;
    let cached =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("aura-uploader-{CLIENT_VERSION}"));
    let venv = Client {
        python: venv_python(&cached),
        pythonpath: None,
    };
    if venv.python.is_file() && venv.is_ready() {
        return Ok(venv);
    }
    let target = Client {
        python: python.clone(),
        pythonpath: Some(cached.clone()),
    };
    if cached.is_dir() && target.is_ready() {
        return Ok(target);
    }
    let client = install(&python, &cached)?;
    if !client.is_ready() {
        return Err(format!(
            "aura-uploader {CLIENT_VERSION} was installed into {} but does not import",
            cached.display()
        ));
    }
    Ok(client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_python_client_exchanges_submits_and_withdraws() {
    let client = tokio::task::spawn_blocking(client)
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("cannot install the Python client aura-uploader: {e}"));
    let live = Live::start(|_| {}).await;
    let demo = live.state().demo_credentials().clone();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/aura_uploader_client.py");
    let mut cmd = client.command();
    cmd.arg(&script)
        .env("AURA_BASE_URL", live.base_url())
        .env("AURA_APP_ID", &demo.app_id)
        .env("AURA_APP_SECRET", &demo.app_secret)
        .env("AURA_API_KEY", &demo.api_key);
    let output = tokio::task::spawn_blocking(move || {
        run(&mut cmd, "run the Python client script", SCRIPT_LIMIT)
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("{e}"));
    let seen: Value = serde_json::from_str(output.stdout.trim())
        .unwrap_or_else(|e| panic!("script output is not JSON ({e}): {}", output.stdout));
    assert_eq!(seen["client_version"], CLIENT_VERSION);
    assert_eq!(seen["token_prefix"], "aubt_");
    assert_eq!(seen["submit"], "submitted");
    assert_eq!(seen["withdraw"], "withdrawn");

    // The server recorded what the client did, in order.
    let dev = live.dev_uploads().await;
    let session = dev["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["upload_id"] == "py-client-0001")
        .unwrap_or_else(|| panic!("no session for the client's upload id: {dev}"));
    assert_eq!(session["status"], "withdrawn", "{session}");
    assert_eq!(session["app_id"], demo.app_id.as_str());
    let kinds: Vec<&str> = session["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["submit", "withdraw"], "{session}");
    assert_eq!(session["events"][1]["message"], "test withdrawal");
    live.stop().await;
}
