//! The tus endpoint: protocol, edge checks, durability and verification.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::pin::Pin;
use std::task::{Context, Poll};

use aura_hmac::token::LiftToken;
use auraloader_server::app;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use base64::Engine as _;
use common::{make_zip, metadata, patch, read, sha256_hex, tus, Harness, T0};
use http_body::Frame;
use serde_json::json;
use sha1::{Digest, Sha1};
use tokio::sync::mpsc;
use tower::ServiceExt;

/// A request body fed chunk by chunk from a channel; an `Err` item is a
/// client that went away.
struct ChanBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl http_body::Body for ChanBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|item| item.map(|r| r.map(Frame::data)))
    }
}

fn lift_payload(project: &str, exp: u64) -> LiftToken {
    LiftToken {
        project_name: project.to_owned(),
        max_size: 1 << 30,
        allowed_types: vec!["application/zip".to_owned()],
        iat: T0,
        exp,
        visibility: Some("private".to_owned()),
        upload_id: None,
    }
}

#[tokio::test]
async fn options_advertises_version_extensions_max_size_and_sha1() {
    let h = Harness::new();
    let answer = h
        .send(
            axum::http::Request::builder()
                .method("OPTIONS")
                .uri("/files/")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.header("tus-version"), Some("1.0.0"));
    let extensions = answer.header("tus-extension").unwrap();
    for ext in ["creation", "termination", "expiration", "checksum"] {
        assert!(extensions.split(',').any(|e| e == ext), "{extensions}");
    }
    assert_eq!(answer.header("tus-checksum-algorithm"), Some("sha1"));
    assert_eq!(
        answer.header("tus-max-size"),
        Some((5u64 * 1024 * 1024 * 1024).to_string().as_str())
    );
    assert!(answer.header("tus-resumable").is_none());
}

#[tokio::test]
async fn create_patch_in_chunks_and_complete_a_verified_zip() {
    let h = Harness::new();
    let token = h.token().await;
    let init = json!({
        "upload_id": "u-1",
        "studies": {"1.2.3": {"study_uid": "1.2.3", "modalities": ["CT"], "images": 4, "series_count": 1}},
    });
    let answer = h
        .send(h.bearer(
            "POST",
            "/api/uploader/upload/init",
            &token,
            &init.to_string(),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let lift = h.lift_token().await;

    let zip = make_zip(4, 3000);
    let post = tus("POST", "/files/", &lift)
        .header("upload-length", zip.len().to_string())
        .header("upload-metadata", metadata("u-1", "1.2.3"))
        .body(Body::empty())
        .unwrap();
    let created = h.send(post).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.header("tus-resumable"), Some("1.0.0"));
    assert!(created.header("upload-expires").unwrap().ends_with(" GMT"));
    let location = created.header("location").unwrap();
    let path = location.strip_prefix("http://127.0.0.1:8080").unwrap();
    let id = path.strip_prefix("/files/").unwrap();
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));

    assert_eq!(h.offset(path, &lift).await, 0);
    let mut offset = 0;
    for chunk in zip.chunks(5000) {
        let answer = h.send(patch(path, &lift, offset, chunk)).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{:?}", answer.body);
        offset += chunk.len() as u64;
        assert_eq!(
            answer.header("upload-offset"),
            Some(offset.to_string().as_str())
        );
        assert_eq!(answer.header("tus-resumable"), Some("1.0.0"));
    }

    let head = h
        .send(tus("HEAD", path, &lift).body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        head.header("upload-offset"),
        Some(zip.len().to_string().as_str())
    );
    assert_eq!(
        head.header("upload-length"),
        Some(zip.len().to_string().as_str())
    );
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert_eq!(
        std::fs::read(h.dir.path().join("uploads").join(id)).unwrap(),
        zip
    );

    let dev = h.dev_uploads().await;
    let stored = &dev["sessions"][0]["studies"][0]["uploads"][0];
    assert_eq!(stored["id"], id);
    assert_eq!(stored["state"], "complete");
    assert_eq!(stored["size"], zip.len());
    assert_eq!(stored["sha256"], sha256_hex(&zip));
    assert_eq!(stored["entry_count"], 4);
    assert_eq!(stored["verified"], true);
    assert_eq!(stored["verify_error"], json!(null));
}

#[tokio::test]
async fn a_zip_with_a_damaged_entry_is_recorded_as_unverified() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let mut zip = make_zip(2, 500);
    // Flip a byte inside the first entry's data: headers stay valid, the CRC does not.
    zip[30 + "IM0000.dcm".len() + 10] ^= 0xff;
    let path = h.create_upload(&lift, zip.len() as u64, None).await;
    let answer = h.send(patch(&path, &lift, 0, &zip)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let dev = h.dev_uploads().await;
    let stored = &dev["uploads"][0];
    assert_eq!(stored["state"], "complete");
    assert_eq!(stored["verified"], false);
    assert!(stored["verify_error"].as_str().unwrap().contains("damaged"));
    assert_eq!(stored["sha256"], sha256_hex(&zip));
}

#[tokio::test]
async fn a_patch_at_the_wrong_offset_is_409() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let zip = make_zip(1, 100);
    let path = h.create_upload(&lift, zip.len() as u64, None).await;
    let answer = h.send(patch(&path, &lift, 0, &zip[..50])).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    let answer = h.send(patch(&path, &lift, 10, &zip[10..])).await;
    assert_eq!(answer.status, StatusCode::CONFLICT);
    assert_eq!(answer.header("tus-resumable"), Some("1.0.0"));
    assert_eq!(h.offset(&path, &lift).await, 50);
}

#[tokio::test]
async fn a_patch_without_the_tus_content_type_is_415() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let path = h.create_upload(&lift, 100, None).await;
    let answer = h
        .send(
            tus("PATCH", &path, &lift)
                .header("upload-offset", "0")
                .header("content-type", "application/json")
                .body(Body::from("PK\u{3}\u{4}"))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn bytes_that_are_not_a_zip_are_415_and_discarded() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let path = h.create_upload(&lift, 100, None).await;
    let answer = h.send(patch(&path, &lift, 0, b"GIF89a not a zip")).await;
    assert_eq!(answer.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(h.offset(&path, &lift).await, 0);
}

#[tokio::test]
async fn the_magic_check_spans_patches_that_split_the_first_four_bytes() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let path = h.create_upload(&lift, 100, None).await;
    assert_eq!(
        h.send(patch(&path, &lift, 0, b"PK")).await.status,
        StatusCode::NO_CONTENT
    );
    let bad = h.send(patch(&path, &lift, 2, b"XXrest")).await;
    assert_eq!(bad.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(h.offset(&path, &lift).await, 2);
    let good = h.send(patch(&path, &lift, 2, b"\x03\x04rest")).await;
    assert_eq!(good.status, StatusCode::NO_CONTENT);
    assert_eq!(h.offset(&path, &lift).await, 8);
}

#[tokio::test]
async fn an_upload_longer_than_max_size_is_413() {
    let h = Harness::with(|c| c.limits.max_upload_bytes = 1000);
    let lift = h.lift_token().await;
    let answer = h
        .send(
            tus("POST", "/files/", &lift)
                .header("upload-length", "1001")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    h.create_upload(&lift, 1000, None).await;

    // A token with a smaller maxSize is held to it.
    let h = Harness::new();
    let mut payload = lift_payload("demo", T0 + 3600);
    payload.max_size = 10;
    let small = h.state.mint_lift_token(&payload).unwrap();
    let answer = h
        .send(
            tus("POST", "/files/", &small)
                .header("upload-length", "11")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_chunk_past_upload_length_is_413_and_discarded() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let zip = make_zip(1, 100);
    let path = h.create_upload(&lift, 50, None).await;
    let answer = h.send(patch(&path, &lift, 0, &zip)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h.offset(&path, &lift).await, 0);
}

#[tokio::test]
async fn uploads_past_the_project_quota_are_402() {
    let h = Harness::with(|c| c.limits.quota_bytes = 1500);
    let lift = h.lift_token().await;
    h.create_upload(&lift, 1000, None).await;
    let answer = h
        .send(
            tus("POST", "/files/", &lift)
                .header("upload-length", "600")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYMENT_REQUIRED);
    assert!(answer.json()["message"].as_str().unwrap().contains("quota"));
}

#[tokio::test]
async fn tus_requests_without_a_valid_lift_token_are_401() {
    let h = Harness::new();
    let answer = h
        .send(
            axum::http::Request::post("/files/")
                .header("tus-resumable", "1.0.0")
                .header("upload-length", "10")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.header("tus-resumable"), Some("1.0.0"));

    let lift = h.lift_token().await;
    let (payload, signature) = lift.rsplit_once('.').unwrap();
    let forged_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"projectName":"demo","maxSize":99999999999,"allowedTypes":[],"iat":0,"exp":9999999999}"#);
    for bad in [
        format!("{forged_payload}.{signature}"),
        format!("{payload}.AAAA"),
        "not-a-token".to_owned(),
    ] {
        let answer = h
            .send(
                tus("POST", "/files/", &bad)
                    .header("upload-length", "10")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{bad}");
    }
}

#[tokio::test]
async fn an_expired_lift_token_is_401() {
    let h = Harness::new();
    let expired = h
        .state
        .mint_lift_token(&lift_payload("demo", T0 - 1))
        .unwrap();
    let answer = h
        .send(
            tus("POST", "/files/", &expired)
                .header("upload-length", "10")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "token_expired");
}

#[tokio::test]
async fn a_reserved_project_is_400() {
    let h = Harness::new();
    let reserved = h
        .state
        .mint_lift_token(&lift_payload("API", T0 + 60))
        .unwrap();
    let answer = h
        .send(
            tus("POST", "/files/", &reserved)
                .header("upload-length", "10")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_origin_outside_the_allow_list_is_403() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let post = |origin: &str| {
        tus("POST", "/files/", &lift)
            .header("upload-length", "10")
            .header("origin", origin)
            .body(Body::empty())
            .unwrap()
    };
    let answer = h.send(post("http://evil.example")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_code(), "origin_not_allowed");
    let answer = h.send(post("http://localhost:8081")).await;
    assert_eq!(answer.status, StatusCode::CREATED);
}

#[tokio::test]
async fn tus_requests_past_the_rate_limit_are_429() {
    let h = Harness::with(|c| c.limits.tus_per_minute = 3);
    let lift = h.lift_token().await;
    let path = h.create_upload(&lift, 100, None).await;
    h.offset(&path, &lift).await;
    h.offset(&path, &lift).await;
    let answer = h
        .send(tus("HEAD", &path, &lift).body(Body::empty()).unwrap())
        .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(answer.header("retry-after").is_some());
}

#[tokio::test]
async fn another_tus_version_is_412_with_tus_version() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    for version in [None, Some("0.2.2")] {
        let mut builder = axum::http::Request::post("/files/")
            .header("authorization", format!("Bearer {lift}"))
            .header("upload-length", "10");
        if let Some(v) = version {
            builder = builder.header("tus-resumable", v);
        }
        let answer = h.send(builder.body(Body::empty()).unwrap()).await;
        assert_eq!(
            answer.status,
            StatusCode::PRECONDITION_FAILED,
            "{version:?}"
        );
        assert_eq!(answer.header("tus-version"), Some("1.0.0"));
        assert_eq!(answer.header("tus-resumable"), Some("1.0.0"));
    }
}

#[tokio::test]
async fn a_chunk_with_a_wrong_sha1_is_460_and_discarded() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let zip = make_zip(1, 200);
    let path = h.create_upload(&lift, zip.len() as u64, None).await;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let with_checksum = |checksum: String| {
        tus("PATCH", &path, &lift)
            .header("upload-offset", "0")
            .header("content-type", "application/offset+octet-stream")
            .header("upload-checksum", checksum)
            .body(Body::from(zip.clone()))
            .unwrap()
    };
    let wrong = format!("sha1 {}", b64(&Sha1::digest(b"other bytes")));
    let answer = h.send(with_checksum(wrong)).await;
    assert_eq!(answer.status.as_u16(), 460);
    assert_eq!(h.offset(&path, &lift).await, 0);

    let unsupported = h
        .send(with_checksum(format!("md5 {}", b64(&[0; 16]))))
        .await;
    assert_eq!(unsupported.status, StatusCode::BAD_REQUEST);

    let right = format!("sha1 {}", b64(&Sha1::digest(&zip)));
    let answer = h.send(with_checksum(right)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(h.offset(&path, &lift).await, zip.len() as u64);
    // The discarded chunk left no trace in the recorded hash.
    assert_eq!(
        h.dev_uploads().await["uploads"][0]["sha256"],
        sha256_hex(&zip)
    );
}

#[tokio::test]
async fn delete_terminates_then_the_upload_is_gone() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let zip = make_zip(1, 100);
    let path = h.create_upload(&lift, zip.len() as u64, None).await;
    h.send(patch(&path, &lift, 0, &zip[..40])).await;
    let id = path.strip_prefix("/files/").unwrap();
    let answer = h
        .send(tus("DELETE", &path, &lift).body(Body::empty()).unwrap())
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(!h.dir.path().join("uploads").join(id).exists());
    let head = h
        .send(tus("HEAD", &path, &lift).body(Body::empty()).unwrap())
        .await;
    assert_eq!(head.status, StatusCode::GONE);
    assert!(head.header("upload-offset").is_none());
    let answer = h.send(patch(&path, &lift, 40, &zip[40..])).await;
    assert_eq!(answer.status, StatusCode::GONE);
}

#[tokio::test]
async fn unknown_and_traversing_ids_are_404() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    for path in [
        "/files/00000000000000000000000000000000",
        "/files/..%2Faura.sqlite3",
        "/files/aura.sqlite3",
    ] {
        let answer = h
            .send(tus("HEAD", path, &lift).body(Body::empty()).unwrap())
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert!(answer.header("upload-offset").is_none());
        let answer = h.send(patch(path, &lift, 0, b"PK\x03\x04")).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn unfinished_uploads_expire_with_410() {
    let h = Harness::with(|c| c.limits.upload_expiry_secs = 600);
    let lift = h.lift_token().await;
    let zip = make_zip(1, 100);
    let path = h.create_upload(&lift, zip.len() as u64, None).await;
    let answer = h.send(patch(&path, &lift, 0, &zip[..30])).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(answer.header("upload-expires").is_some());
    // Each write moves the expiry: 599 s later it is still there.
    h.clock.advance(599);
    assert_eq!(h.offset(&path, &lift).await, 30);
    h.clock.advance(2);
    let head = h
        .send(tus("HEAD", &path, &lift).body(Body::empty()).unwrap())
        .await;
    assert_eq!(head.status, StatusCode::GONE);
    let answer = h.send(patch(&path, &lift, 30, &zip[30..])).await;
    assert_eq!(answer.status, StatusCode::GONE);

    assert_eq!(h.state.sweep_expired().unwrap(), 1);
    let id = path.strip_prefix("/files/").unwrap();
    assert!(!h.dir.path().join("uploads").join(id).exists());
    assert_eq!(h.dev_uploads().await["uploads"][0]["state"], "terminated");
}

#[tokio::test]
async fn a_restart_keeps_the_acknowledged_offset_and_drops_unacknowledged_bytes() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let zip = make_zip(3, 2000);
    let half = zip.len() / 2;
    let path = h.create_upload(&lift, zip.len() as u64, None).await;
    let answer = h.send(patch(&path, &lift, 0, &zip[..half])).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);

    // A PATCH that wrote bytes but died before answering leaves them behind.
    let id = path.strip_prefix("/files/").unwrap().to_owned();
    let file = h.dir.path().join("uploads").join(&id);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        f.write_all(b"garbage never acknowledged").unwrap();
    }

    let h = h.restart();
    assert_eq!(h.offset(&path, &lift).await, half as u64);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), half as u64);
    let answer = h.send(patch(&path, &lift, half as u64, &zip[half..])).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(std::fs::read(&file).unwrap(), zip);
    let stored = &h.dev_uploads().await["uploads"][0];
    assert_eq!(stored["verified"], true);
    // Hashed from the file, as the running hash was lost with the restart.
    assert_eq!(stored["sha256"], sha256_hex(&zip));
}

#[tokio::test]
async fn a_concurrent_patch_is_423_and_bytes_never_interleave() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let zip = make_zip(2, 4000);
    let path = h.create_upload(&lift, zip.len() as u64, None).await;

    let (tx, rx) = mpsc::channel(1);
    let first = tus("PATCH", &path, &lift)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(Body::new(ChanBody(rx)))
        .unwrap();
    let router = app(h.state.clone());
    let first = tokio::spawn(async move { read(router.oneshot(first).await.unwrap()).await });
    tx.send(Ok(Bytes::copy_from_slice(&zip[..1000])))
        .await
        .unwrap();
    // With a channel of one, this send returns once the handler took the
    // first chunk: the PATCH is under way and holds the upload.
    tx.send(Ok(Bytes::copy_from_slice(&zip[1000..2000])))
        .await
        .unwrap();

    let second = h.send(patch(&path, &lift, 0, &zip)).await;
    assert_eq!(second.status, StatusCode::LOCKED);
    let delete = h
        .send(tus("DELETE", &path, &lift).body(Body::empty()).unwrap())
        .await;
    assert_eq!(delete.status, StatusCode::LOCKED);

    tx.send(Ok(Bytes::copy_from_slice(&zip[2000..])))
        .await
        .unwrap();
    drop(tx);
    let first = first.await.unwrap();
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    assert_eq!(
        first.header("upload-offset"),
        Some(zip.len().to_string().as_str())
    );
    let id = path.strip_prefix("/files/").unwrap();
    assert_eq!(
        std::fs::read(h.dir.path().join("uploads").join(id)).unwrap(),
        zip
    );
}

#[tokio::test]
async fn a_client_that_disconnects_keeps_the_bytes_that_arrived() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let zip = make_zip(2, 4000);
    let path = h.create_upload(&lift, zip.len() as u64, None).await;

    let (tx, rx) = mpsc::channel(4);
    tx.send(Ok(Bytes::copy_from_slice(&zip[..3000])))
        .await
        .unwrap();
    tx.send(Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionReset,
        "client went away",
    )))
    .await
    .unwrap();
    let request = tus("PATCH", &path, &lift)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(Body::new(ChanBody(rx)))
        .unwrap();
    let answer = h.send(request).await;
    assert!(answer.status.is_client_error());
    assert_eq!(h.offset(&path, &lift).await, 3000);
    // The client resumes from the offset HEAD reported.
    let answer = h.send(patch(&path, &lift, 3000, &zip[3000..])).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(h.dev_uploads().await["uploads"][0]["verified"], true);
}

#[tokio::test]
async fn a_stalled_patch_ends_after_the_idle_timeout_keeping_its_bytes() {
    let h = Harness::with(|c| c.limits.patch_idle_timeout_secs = 1);
    let lift = h.lift_token().await;
    let zip = make_zip(1, 4000);
    let path = h.create_upload(&lift, zip.len() as u64, None).await;
    let (tx, rx) = mpsc::channel(4);
    tx.send(Ok(Bytes::copy_from_slice(&zip[..1000])))
        .await
        .unwrap();
    let request = tus("PATCH", &path, &lift)
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(Body::new(ChanBody(rx)))
        .unwrap();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), h.send(request))
        .await
        .expect("the stalled patch ended");
    assert!(answer.status.is_client_error());
    drop(tx);
    assert_eq!(h.offset(&path, &lift).await, 1000);
}

#[tokio::test]
async fn a_lift_token_bound_to_a_session_refuses_other_sessions() {
    let h = Harness::new();
    let mut payload = lift_payload("demo", T0 + 3600);
    payload.upload_id = Some("session-a".to_owned());
    let bound = h.state.mint_lift_token(&payload).unwrap();
    let answer = h
        .send(
            tus("POST", "/files/", &bound)
                .header("upload-length", "100")
                .header("upload-metadata", metadata("session-b", "1.2"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    h.create_upload(&bound, 100, Some(&metadata("session-a", "1.2")))
        .await;
}

#[tokio::test]
async fn the_recorded_sha256_is_right_however_the_chunks_arrived() {
    let h = Harness::new();
    let lift = h.lift_token().await;
    let zip = make_zip(4, 3000);
    let path = h.create_upload(&lift, zip.len() as u64, None).await;
    // Two bytes held back for the magic check, then two more.
    for (at, chunk) in [(0, &zip[..2]), (2, &zip[2..4])] {
        let answer = h.send(patch(&path, &lift, at, chunk)).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT);
    }
    // A chunk with a wrong checksum and one past the length: both discarded.
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let wrong = tus("PATCH", &path, &lift)
        .header("upload-offset", "4")
        .header("content-type", "application/offset+octet-stream")
        .header(
            "upload-checksum",
            format!("sha1 {}", b64(&Sha1::digest(b"x"))),
        )
        .body(Body::from(zip[4..1000].to_vec()))
        .unwrap();
    assert_eq!(h.send(wrong).await.status.as_u16(), 460);
    let mut too_long = zip[4..].to_vec();
    too_long.extend_from_slice(b"one byte too many");
    let answer = h.send(patch(&path, &lift, 4, &too_long)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    // The rest in uneven chunks.
    let mut at: usize = 4;
    for size in [1, 999, 4096, usize::MAX] {
        let end = at.saturating_add(size).min(zip.len());
        let answer = h.send(patch(&path, &lift, at as u64, &zip[at..end])).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT);
        at = end;
    }
    assert_eq!(at, zip.len());
    let stored = &h.dev_uploads().await["uploads"][0];
    assert_eq!(stored["verified"], true, "{stored}");
    assert_eq!(stored["sha256"], sha256_hex(&zip));
}
