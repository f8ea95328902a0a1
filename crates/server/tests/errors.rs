//! Every authenticated endpoint's failures, table-driven: scopes, missing
//! and unknown tokens, 422 bodies in the validation shape, the viewer-link
//! rate limit, and the errors axum answers itself in the `{"message"}` shape.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Harness, HOST};
use serde_json::{json, Value};

const UPLOAD_ID: &str = "550e8400-e29b-41d4-a716-446655440000";

/// Every Bearer endpoint: method, path, a valid body, and the scope it needs.
fn bearer_endpoints() -> Vec<(&'static str, &'static str, String, &'static str)> {
    let id = json!({ "upload_id": UPLOAD_ID }).to_string();
    let init = json!({
        "upload_id": UPLOAD_ID,
        "studies": { "1.2.3": { "study_uid": "1.2.3", "modalities": ["CT"], "images": 1 } },
    })
    .to_string();
    vec![
        (
            "GET",
            "/api/uploader/config",
            String::new(),
            "integration:read",
        ),
        ("POST", "/api/uploader/upload/init", init, "upload:init"),
        (
            "POST",
            "/api/uploader/upload/start",
            id.clone(),
            "upload:manage",
        ),
        (
            "POST",
            "/api/uploader/upload/complete",
            id.clone(),
            "upload:manage",
        ),
        (
            "POST",
            "/api/uploader/upload/error",
            id.clone(),
            "upload:manage",
        ),
        (
            "POST",
            "/api/uploader/upload/cancel",
            id.clone(),
            "upload:manage",
        ),
        (
            "POST",
            "/api/uploader/manage/submit",
            id.clone(),
            "upload:manage",
        ),
        ("POST", "/api/uploader/manage/withdraw", id, "upload:manage"),
    ]
}

#[tokio::test]
async fn every_bearer_endpoint_needs_its_scope_and_no_other() {
    let h = Harness::with(|c| c.limits.exchange_per_minute = 1_000);
    for (method, path, body, scope) in bearer_endpoints() {
        let others: Vec<&str> = auraloader_server::SCOPES
            .iter()
            .copied()
            .filter(|s| *s != scope)
            .collect();
        let without = h.token_with(json!({ "scopes": others })).await;
        let answer = h.send(h.bearer(method, path, &without, &body)).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(answer.error_code(), "insufficient_scope", "{path}");
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(message.contains(scope), "{path}: {message}");

        let only = h.token_with(json!({ "scopes": [scope] })).await;
        let answer = h.send(h.bearer(method, path, &only, &body)).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {:?}", answer.json());
    }
}

#[tokio::test]
async fn every_bearer_endpoint_refuses_missing_and_unknown_tokens_with_401() {
    let h = Harness::new();
    let unknown = format!("aubt_{}", "x".repeat(64));
    for (method, path, body, _) in bearer_endpoints() {
        let mut request = h.bearer(method, path, "", &body);
        request.headers_mut().remove("authorization");
        let answer = h.send(request).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(answer.error_code(), "missing_token", "{path}");

        for token in [unknown.as_str(), "not-an-upload-token"] {
            let answer = h.send(h.bearer(method, path, token, &body)).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{path}");
            assert_eq!(answer.error_code(), "invalid_token", "{path}");
            assert!(answer.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("exchange"));
        }
    }
}

/// `{"message": "...", "errors": {field: [..]}}` naming exactly `fields`,
/// with the summary joining every message.
fn assert_validation(answer: &common::Answer, fields: &[&str], what: &str) {
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
    let body = answer.json();
    let errors = body["errors"].as_object().unwrap();
    let mut named: Vec<&str> = errors.keys().map(String::as_str).collect();
    named.sort_unstable();
    assert_eq!(named, fields, "{what}: {body}");
    let all: Vec<&str> = errors
        .values()
        .flat_map(|v| v.as_array().unwrap())
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(body["message"], all.join(", "), "{what}");
}

#[tokio::test]
async fn lifecycle_and_manage_bodies_are_validated_with_422_per_field() {
    let h = Harness::new();
    let token = h.token().await;
    let steps = [
        "upload/start",
        "upload/complete",
        "upload/error",
        "upload/cancel",
        "manage/submit",
        "manage/withdraw",
    ];
    for step in steps {
        let path = format!("/api/uploader/{step}");
        for (body, fields) in [
            ("{".to_owned(), vec!["body"]),
            ("[]".to_owned(), vec!["body"]),
            ("{}".to_owned(), vec!["upload_id"]),
            (json!({"upload_id": "a/b"}).to_string(), vec!["upload_id"]),
            (
                json!({"upload_id": 7, "assembly_id": 7}).to_string(),
                vec!["assembly_id", "upload_id"],
            ),
        ] {
            let answer = h.send(h.bearer("POST", &path, &token, &body)).await;
            assert_validation(&answer, &fields, &format!("{path} {body}"));
        }
    }
    for (step, field, bad) in [
        ("upload/error", "message", json!(["x"])),
        ("manage/withdraw", "reason", json!(5)),
        ("manage/submit", "metadata", json!("x")),
    ] {
        let body = json!({ "upload_id": UPLOAD_ID, field: bad }).to_string();
        let path = format!("/api/uploader/{step}");
        let answer = h.send(h.bearer("POST", &path, &token, &body)).await;
        assert_validation(&answer, &[field], &path);
    }
    // Nothing was recorded by the refused calls.
    assert_eq!(h.dev_uploads().await["sessions"], json!([]));
}

#[tokio::test]
async fn config_rejects_a_bad_upload_id_with_422() {
    let h = Harness::new();
    let token = h.token().await;
    let answer = h
        .send(h.bearer("GET", "/api/uploader/config?upload_id=..%2Fx", &token, ""))
        .await;
    assert_validation(&answer, &["upload_id"], "config");
}

#[tokio::test]
async fn the_61st_viewer_link_in_a_minute_is_429_with_retry_after() {
    let h = Harness::new();
    for i in 0..60 {
        let answer = h
            .send(h.signed(
                "/api/integrations/transfers/nothing/viewer-link",
                b"{}",
                h.state.now(),
                &format!("nonce-{i}"),
                HOST,
            ))
            .await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "call {i}");
        assert!(answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("transfer"));
    }
    let answer = h
        .send(h.signed(
            "/api/integrations/transfers/nothing/viewer-link",
            b"{}",
            h.state.now(),
            "nonce-60",
            HOST,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.header("retry-after"), Some("60"));
    assert!(answer.json()["message"].is_string());
    // A new minute, a new window.
    h.clock.advance(60);
    let answer = h
        .send(h.signed(
            "/api/integrations/transfers/nothing/viewer-link",
            b"{}",
            h.state.now(),
            "nonce-61",
            HOST,
        ))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

fn message(body: &Value) -> &str {
    body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"))
}

#[tokio::test]
async fn errors_axum_answers_itself_are_json_with_a_message() {
    let h = Harness::new();
    // A wrong method on an API route.
    let answer = h
        .send(
            Request::get("/api/auth/exchange")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(answer.header("allow"), Some("POST"));
    assert!(message(&answer.json()).contains("allow header"));

    // A wrong method on a tus route keeps the tus headers.
    let answer = h
        .send(
            Request::put("/files/00000000000000000000000000000000")
                .header("tus-resumable", "1.0.0")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.header("tus-resumable"), Some("1.0.0"));
    assert!(answer.header("allow").unwrap().contains("PATCH"));
    assert!(message(&answer.json()).contains("method not allowed"));

    // A JSON body over the limit.
    let token = h.token().await;
    let huge = format!("{{\"upload_id\":\"{}\"}}", "x".repeat(17 << 20));
    let answer = h
        .send(h.bearer("POST", "/api/uploader/upload/start", &token, &huge))
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        message(&answer.json()).contains("16 MiB"),
        "{:?}",
        answer.json()
    );

    // Answers that are already JSON are left as they are.
    let answer = h
        .send(
            Request::get("/api/no/such/route")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(message(&answer.json()).contains("API.md"));
}

#[tokio::test]
async fn token_uses_survive_a_restart() {
    let h = Harness::new();
    let token = h.token_with(json!({ "max_uses": 2 })).await;
    for _ in 0..2 {
        let answer = h
            .send(h.bearer("GET", "/api/uploader/config", &token, ""))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    let h = h.restart();
    let answer = h
        .send(h.bearer("GET", "/api/uploader/config", &token, ""))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "token_exhausted");
}
