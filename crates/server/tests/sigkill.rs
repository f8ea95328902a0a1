//! The server binary killed with SIGKILL in the middle of a PATCH, then
//! restarted on the same data dir: no acknowledged byte is lost and the
//! client resumes to a byte-exact, verified zip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use common::make_zip;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::timeout;

/// A running `auraloader-server` and what it printed on start.
struct Server {
    child: Child,
    addr: SocketAddr,
    api_key: Option<String>,
}

/// Starts the binary on a free loopback port over `data_dir` and waits (at
/// most 30 s) for its "listening" line on stdout.
async fn spawn(data_dir: &std::path::Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auraloader-server"))
        .args(["--addr", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut api_key = None;
    let addr = timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(key) = line.trim().strip_prefix("SERVICE_API_KEY=") {
                api_key = Some(key.to_owned());
            }
            if let Some(rest) = line.strip_prefix("auraloader-server: http://") {
                return rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        }
        panic!("server exited before listening");
    })
    .await
    .expect("server listening within 30 s");
    Server {
        child,
        addr,
        api_key,
    }
}

/// One request on its own connection; returns status, headers and body.
async fn http(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, Vec<(String, String)>, String) {
    let mut stream = timeout(Duration::from_secs(10), TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let request = format!(
        "{head}\r\nHost: {addr}\r\nTus-Resumable: 1.0.0\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn header(headers: &[(String, String)], name: &str) -> String {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} header"))
}

async fn offset(addr: SocketAddr, path: &str, auth: &str) -> usize {
    let (status, headers, _) = http(addr, &format!("HEAD {path} HTTP/1.1\r\n{auth}"), b"").await;
    assert_eq!(status, 200);
    header(&headers, "upload-offset").parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_patch_loses_no_acknowledged_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = spawn(dir.path()).await;
    let addr = server.addr;
    let api_key = server
        .api_key
        .clone()
        .expect("first start prints the api key");

    let (status, _, body) = http(addr, "POST /demo/upload-token HTTP/1.1", b"").await;
    assert_eq!(status, 200, "{body}");
    let token: Value = serde_json::from_str(&body).unwrap();
    let token = token["token"].as_str().unwrap();
    let (status, _, body) = http(
        addr,
        &format!(
            "GET /api/uploader/config HTTP/1.1\r\nAuthorization: Bearer {token}\r\nX-Api-Key: {api_key}"
        ),
        b"",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let config: Value = serde_json::from_str(&body).unwrap();
    let auth = format!(
        "Authorization: Bearer {}",
        config["lift"]["token"].as_str().unwrap()
    );

    let data = make_zip(96, 64 * 1024);
    let (status, headers, _) = http(
        addr,
        &format!(
            "POST /files/ HTTP/1.1\r\n{auth}\r\nUpload-Length: {}",
            data.len()
        ),
        b"",
    )
    .await;
    assert_eq!(status, 201);
    let location = header(&headers, "location");
    let path = location.split_once(&addr.to_string()).unwrap().1.to_owned();
    let patch_head = |offset: usize| {
        format!(
            "PATCH {path} HTTP/1.1\r\n{auth}\r\nUpload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream"
        )
    };

    // One acknowledged chunk.
    let acked = data.len() / 3;
    let (status, headers, _) = http(addr, &patch_head(0), &data[..acked]).await;
    assert_eq!(status, 204);
    assert_eq!(header(&headers, "upload-offset"), acked.to_string());

    // A second PATCH is half sent when the server is killed.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let rest = &data[acked..];
    let request = format!(
        "{}\r\nHost: {addr}\r\nTus-Resumable: 1.0.0\r\nContent-Length: {}\r\n\r\n",
        patch_head(acked),
        rest.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(&rest[..rest.len() / 2]).await.unwrap();
    // Wait (at most 10 s) until the server has written some of it, so the
    // kill lands mid-PATCH with unacknowledged bytes on disk.
    let file = dir
        .path()
        .join("uploads")
        .join(path.strip_prefix("/files/").unwrap());
    let written = |file: &std::path::Path| std::fs::metadata(file).map_or(0, |m| m.len());
    let started = std::time::Instant::now();
    while written(&file) <= acked as u64 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server wrote none of the second PATCH within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().await.unwrap();
    drop(stream);

    let server = spawn(dir.path()).await;
    assert!(
        server.api_key.is_none(),
        "credentials are printed on the first start only"
    );
    let addr = server.addr;
    let id = path.strip_prefix("/files/").unwrap();
    let on_disk = std::fs::read(dir.path().join("uploads").join(id)).unwrap();
    assert_eq!(
        on_disk.len(),
        acked,
        "the restart cuts unacknowledged bytes"
    );
    assert!(
        on_disk[..] == data[..acked],
        "every acknowledged byte is on disk after the restart"
    );
    let resumed_at = offset(addr, &path, &auth).await;
    assert_eq!(
        resumed_at, acked,
        "the unacknowledged half chunk is dropped, the acked bytes kept"
    );
    let (status, headers, _) = http(addr, &patch_head(resumed_at), &data[resumed_at..]).await;
    assert_eq!(status, 204);
    assert_eq!(header(&headers, "upload-offset"), data.len().to_string());
    assert!(std::fs::read(dir.path().join("uploads").join(id)).unwrap() == data);
    let (_, _, body) = http(addr, "GET /api/dev/uploads HTTP/1.1", b"").await;
    let dev: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(dev["uploads"][0]["verified"], true, "{dev}");
}
