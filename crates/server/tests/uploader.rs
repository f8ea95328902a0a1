//! Upload-token endpoints: config, the lifecycle, manage, scopes, uses,
//! expiry, rate limits, and the inspection endpoint.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Harness;
use serde_json::{json, Value};

const UPLOAD_ID: &str = "550e8400-e29b-41d4-a716-446655440000";

fn init_body() -> String {
    json!({
        "upload_id": UPLOAD_ID,
        "studies": {
            "1.2.840.1": {
                "study_uid": "1.2.840.1",
                "study_description": "CT HEAD",
                "patient_name": "DOE^JANE",
                "modalities": ["CT"],
                "series": {},
                "images": 12,
                "series_count": 1
            },
            "1.2.840.2": {
                "study_uid": "1.2.840.2",
                "modalities": ["MR"],
                "series": {},
                "images": 3,
                "series_count": 1
            }
        },
        "mode": "bulk",
        "type": "uploader",
        "source": "standalone-uploader",
        "patient_id": null,
        "context": {"site": "test"}
    })
    .to_string()
}

#[tokio::test]
async fn config_answers_the_tus_endpoint_and_a_lift_token() {
    let h = Harness::new();
    let token = h.token().await;
    let answer = h
        .send(h.bearer("GET", "/api/uploader/config", &token, ""))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let body = answer.json();
    assert_eq!(body["mode"], "bulk");
    assert_eq!(body["lift"]["endpoint"], "http://127.0.0.1:8080/files/");
    assert_eq!(body["lift"]["bucket"], "demo");
    let lift = body["lift"]["token"].as_str().unwrap();
    // The envelope of TOKENS.md: <b64url payload>.<b64url hmac>, payload readable.
    let (payload, _) = lift.rsplit_once('.').unwrap();
    use base64::Engine as _;
    let json: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["projectName"], "demo");
    assert_eq!(json["allowedTypes"], json!(["application/zip"]));
    assert_eq!(json["maxSize"], 5u64 * 1024 * 1024 * 1024);
    assert!(json["exp"].as_u64().unwrap() > json["iat"].as_u64().unwrap());
}

#[tokio::test]
async fn config_binds_the_lift_token_to_an_upload_id_when_asked() {
    let h = Harness::new();
    let token = h.token().await;
    let answer = h
        .send(h.bearer(
            "GET",
            &format!("/api/uploader/config?upload_id={UPLOAD_ID}"),
            &token,
            "",
        ))
        .await;
    let lift = answer.json()["lift"]["token"].as_str().unwrap().to_owned();
    let (payload, _) = lift.rsplit_once('.').unwrap();
    use base64::Engine as _;
    let json: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["upload_id"], UPLOAD_ID);
}

#[tokio::test]
async fn config_without_a_token_or_api_key_is_401() {
    let h = Harness::new();
    let answer = h
        .send(
            Request::get("/api/uploader/config")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "missing_token");

    let token = h.token().await;
    let mut req = h.bearer("GET", "/api/uploader/config", &token, "");
    req.headers_mut().remove("x-api-key");
    let answer = h.send(req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "missing_api_key");

    let answer = h
        .send(h.bearer("GET", "/api/uploader/config", "aubt_nope", ""))
        .await;
    assert_eq!(answer.error_code(), "invalid_token");
}

#[tokio::test]
async fn an_under_scoped_token_is_403_insufficient_scope() {
    let h = Harness::new();
    let token = h.token_with(json!({"scopes": ["upload:init"]})).await;
    let answer = h
        .send(h.bearer("GET", "/api/uploader/config", &token, ""))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert_eq!(answer.error_code(), "insufficient_scope");
    assert!(answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("integration:read"));

    let answer = h
        .send(h.bearer(
            "POST",
            "/api/uploader/upload/start",
            &token,
            &json!({"upload_id": UPLOAD_ID}).to_string(),
        ))
        .await;
    assert_eq!(answer.error_code(), "insufficient_scope");

    let manage_only = h.token_with(json!({"scopes": ["upload:manage"]})).await;
    let answer = h
        .send(h.bearer(
            "POST",
            "/api/uploader/upload/init",
            &manage_only,
            &init_body(),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let h = Harness::new();
    let token = h.token_with(json!({"ttl": 60})).await;
    h.clock.advance(60);
    let answer = h
        .send(h.bearer("GET", "/api/uploader/config", &token, ""))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "valid while exp >= now");
    h.clock.advance(1);
    let answer = h
        .send(h.bearer("GET", "/api/uploader/config", &token, ""))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "token_expired");
}

#[tokio::test]
async fn a_token_past_max_uses_is_401() {
    let h = Harness::new();
    let token = h.token_with(json!({"max_uses": 2})).await;
    for _ in 0..2 {
        let answer = h
            .send(h.bearer("GET", "/api/uploader/config", &token, ""))
            .await;
        assert_eq!(answer.status, StatusCode::OK);
    }
    let answer = h
        .send(h.bearer("GET", "/api/uploader/config", &token, ""))
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "token_exhausted");
}

#[tokio::test]
async fn the_31st_config_call_in_a_minute_is_429() {
    let h = Harness::new();
    let token = h.token().await;
    for i in 0..30 {
        let answer = h
            .send(h.bearer("GET", "/api/uploader/config", &token, ""))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "call {i}");
    }
    let answer = h
        .send(h.bearer("GET", "/api/uploader/config", &token, ""))
        .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.header("retry-after"), Some("60"));
}

#[tokio::test]
async fn the_61st_lifecycle_call_in_a_minute_is_429_and_uses_no_token_use() {
    let h = Harness::new();
    let token = h.token_with(json!({"max_uses": 61})).await;
    let body = json!({"upload_id": UPLOAD_ID, "assembly_id": "a1", "mode": "uploader"}).to_string();
    for i in 0..60 {
        let answer = h
            .send(h.bearer("POST", "/api/uploader/upload/start", &token, &body))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "call {i}");
    }
    let answer = h
        .send(h.bearer("POST", "/api/uploader/upload/start", &token, &body))
        .await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(answer.header("retry-after").is_some());
    // The refused call did not use up the 61st use.
    h.clock.advance(60);
    let answer = h
        .send(h.bearer("POST", "/api/uploader/upload/start", &token, &body))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn init_stores_studies_and_answers_their_ids() {
    let h = Harness::new();
    let token = h.token().await;
    let answer = h
        .send(h.bearer("POST", "/api/uploader/upload/init", &token, &init_body()))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    let studies = answer.json()["studies"].as_array().unwrap().clone();
    assert_eq!(studies.len(), 2);
    let ids: Vec<&str> = studies.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_ne!(ids[0], ids[1]);

    // Sending the same studies again keeps their ids.
    let again = h
        .send(h.bearer("POST", "/api/uploader/upload/init", &token, &init_body()))
        .await;
    assert_eq!(again.json()["studies"], json!(studies));

    let dev = h.dev_uploads().await;
    let session = &dev["sessions"][0];
    assert_eq!(session["upload_id"], UPLOAD_ID);
    assert_eq!(session["studies"][0]["study_uid"], "1.2.840.1");
    assert_eq!(session["studies"][0]["id"], ids[0]);
    assert_eq!(session["studies"][0]["images"], 12);
    // No patient names or descriptions in the inspection output.
    let text = dev.to_string();
    assert!(
        !text.contains("DOE^JANE") && !text.contains("CT HEAD"),
        "{text}"
    );
}

#[tokio::test]
async fn init_validates_its_body() {
    let h = Harness::new();
    let token = h.token().await;
    let answer = h
        .send(h.bearer("POST", "/api/uploader/upload/init", &token, "{"))
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer.json()["errors"]["body"].is_array());

    let answer = h
        .send(h.bearer(
            "POST",
            "/api/uploader/upload/init",
            &token,
            &json!({"upload_id": "../etc", "studies": []}).to_string(),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = answer.json();
    assert!(body["errors"]["upload_id"].is_array());
    assert!(body["errors"]["studies"].is_array());
    // The summary joins every field's messages.
    assert!(body["message"].as_str().unwrap().contains(", "));
}

#[tokio::test]
async fn lifecycle_events_are_recorded_in_order() {
    let h = Harness::new();
    let token = h.token().await;
    let steps = [
        ("init", init_body()),
        (
            "start",
            json!({"upload_id": UPLOAD_ID, "assembly_id": "as-1", "mode": "uploader"}).to_string(),
        ),
        (
            "error",
            json!({"upload_id": UPLOAD_ID, "message": "network dropped", "mode": "uploader"})
                .to_string(),
        ),
        (
            "start",
            json!({"upload_id": UPLOAD_ID, "assembly_id": "as-2", "mode": "uploader"}).to_string(),
        ),
        (
            "complete",
            json!({"upload_id": UPLOAD_ID, "assembly_id": "as-2", "mode": "uploader"}).to_string(),
        ),
    ];
    for (step, body) in &steps {
        let answer = h
            .send(h.bearer(
                "POST",
                &format!("/api/uploader/upload/{step}"),
                &token,
                body,
            ))
            .await;
        assert!(answer.status.is_success(), "{step}: {:?}", answer.json());
    }
    let dev = h.dev_uploads().await;
    let session = &dev["sessions"][0];
    let kinds: Vec<&str> = session["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["init", "start", "error", "start", "complete"]);
    assert_eq!(session["events"][2]["message"], "network dropped");
    assert_eq!(session["events"][3]["assembly_id"], "as-2");
    assert_eq!(session["status"], "completed");
}

#[tokio::test]
async fn cancel_sets_the_session_cancelled() {
    let h = Harness::new();
    let token = h.token().await;
    h.send(h.bearer("POST", "/api/uploader/upload/init", &token, &init_body()))
        .await;
    let answer = h
        .send(h.bearer(
            "POST",
            "/api/uploader/upload/cancel",
            &token,
            &json!({"upload_id": UPLOAD_ID, "mode": "uploader"}).to_string(),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["status"], "cancelled");
    assert_eq!(h.dev_uploads().await["sessions"][0]["status"], "cancelled");
}

#[tokio::test]
async fn lifecycle_calls_need_the_api_key() {
    let h = Harness::new();
    let token = h.token().await;
    let mut req = h.bearer("POST", "/api/uploader/upload/init", &token, &init_body());
    req.headers_mut().remove("x-api-key");
    let answer = h.send(req).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "missing_api_key");
}

#[tokio::test]
async fn manage_submit_and_withdraw_take_a_bearer_token_only() {
    let h = Harness::new();
    let token = h.token().await;
    let submit = Request::post("/api/uploader/manage/submit")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"upload_id": "your-upload-id", "metadata": {"study_type": "CT"}}).to_string(),
        ))
        .unwrap();
    let answer = h.send(submit).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
    assert_eq!(
        answer.json(),
        json!({"success": true, "upload_id": "your-upload-id", "status": "submitted", "message": null})
    );
    let withdraw = Request::post("/api/uploader/manage/withdraw")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(
            json!({"upload_id": "your-upload-id", "reason": "Duplicate upload"}).to_string(),
        ))
        .unwrap();
    let answer = h.send(withdraw).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json()["status"], "withdrawn");
    assert_eq!(answer.json()["message"], json!(null));

    let dev = h.dev_uploads().await;
    let events = dev["sessions"][0]["events"].as_array().unwrap().clone();
    assert_eq!(events[0]["kind"], "submit");
    assert_eq!(events[1]["kind"], "withdraw");
    assert_eq!(events[1]["message"], "Duplicate upload");
}

#[tokio::test]
async fn manage_without_a_token_is_401() {
    let h = Harness::new();
    let answer = h
        .send(
            Request::post("/api/uploader/manage/submit")
                .body(Body::from(json!({"upload_id": "x"}).to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.error_code(), "missing_token");
}

#[tokio::test]
async fn cors_preflight_allows_the_trunk_origin_with_the_tus_headers() {
    let h = Harness::new();
    let answer = h
        .send(
            Request::builder()
                .method("OPTIONS")
                .uri("/files/")
                .header("origin", "http://127.0.0.1:8081")
                .header("access-control-request-method", "PATCH")
                .header(
                    "access-control-request-headers",
                    "upload-offset, tus-resumable",
                )
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(answer.status.is_success());
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("http://127.0.0.1:8081")
    );
    let allowed = answer
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "authorization",
        "content-type",
        "upload-length",
        "upload-offset",
        "tus-resumable",
        "upload-metadata",
        "upload-defer-length",
        "upload-checksum",
        "x-request-id",
        "x-api-key",
    ] {
        assert!(allowed.contains(name), "{name} not allowed: {allowed}");
    }
    assert!(answer
        .header("access-control-allow-methods")
        .unwrap()
        .contains("PATCH"));
}

#[tokio::test]
async fn cors_preflight_of_the_exchange_allows_the_signing_headers() {
    let h = Harness::new();
    let preflight = |path: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri(path)
            .header("origin", "http://127.0.0.1:8081")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type, x-api-key, x-aura-nonce, x-aura-timestamp",
            )
            .body(Body::empty())
            .unwrap()
    };
    let answer = h.send(preflight("/api/auth/exchange")).await;
    assert!(answer.status.is_success());
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("http://127.0.0.1:8081")
    );
    let allowed = answer
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "authorization",
        "content-type",
        "x-api-key",
        "x-aura-timestamp",
        "x-aura-nonce",
    ] {
        assert!(allowed.contains(name), "{name} not allowed: {allowed}");
    }
    let other = h.send(preflight("/api/uploader/config")).await;
    let allowed = other
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        !allowed.contains("x-aura-nonce"),
        "signing headers only where a signature is checked: {allowed}"
    );
}

#[tokio::test]
async fn cors_responses_expose_the_tus_headers_to_allowed_origins_only() {
    let h = Harness::new();
    let token = h.token().await;
    let mut req = h.bearer("GET", "/api/uploader/config", &token, "");
    req.headers_mut()
        .insert("origin", "http://localhost:8081".parse().unwrap());
    let answer = h.send(req).await;
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("http://localhost:8081")
    );
    let exposed = answer
        .header("access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "upload-offset",
        "location",
        "upload-length",
        "tus-version",
        "tus-resumable",
        "tus-max-size",
        "tus-extension",
        "upload-metadata",
        "upload-expires",
        "retry-after",
    ] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }

    let mut req = h.bearer("GET", "/api/uploader/config", &token, "");
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let answer = h.send(req).await;
    assert!(answer.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn configured_origins_replace_the_defaults() {
    let h = Harness::with(|c| c.allowed_origins = Some(vec!["https://partner.example".into()]));
    let preflight = |origin: &'static str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/uploader/config")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .body(Body::empty())
            .unwrap()
    };
    let answer = h.send(preflight("https://partner.example")).await;
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://partner.example")
    );
    let answer = h.send(preflight("http://127.0.0.1:8081")).await;
    assert!(answer.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn unknown_routes_are_404_json() {
    let h = Harness::new();
    let answer = h
        .send(
            Request::get("/api/nothing/here/at/all")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(answer.json()["message"].is_string());
}
