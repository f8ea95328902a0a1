//! Interop: the official `tus-js-client` (npm, in Node) uploads through our
//! `/files/` endpoint with a real lift token, in 256 KiB chunks, and a second
//! client instance resumes an upload a first one stopped, from its URL. The
//! stored bytes must be identical to the file.
//!
//! Needs Node 18+ (`NODE` names another) and `npm install` in `www/` (done
//! by `cargo xtask setup`); fails with a message saying so otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::process::{find_tool, run, workspace_root};
use common::{make_zip, sha256_hex, Live};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tus_js_client_uploads_byte_exact_and_resumes_from_the_upload_url() {
    let node = find_tool("NODE", &["node"])
        .expect("Node.js 18+ is needed for this test: install it or set NODE");
    let www = workspace_root().join("www");
    assert!(
        www.join("node_modules/tus-js-client/package.json")
            .is_file(),
        "tus-js-client is not installed: run `cargo xtask setup` (npm install in www/)"
    );

    let live = Live::start(|_| {}).await;
    let (_, config) = live.token_and_config().await;
    let endpoint = config["lift"]["endpoint"].as_str().unwrap().to_owned();
    let lift = config["lift"]["token"].as_str().unwrap().to_owned();
    assert!(endpoint.starts_with(&live.base_url()), "{endpoint}");

    // A zip of 48 stored entries of 96 KiB: 4.5 MiB, 19 chunks of 256 KiB.
    let data = make_zip(48, 96 * 1024);
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("study.zip");
    std::fs::write(&file, &data).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/tus_js_client.mjs");
    let mut cmd = Command::new(node);
    cmd.arg(&script)
        .env("TUS_ENDPOINT", &endpoint)
        .env("LIFT_TOKEN", &lift)
        .env("UPLOAD_FILE", &file)
        .env("AURALOADER_WWW", &www);
    let output = tokio::task::spawn_blocking(move || {
        run(
            &mut cmd,
            "run tus-js-client in Node",
            Duration::from_secs(180),
        )
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("{e}"));
    let seen: Value = serde_json::from_str(output.stdout.trim())
        .unwrap_or_else(|e| panic!("script output is not JSON ({e}): {}", output.stdout));
    assert_eq!(seen["size"], data.len());
    let offset = seen["resumed"]["offset"].as_u64().unwrap();
    assert!(offset > 0 && offset < data.len() as u64, "{seen}");

    let id_of = |url: &Value| {
        url.as_str()
            .unwrap()
            .strip_prefix(&format!("{}/files/", live.base_url()))
            .unwrap_or_else(|| panic!("upload url {url} is not under our /files/"))
            .to_owned()
    };
    let ids = [id_of(&seen["whole"]["url"]), id_of(&seen["resumed"]["url"])];
    assert_ne!(ids[0], ids[1]);
    let sha = sha256_hex(&data);
    let dev = live.dev_uploads().await;
    for id in &ids {
        let stored = std::fs::read(live.dir.path().join("uploads").join(id)).unwrap();
        assert!(stored == data, "upload {id} differs from the file");
        let record = dev["uploads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == id.as_str())
            .unwrap_or_else(|| panic!("upload {id} not listed: {dev}"));
        assert_eq!(record["state"], "complete", "{record}");
        assert_eq!(record["verified"], true, "{record}");
        assert_eq!(record["sha256"], sha.as_str(), "{record}");
        assert_eq!(record["entry_count"], 48, "{record}");
        assert_eq!(record["upload_id"], "tus-js-client-0001", "{record}");
        assert_eq!(
            record["study_uid"], "1.2.826.0.1.3680043.10.1234.1",
            "{record}"
        );
    }
    live.stop().await;
}
