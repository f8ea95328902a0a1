//! Viewer links: a signed serve-token URL to a stored upload.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{make_zip, metadata, patch, Harness, HOST};
use serde_json::Value;

/// Uploads a zip for session `u-9` and returns (tus id, bytes).
async fn stored_upload(h: &Harness) -> (String, Vec<u8>) {
    let lift = h.lift_token().await;
    let zip = make_zip(2, 700);
    let path = h
        .create_upload(&lift, zip.len() as u64, Some(&metadata("u-9", "1.2.9")))
        .await;
    let answer = h.send(patch(&path, &lift, 0, &zip)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    (path.strip_prefix("/files/").unwrap().to_owned(), zip)
}

async fn viewer_link(h: &Harness, transfer_id: &str, nonce: &str) -> (StatusCode, Value) {
    let answer = h
        .send(h.signed(
            &format!("/api/integrations/transfers/{transfer_id}/viewer-link"),
            b"{}",
            h.state.now(),
            nonce,
            HOST,
        ))
        .await;
    (answer.status, answer.json())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn a_viewer_link_serves_the_stored_upload() {
    let h = Harness::new();
    let (id, zip) = stored_upload(&h).await;
    for (transfer_id, nonce) in [(id.as_str(), "n1"), ("u-9", "n2")] {
        let (status, body) = viewer_link(&h, transfer_id, nonce).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let pin = body["pin"].as_str().unwrap();
        assert_eq!(pin.len(), 4);
        assert!(pin.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(body["expires_at"], "2024-01-26T00:00:00Z");
        let url = body["url"].as_str().unwrap();
        let path = url.strip_prefix("http://127.0.0.1:8080").unwrap();
        assert!(
            path.starts_with(&format!("/demo/{id}.zip?token=")),
            "{path}"
        );
        let answer = h.send(get(path)).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("content-type"), Some("application/zip"));
        assert_eq!(answer.body.as_ref(), zip.as_slice());
    }
}

#[tokio::test]
async fn any_mismatch_on_a_serve_url_is_403_invalid_or_expired_signature() {
    let h = Harness::new();
    let (id, _) = stored_upload(&h).await;
    let (_, body) = viewer_link(&h, &id, "n1").await;
    let url = body["url"].as_str().unwrap();
    let path = url
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap()
        .to_owned();
    let (file_path, token) = path.split_once("?token=").unwrap();
    let tampered = format!("{file_path}?token={}x", token);
    let other_file = format!("/demo/00000000000000000000000000000000.zip?token={token}");
    let other_project = format!("/other/{id}.zip?token={token}");
    let no_token = file_path.to_owned();
    for bad in [tampered, other_file, other_project, no_token] {
        let answer = h.send(get(&bad)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{bad}");
        assert_eq!(
            answer.json(),
            serde_json::json!({"message": "Invalid or expired signature"})
        );
    }
    h.clock.advance(86_401);
    let answer = h.send(get(&path)).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_viewer_link_needs_a_signature_and_a_finished_upload() {
    let h = Harness::new();
    let answer = h
        .send(
            Request::post("/api/integrations/transfers/x/viewer-link")
                .header("host", HOST)
                .header("x-api-key", h.api_key())
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let (status, body) = viewer_link(&h, "nothing-here", "n3").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["message"].is_string());
}
