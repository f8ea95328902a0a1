//! The test vector of `shared/spec/HMAC.md`, which both published
//! implementations agree on.

// Test helpers outside `#[test]` functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aura_hmac::{
    canonical_request, date_of, host_of_url, join_url, payload_hash, sign, signature,
    signed_header_names, signing_key, string_to_sign, Authorization, Credentials, Request,
};

const BODY: &[u8] = br#"{"ttl":3600,"scopes":["upload:init","upload:manage"]}"#;
const TIMESTAMP: u64 = 1_706_140_800;
const NONCE: &str = "550e8400-e29b-41d4-a716-446655440000";
const PAYLOAD_HASH: &str = "5335037164580247d5b44ecd0bafecaed26775a65e61c2fb867f39f97cbdd303";
const SIGNED_HEADERS: &str = "content-type;host;x-aura-nonce;x-aura-timestamp";
const SIGNATURE: &str = "4e865169c280c238e93ea51681fdf9e5977ecbf0dc60fbbf0b6b7ccba2005093";

fn creds() -> Credentials {
    Credentials {
        app_id: "test-app-id".into(),
        app_secret: "test-secret-key".into(),
    }
}

fn vector_request() -> Request {
    let url = join_url(Some("https://aura.example.com/api"), "/auth/exchange");
    let mut req = Request::from_url("POST", &url, BODY.to_vec()).unwrap();
    req.set_header("Host", &host_of_url(&url).unwrap());
    req.set_header("Content-Type", "application/json");
    req
}

#[test]
fn spec_vector_payload_hash_and_date() {
    assert_eq!(payload_hash(BODY), PAYLOAD_HASH);
    assert_eq!(date_of(TIMESTAMP), "20240125");
}

#[test]
fn spec_vector_signs_to_the_published_signature() {
    let mut req = vector_request();
    assert_eq!(req.path, "/api/auth/exchange");
    let added = sign(&creds(), &mut req, TIMESTAMP, NONCE).unwrap();

    let expected_header = format!(
        "AURA-HMAC-SHA256 Credential=test-app-id,SignedHeaders={SIGNED_HEADERS},Signature={SIGNATURE}"
    );
    assert_eq!(added.authorization, expected_header);
    assert_eq!(req.header("authorization"), Some(expected_header.as_str()));
    assert_eq!(added.timestamp, "1706140800");
    assert_eq!(req.header("x-aura-timestamp"), Some("1706140800"));
    assert_eq!(added.nonce, NONCE);
    assert_eq!(req.header("X-AURA-NONCE"), Some(NONCE));
    // Content-Type was already set, so sign did not add it.
    assert_eq!(added.content_type, None);

    let auth: Authorization = added.authorization.parse().unwrap();
    assert_eq!(auth.signed_headers.join(";"), SIGNED_HEADERS);
    assert_eq!(auth.signature, SIGNATURE);
}

#[test]
fn spec_vector_lower_level_pieces_agree() {
    let mut req = vector_request();
    sign(&creds(), &mut req, TIMESTAMP, NONCE).unwrap();
    let names = signed_header_names(&req);
    assert_eq!(names.join(";"), SIGNED_HEADERS);

    let canonical = canonical_request(&req, &names);
    assert_eq!(
        canonical,
        format!(
            "POST\n/api/auth/exchange\n\ncontent-type:application/json\nhost:aura.example.com\n\
             x-aura-nonce:{NONCE}\nx-aura-timestamp:1706140800\n\n{SIGNED_HEADERS}\n{PAYLOAD_HASH}"
        )
    );
    let to_sign = string_to_sign(TIMESTAMP, "test-app-id", &canonical);
    assert!(
        to_sign.starts_with("AURA-HMAC-SHA256\n1706140800\ntest-app-id/20240125/aura_request\n")
    );
    assert_eq!(
        signature("test-secret-key", "20240125", &to_sign),
        SIGNATURE
    );
    assert_ne!(
        signing_key("test-secret-key", "20240125"),
        signing_key("test-secret-key", "20240126")
    );
}

#[test]
fn sign_adds_json_content_type_to_a_body_without_one() {
    let url = "https://aura.example.com/api/auth/exchange";
    let mut req = Request::from_url("post", url, BODY.to_vec()).unwrap();
    req.set_header("host", "aura.example.com");
    let added = sign(&creds(), &mut req, TIMESTAMP, NONCE).unwrap();
    assert_eq!(added.content_type.as_deref(), Some("application/json"));
    assert_eq!(req.header("content-type"), Some("application/json"));
    // Lowercase method and header names sign the same as the vector.
    assert!(added.authorization.ends_with(SIGNATURE));
}

#[test]
fn sign_adds_no_content_type_without_a_body_or_for_get() {
    for (method, body) in [
        ("POST", Vec::new()),
        ("GET", BODY.to_vec()),
        ("DELETE", BODY.to_vec()),
    ] {
        let mut req = Request::from_url(method, "https://h/x", body).unwrap();
        req.set_header("Host", "h");
        let added = sign(&creds(), &mut req, TIMESTAMP, NONCE).unwrap();
        assert_eq!(added.content_type, None, "{method}");
        assert_eq!(req.header("content-type"), None, "{method}");
        assert!(added
            .authorization
            .contains("SignedHeaders=host;x-aura-nonce;x-aura-timestamp,"));
    }
}

#[test]
fn sign_requires_a_host_header() {
    let mut req = Request::from_url("GET", "https://h/x", Vec::new()).unwrap();
    assert_eq!(
        sign(&creds(), &mut req, TIMESTAMP, NONCE),
        Err(aura_hmac::Error::MissingHost)
    );
    req.set_header("Host", "  ");
    assert_eq!(
        sign(&creds(), &mut req, TIMESTAMP, NONCE),
        Err(aura_hmac::Error::MissingHost)
    );
    // Nothing was added on failure.
    assert_eq!(req.header("authorization"), None);
}

#[test]
fn sign_rejects_an_empty_nonce_and_an_unwritable_app_id() {
    let mut req = Request::from_url("GET", "https://h/x", Vec::new()).unwrap();
    req.set_header("Host", "h");
    assert_eq!(
        sign(&creds(), &mut req, TIMESTAMP, " "),
        Err(aura_hmac::Error::EmptyNonce)
    );
    let bad = Credentials {
        app_id: "a,b".into(),
        app_secret: "s".into(),
    };
    assert_eq!(
        sign(&bad, &mut req, TIMESTAMP, NONCE),
        Err(aura_hmac::Error::InvalidAppId)
    );
}

#[test]
fn resigning_replaces_the_previous_headers() {
    let mut req = vector_request();
    sign(&creds(), &mut req, TIMESTAMP + 1, "other-nonce").unwrap();
    let added = sign(&creds(), &mut req, TIMESTAMP, NONCE).unwrap();
    assert!(added.authorization.ends_with(SIGNATURE));
    let count = |name: &str| {
        req.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    };
    assert_eq!(count("authorization"), 1);
    assert_eq!(count("x-aura-nonce"), 1);
    assert_eq!(count("x-aura-timestamp"), 1);
}
