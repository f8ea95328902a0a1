//! `POST /api/auth/exchange`: AURA-HMAC-SHA256 verification and upload tokens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{Harness, HOST, T0};
use serde_json::json;

#[tokio::test]
async fn exchange_answers_an_aubt_token_with_defaults() {
    let h = Harness::new();
    let answer = h.send(h.exchange_request(&json!({}))).await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    let token = body["token"].as_str().unwrap();
    let rest = token.strip_prefix("aubt_").unwrap();
    assert_eq!(rest.len(), 64);
    assert!(rest
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    // Default TTL one hour from the (manual) clock, RFC 3339 UTC with Z.
    assert_eq!(body["expires_at"], "2024-01-25T01:00:00Z");
    assert_eq!(
        body["scopes"],
        json!(["upload:init", "upload:manage", "integration:read"])
    );
    assert_eq!(body["max_uses"], json!(null));
}

#[tokio::test]
async fn exchange_honours_ttl_scopes_and_max_uses() {
    let h = Harness::new();
    let answer = h
        .send(h.exchange_request(&json!({"ttl": 86400, "scopes": ["upload:init"], "max_uses": 5})))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["expires_at"], "2024-01-26T00:00:00Z");
    assert_eq!(body["scopes"], json!(["upload:init"]));
    assert_eq!(body["max_uses"], 5);
}

#[tokio::test]
async fn an_empty_body_is_all_defaults() {
    let h = Harness::new();
    let req = h.signed("/api/auth/exchange", b"", T0, "n-empty", HOST);
    let answer = h.send(req).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
}

#[tokio::test]
async fn ttl_over_24_hours_is_a_422_on_ttl() {
    let h = Harness::new();
    let answer = h.send(h.exchange_request(&json!({"ttl": 86401}))).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = answer.json();
    assert!(body["message"].as_str().unwrap().contains("86400"));
    let ttl_errors = body["errors"]["ttl"].as_array().unwrap();
    assert_eq!(ttl_errors.len(), 1);
}

#[tokio::test]
async fn unknown_scopes_and_bad_max_uses_are_422_per_field() {
    let h = Harness::new();
    let answer = h
        .send(h.exchange_request(&json!({"scopes": ["admin"], "max_uses": 0, "ttl": "x"})))
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = &answer.json()["errors"];
    for field in ["scopes", "max_uses", "ttl"] {
        assert!(errors[field].is_array(), "no errors for {field}: {errors}");
    }
}

#[tokio::test]
async fn malformed_json_is_a_422_in_the_validation_shape() {
    let h = Harness::new();
    let req = h.signed("/api/auth/exchange", b"{\"ttl\":", T0, "n-bad-json", HOST);
    let answer = h.send(req).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = answer.json();
    assert!(body["message"].as_str().unwrap().contains("not valid json"));
    assert!(body["errors"]["body"].is_array());
}

#[tokio::test]
async fn a_bad_signature_is_401_signature_mismatch() {
    let h = Harness::new();
    let mut req = h.signed("/api/auth/exchange", b"{\"ttl\":60}", T0, "n1", HOST);
    // Same headers, other body bytes than the ones signed.
    *req.body_mut() = Body::from("{\"ttl\":61}");
    let answer = h.send(req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "signature_mismatch");
    assert!(answer.json()["error"]["message"].is_string());
}

#[tokio::test]
async fn a_signature_with_another_secret_is_rejected() {
    let h = Harness::new();
    let url = format!("http://{HOST}/api/auth/exchange");
    let mut req = aura_hmac::Request::from_url("POST", &url, b"{}".to_vec()).unwrap();
    req.set_header("Host", HOST);
    let creds = aura_hmac::Credentials {
        app_id: h.creds().app_id,
        app_secret: "not-the-secret".into(),
    };
    let added = aura_hmac::sign(&creds, &mut req, T0, "n-other").unwrap();
    let request = Request::post("/api/auth/exchange")
        .header("host", HOST)
        .header("content-type", "application/json")
        .header("x-aura-timestamp", added.timestamp)
        .header("x-aura-nonce", added.nonce)
        .header("authorization", added.authorization)
        .header("x-api-key", h.api_key())
        .body(Body::from("{}"))
        .unwrap();
    let answer = h.send(request).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "signature_mismatch");
}

#[tokio::test]
async fn a_replayed_nonce_is_401() {
    let h = Harness::new();
    let first = h
        .send(h.signed("/api/auth/exchange", b"{}", T0, "same-nonce", HOST))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let again = h
        .send(h.signed("/api/auth/exchange", b"{}", T0, "same-nonce", HOST))
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert_eq!(again.error_code(), "replayed_nonce");
}

#[tokio::test]
async fn nonces_survive_a_restart() {
    let h = Harness::new();
    let first = h
        .send(h.signed("/api/auth/exchange", b"{}", T0, "kept-nonce", HOST))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let h = h.restart();
    let again = h
        .send(h.signed("/api/auth/exchange", b"{}", T0, "kept-nonce", HOST))
        .await;
    assert_eq!(again.error_code(), "replayed_nonce");
}

#[tokio::test]
async fn a_skewed_clock_is_401_either_way() {
    let h = Harness::new();
    for (ts, nonce) in [(T0 - 301, "old"), (T0 + 301, "future")] {
        let answer = h
            .send(h.signed("/api/auth/exchange", b"{}", ts, nonce, HOST))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{ts}");
        assert_eq!(answer.error_code(), "timestamp_out_of_window");
    }
    // At the edge of the window it still passes.
    let edge = h
        .send(h.signed("/api/auth/exchange", b"{}", T0 - 300, "edge", HOST))
        .await;
    assert_eq!(edge.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_host_is_401_host_mismatch() {
    let h = Harness::new();
    let answer = h
        .send(h.signed(
            "/api/auth/exchange",
            b"{}",
            T0,
            "n-host",
            "evil.example.com",
        ))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "host_mismatch");
    // localhost with the bound port is this server too.
    let ok = h
        .send(h.signed("/api/auth/exchange", b"{}", T0, "n-local", "localhost:8080"))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn the_configured_public_host_is_accepted() {
    let h = Harness::with(|c| c.public_url = Some("https://aura.example.com/".into()));
    let answer = h
        .send(h.signed("/api/auth/exchange", b"{}", T0, "n-pub", "aura.example.com"))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
}

#[tokio::test]
async fn missing_or_unknown_api_key_is_401() {
    let h = Harness::new();
    let mut req = h.signed("/api/auth/exchange", b"{}", T0, "n-key1", HOST);
    req.headers_mut().remove("x-api-key");
    let answer = h.send(req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "missing_api_key");

    let mut req = h.signed("/api/auth/exchange", b"{}", T0, "n-key2", HOST);
    req.headers_mut()
        .insert("x-api-key", "ak_unknown".parse().unwrap());
    let answer = h.send(req).await;
    assert_eq!(answer.error_code(), "invalid_api_key");
}

#[tokio::test]
async fn an_unsigned_request_is_401() {
    let h = Harness::new();
    let req = Request::post("/api/auth/exchange")
        .header("host", HOST)
        .header("x-api-key", h.api_key())
        .body(Body::from("{}"))
        .unwrap();
    let answer = h.send(req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "missing_authorization");
}

#[tokio::test]
async fn the_eleventh_exchange_in_a_minute_is_429_with_retry_after() {
    let h = Harness::new();
    for i in 0..10 {
        let answer = h.send(h.exchange_request(&json!({}))).await;
        assert_eq!(answer.status, StatusCode::OK, "call {i}");
    }
    h.clock.advance(20);
    let limited = h.send(h.exchange_request(&json!({}))).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.header("retry-after"), Some("40"));
    assert!(limited.json()["message"].is_string());
    // The next minute has room again.
    h.clock.advance(40);
    let answer = h.send(h.exchange_request(&json!({}))).await;
    assert_eq!(answer.status, StatusCode::OK);
}
