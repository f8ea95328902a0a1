//! Concurrent tus uploads over real sockets with clients that drop their
//! connection mid-PATCH: every upload must still end byte-exact.
//!
//! The 50 uploads of 20 MiB each (75–200 s in a debug build on two
//! cores, depending on what else runs); `AURA_RELIABILITY_QUICK=1` runs 8
//! uploads of about 1 MiB while iterating.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use auraloader_server::{app, start, Config};
use axum::body::Body;
use axum::http::Request;
use common::{make_zip, read, sha256_hex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tower::ServiceExt;

/// A tiny deterministic generator (xorshift64*), one per upload.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Status and headers of a response on a `Connection: close` socket.
async fn read_response(stream: &mut TcpStream) -> (u16, Vec<(String, String)>) {
    let mut raw = Vec::new();
    timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
        .await
        .expect("response within 60 s")
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    let head = text.split("\r\n\r\n").next().unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Sends a request head plus `body`; when `cut` is set, sends only that many
/// body bytes and closes the connection, like a client whose network dropped.
async fn send(
    addr: SocketAddr,
    head: &str,
    body: &[u8],
    cut: Option<usize>,
) -> Option<(u16, Vec<(String, String)>)> {
    let mut stream = timeout(Duration::from_secs(10), TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let request = format!(
        "{head}\r\nHost: {addr}\r\nTus-Resumable: 1.0.0\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    match cut {
        Some(n) => {
            stream.write_all(&body[..n]).await.unwrap();
            drop(stream);
            None
        }
        None => {
            stream.write_all(body).await.unwrap();
            Some(read_response(&mut stream).await)
        }
    }
}

/// Uploads `data` to the server, resuming after every dropped PATCH;
/// returns the upload's path and how many PATCHes were dropped.
async fn upload(addr: SocketAddr, lift: String, data: &[u8], seed: u64) -> (String, u32) {
    let auth = format!("Authorization: Bearer {lift}");
    let (status, headers) = send(
        addr,
        &format!(
            "POST /files/ HTTP/1.1\r\n{auth}\r\nUpload-Length: {}",
            data.len()
        ),
        b"",
        None,
    )
    .await
    .unwrap();
    assert_eq!(status, 201);
    let location = header(&headers, "location").unwrap().to_owned();
    let path = location.split_once(&addr.to_string()).unwrap().1.to_owned();
    let mut rng = Rng(seed | 1);
    let mut dropped = 0;
    for _attempt in 0..400 {
        let (status, headers) = send(addr, &format!("HEAD {path} HTTP/1.1\r\n{auth}"), b"", None)
            .await
            .unwrap();
        assert_eq!(status, 200, "HEAD {path}");
        let offset: usize = header(&headers, "upload-offset").unwrap().parse().unwrap();
        if offset == data.len() {
            return (path, dropped);
        }
        let remaining = data.len() - offset;
        let chunk = (1 + rng.below(512 * 1024) as usize).min(remaining);
        let body = &data[offset..offset + chunk];
        let cut = (rng.below(3) == 0).then(|| rng.below(chunk as u64) as usize);
        let head = format!(
            "PATCH {path} HTTP/1.1\r\n{auth}\r\nUpload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream"
        );
        match send(addr, &head, body, cut).await {
            None => {
                dropped += 1;
                tokio::time::sleep(Duration::from_millis(rng.below(30))).await;
            }
            Some((204, _)) => {}
            // The dropped PATCH may still be finishing: ask again shortly.
            Some((409 | 423, _)) => tokio::time::sleep(Duration::from_millis(20)).await,
            Some((status, _)) => panic!("PATCH {path} at {offset}: {status}"),
        }
    }
    panic!("upload {path} did not finish in 400 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_with_dropped_connections_end_byte_exact() {
    let quick = std::env::var("AURA_RELIABILITY_QUICK").is_ok_and(|v| v == "1");
    let (uploads, entries) = if quick { (8, 16) } else { (50, 320) };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.addr = "127.0.0.1:0".parse().unwrap();
    config.limits.tus_per_minute = 100_000;
    let server = start(config).await.unwrap();
    let addr = server.local_addr();
    let state = server.state().clone();

    // Tokens through the API itself.
    let router = app(state.clone());
    let token = read(
        router
            .clone()
            .oneshot(
                Request::post("/demo/upload-token")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap(),
    )
    .await
    .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let config = read(
        router
            .oneshot(
                Request::get("/api/uploader/config")
                    .header("authorization", format!("Bearer {token}"))
                    .header("x-api-key", state.demo_credentials().api_key.clone())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap(),
    )
    .await
    .json();
    let lift = config["lift"]["token"].as_str().unwrap().to_owned();

    let mut tasks = Vec::new();
    for i in 0..uploads {
        let data = make_zip(entries, 64 * 1024 + i);
        if !quick {
            assert!(data.len() >= 20 << 20, "each upload is at least 20 MiB");
        }
        let lift = lift.clone();
        tasks.push(tokio::spawn(async move {
            let (path, dropped) = upload(addr, lift, &data, 0x9e37_79b9 * (i as u64 + 1)).await;
            (path, data, dropped)
        }));
    }
    let mut dropped = 0;
    let mut hashes = std::collections::HashMap::new();
    for task in tasks {
        let (path, data, drops) = timeout(Duration::from_secs(600), task)
            .await
            .expect("uploads finish within 10 minutes")
            .unwrap();
        let id = path.strip_prefix("/files/").unwrap();
        let stored = std::fs::read(dir.path().join("uploads").join(id)).unwrap();
        assert!(stored == data, "upload {id} differs from what was sent");
        hashes.insert(id.to_owned(), sha256_hex(&data));
        dropped += drops;
    }
    assert!(
        dropped > 0,
        "no connection was dropped; the test proved nothing"
    );
    let dev = read(
        app(state)
            .oneshot(
                Request::get("/api/dev/uploads")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap(),
    )
    .await
    .json();
    let stored = dev["uploads"].as_array().unwrap();
    assert_eq!(stored.len(), uploads);
    for upload in stored {
        assert_eq!(upload["verified"], true, "{upload}");
        let id = upload["id"].as_str().unwrap();
        assert_eq!(upload["sha256"], hashes[id].as_str(), "{upload}");
    }
    server.shutdown().await.unwrap();
}
