//! The server on a real socket: `POST /demo/upload-token` exchanges the demo
//! credentials over HTTP with the server itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use auraloader_server::{start, Config};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
async fn http(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String) {
    let mut stream = timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let request = format!(
        "{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    timeout(Duration::from_secs(20), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_upload_token_exchanges_over_http_with_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.addr = "127.0.0.1:0".parse().unwrap();
    let server = start(config).await.unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    assert!(server.state().credentials_created());

    let (status, body) = http(addr, "POST /demo/upload-token HTTP/1.1", "").await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let token = answer["token"].as_str().unwrap();
    assert!(token.starts_with("aubt_"));
    assert!(answer["expires_at"].as_str().unwrap().ends_with('Z'));
    let api_key = server.state().demo_credentials().api_key.clone();
    assert_eq!(answer["api_key"], api_key.as_str());
    assert_eq!(answer.as_object().unwrap().len(), 3);

    // The token works against the same server.
    let (status, body) = http(
        addr,
        &format!(
            "GET /api/uploader/config HTTP/1.1\r\nAuthorization: Bearer {token}\r\nX-Api-Key: {api_key}"
        ),
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let config: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(config["lift"]["endpoint"], format!("http://{addr}/files/"));
    server.shutdown().await.unwrap();

    // A second start on the same data dir reuses the credentials.
    let mut config = Config::new(dir.path());
    config.addr = "127.0.0.1:0".parse().unwrap();
    let again = start(config).await.unwrap();
    assert!(!again.state().credentials_created());
    assert_eq!(again.state().demo_credentials().api_key, api_key);
    again.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_patch_is_answered_after_its_body_so_the_client_reads_the_answer() {
    // A server that answers before reading a body and then closes makes
    // the kernel reset the connection, and the client often loses the
    // answer. So a PATCH refused at once (here 401: a lift token that is
    // not valid) is answered only once its body has arrived.
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.addr = "127.0.0.1:0".parse().unwrap();
    let server = start(config).await.unwrap();
    let addr = server.local_addr();
    let mut stream = timeout(Duration::from_secs(5), TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let half = vec![b'x'; 1 << 20];
    let head = format!(
        "PATCH /files/0123456789abcdef0123456789abcdef HTTP/1.1\r\nHost: {addr}\r\n\
         Tus-Resumable: 1.0.0\r\nAuthorization: Bearer not-a-lift-token\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        2 * half.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&half).await.unwrap();
    let mut early = [0u8; 64];
    let answered_early = timeout(Duration::from_millis(500), stream.read(&mut early)).await;
    assert!(
        answered_early.is_err(),
        "the server answered before the body ended: {answered_early:?}"
    );
    stream.write_all(&half).await.unwrap();
    let mut response = Vec::new();
    timeout(Duration::from_secs(20), stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    server.shutdown().await.unwrap();
}
