//! `verify`: the round trip with `sign`, and every way it rejects a request.

// Test helpers outside `#[test]` functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aura_hmac::{
    sign, verify, Credentials, Error, MemoryNonceStore, NonceStore, Request, VerifyOptions,
};

const HOST: &str = "aura.example.com";
const NOW: u64 = 1_706_140_800;
const NONCE: &str = "550e8400-e29b-41d4-a716-446655440000";
const SIG: &str = "4e865169c280c238e93ea51681fdf9e5977ecbf0dc60fbbf0b6b7ccba2005093";

fn creds() -> Credentials {
    Credentials {
        app_id: "test-app-id".into(),
        app_secret: "test-secret-key".into(),
    }
}

fn lookup(app_id: &str) -> Option<String> {
    (app_id == "test-app-id").then(|| "test-secret-key".to_owned())
}

fn signed_request_at(timestamp: u64, nonce: &str) -> Request {
    let mut req = Request::from_url(
        "POST",
        "https://aura.example.com/api/auth/exchange?b=2&a=1",
        br#"{"ttl":3600}"#.to_vec(),
    )
    .unwrap();
    req.set_header("Host", HOST);
    req.set_header("X-Api-Key", "not-signed");
    sign(&creds(), &mut req, timestamp, nonce).unwrap();
    req
}

fn signed_request() -> Request {
    signed_request_at(NOW, NONCE)
}

fn check(req: &Request) -> Result<String, Error> {
    verify(
        req,
        lookup,
        &mut MemoryNonceStore::default(),
        &VerifyOptions::new(HOST, NOW),
    )
}

fn with_authorization(value: &str) -> Request {
    let mut req = signed_request();
    req.set_header("Authorization", value);
    req
}

#[test]
fn signed_request_verifies_and_returns_the_app_id() {
    assert_eq!(check(&signed_request()), Ok("test-app-id".to_owned()));
}

#[test]
fn verify_ignores_header_name_case_and_host_case() {
    let mut req = signed_request();
    for (name, _) in &mut req.headers {
        *name = name.to_ascii_uppercase();
    }
    let opts = VerifyOptions::new("AURA.example.COM", NOW);
    let got = verify(&req, lookup, &mut MemoryNonceStore::default(), &opts);
    assert_eq!(got, Ok("test-app-id".to_owned()));
}

#[test]
fn unsigned_headers_may_change() {
    let mut req = signed_request();
    req.set_header("X-Api-Key", "another-key");
    req.set_header("User-Agent", "test");
    assert!(check(&req).is_ok());
}

#[test]
fn missing_authorization_is_rejected() {
    let mut req = signed_request();
    req.headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
    assert_eq!(check(&req), Err(Error::MissingAuthorization));
    assert_eq!(
        check(&with_authorization("  ")),
        Err(Error::MissingAuthorization)
    );
}

#[test]
fn malformed_authorization_is_rejected() {
    let good = signed_request().header("authorization").unwrap().to_owned();
    let cases = [
        "AURA-HMAC-SHA256".to_owned(),
        good.replace(",SignedHeaders", ", SignedHeaders"),
        good.replace("Credential=", "Cred="),
        good.replace("Signature=", "Sig="),
        format!("{good},Extra=1"),
        good.replace("host;", "Host;"),
    ];
    for value in cases {
        let got = check(&with_authorization(&value));
        assert!(
            matches!(got, Err(Error::MalformedAuthorization(_))),
            "{value}: {got:?}"
        );
    }
}

#[test]
fn uppercase_or_non_hex_or_short_signature_is_malformed() {
    let good = signed_request().header("authorization").unwrap().to_owned();
    let (head, sig) = good.rsplit_once('=').unwrap();
    for bad_sig in [
        sig.to_uppercase(),
        format!("{}z", &sig[..63]),
        sig[..63].to_owned(),
        format!("{sig}0"),
    ] {
        let got = check(&with_authorization(&format!("{head}={bad_sig}")));
        assert!(
            matches!(got, Err(Error::MalformedAuthorization(_))),
            "{bad_sig}: {got:?}"
        );
    }
}

#[test]
fn another_scheme_is_wrong_algorithm() {
    let good = signed_request().header("authorization").unwrap().to_owned();
    let other = good.replace("AURA-HMAC-SHA256", "AWS4-HMAC-SHA256");
    assert_eq!(
        check(&with_authorization(&other)),
        Err(Error::WrongAlgorithm)
    );
    assert_eq!(
        check(&with_authorization("Bearer abc")),
        Err(Error::WrongAlgorithm)
    );
}

#[test]
fn each_required_header_must_be_signed() {
    let good = signed_request().header("authorization").unwrap().to_owned();
    for (list, missing) in [
        ("content-type;x-aura-nonce;x-aura-timestamp", "host"),
        ("content-type;host;x-aura-timestamp", "x-aura-nonce"),
        ("content-type;host;x-aura-nonce", "x-aura-timestamp"),
        ("host;x-aura-nonce;x-aura-timestamp", "content-type"),
    ] {
        let value = good.replace("content-type;host;x-aura-nonce;x-aura-timestamp", list);
        assert_ne!(value, good);
        assert_eq!(
            check(&with_authorization(&value)),
            Err(Error::MissingSignedHeader(missing.to_owned())),
            "{list}"
        );
    }
}

#[test]
fn a_signed_header_missing_from_the_request_is_rejected() {
    let mut req = signed_request();
    req.headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("x-aura-nonce"));
    assert_eq!(
        check(&req),
        Err(Error::MissingHeader("x-aura-nonce".into()))
    );

    // An extra signed header that the request does not carry.
    let good = signed_request().header("authorization").unwrap().to_owned();
    let value = good.replace("x-aura-timestamp,", "x-aura-timestamp;x-extra,");
    assert_eq!(
        check(&with_authorization(&value)),
        Err(Error::MissingHeader("x-extra".into()))
    );
}

#[test]
fn another_host_is_rejected() {
    let req = signed_request();
    let opts = VerifyOptions::new("evil.example.com", NOW);
    let got = verify(&req, lookup, &mut MemoryNonceStore::default(), &opts);
    assert_eq!(got, Err(Error::HostMismatch));
}

#[test]
fn old_and_future_timestamps_are_rejected_at_the_window_edge() {
    for (timestamp, ok) in [
        (NOW - 300, true),
        (NOW - 301, false),
        (NOW + 300, true),
        (NOW + 301, false),
        (NOW * 1000, false), // milliseconds
    ] {
        let got = check(&signed_request_at(timestamp, NONCE));
        if ok {
            assert!(got.is_ok(), "{timestamp}: {got:?}");
        } else {
            assert_eq!(got, Err(Error::TimestampOutOfWindow), "{timestamp}");
        }
    }
}

#[test]
fn a_custom_window_is_honoured() {
    let req = signed_request_at(NOW - 60, NONCE);
    let opts = VerifyOptions {
        expected_host: HOST,
        now: NOW,
        window_secs: 30,
    };
    let got = verify(&req, lookup, &mut MemoryNonceStore::with_window(30), &opts);
    assert_eq!(got, Err(Error::TimestampOutOfWindow));
}

#[test]
fn a_non_decimal_timestamp_is_invalid() {
    for bad in ["abc", "+1706140800", "01706140800", "1706140800.0"] {
        let mut req = signed_request();
        req.set_header("X-Aura-Timestamp", bad);
        assert_eq!(check(&req), Err(Error::InvalidTimestamp), "{bad}");
    }
}

#[test]
fn an_unknown_app_is_rejected() {
    let req = signed_request();
    let got = verify(
        &req,
        |_| None,
        &mut MemoryNonceStore::default(),
        &VerifyOptions::new(HOST, NOW),
    );
    assert_eq!(got, Err(Error::UnknownApp));
}

#[test]
fn a_wrong_secret_or_signature_is_a_mismatch() {
    let req = signed_request();
    let got = verify(
        &req,
        |_| Some("another-secret".to_owned()),
        &mut MemoryNonceStore::default(),
        &VerifyOptions::new(HOST, NOW),
    );
    assert_eq!(got, Err(Error::SignatureMismatch));

    let good = req.header("authorization").unwrap().to_owned();
    let (head, _) = good.rsplit_once('=').unwrap();
    assert_eq!(
        check(&with_authorization(&format!("{head}={SIG}"))),
        Err(Error::SignatureMismatch)
    );
}

#[test]
fn a_tampered_body_is_a_mismatch() {
    let mut req = signed_request();
    req.body = br#"{"ttl":7200}"#.to_vec();
    assert_eq!(check(&req), Err(Error::SignatureMismatch));
}

#[test]
fn a_replayed_nonce_is_rejected_but_a_fresh_one_passes() {
    let mut store = MemoryNonceStore::default();
    let opts = VerifyOptions::new(HOST, NOW);
    let req = signed_request();
    assert!(verify(&req, lookup, &mut store, &opts).is_ok());
    assert_eq!(
        verify(&req, lookup, &mut store, &opts),
        Err(Error::ReplayedNonce)
    );
    let fresh = signed_request_at(NOW, "another-nonce");
    assert!(verify(&fresh, lookup, &mut store, &opts).is_ok());
}

#[test]
fn an_invalid_signature_consumes_no_nonce() {
    let mut store = MemoryNonceStore::default();
    let opts = VerifyOptions::new(HOST, NOW);
    let mut forged = signed_request();
    forged.body = b"forged".to_vec();
    assert_eq!(
        verify(&forged, lookup, &mut store, &opts),
        Err(Error::SignatureMismatch)
    );
    assert!(store.is_empty());
    assert!(verify(&signed_request(), lookup, &mut store, &opts).is_ok());
}

#[test]
fn verify_consults_the_store_with_app_nonce_and_times() {
    struct Recording(Vec<(String, String, u64, u64)>);
    impl NonceStore for Recording {
        fn check_and_insert(&mut self, app: &str, nonce: &str, ts: u64, now: u64) -> bool {
            self.0.push((app.into(), nonce.into(), ts, now));
            false
        }
    }
    let mut store = Recording(Vec::new());
    let req = signed_request_at(NOW - 5, NONCE);
    let got = verify(&req, lookup, &mut store, &VerifyOptions::new(HOST, NOW));
    assert_eq!(got, Err(Error::ReplayedNonce));
    assert_eq!(
        store.0,
        vec![("test-app-id".to_owned(), NONCE.to_owned(), NOW - 5, NOW)]
    );
}

#[test]
fn error_codes_are_snake_case_and_messages_lowercase_without_secrets() {
    let errors = [
        Error::MissingHost,
        Error::InvalidUrl,
        Error::InvalidAppId,
        Error::EmptyNonce,
        Error::MissingAuthorization,
        Error::MalformedAuthorization("signature must be 64 lowercase hex digits".into()),
        Error::WrongAlgorithm,
        Error::MissingSignedHeader("host".into()),
        Error::MissingHeader("host".into()),
        Error::HostMismatch,
        Error::InvalidTimestamp,
        Error::TimestampOutOfWindow,
        Error::UnknownApp,
        Error::SignatureMismatch,
        Error::ReplayedNonce,
        Error::MalformedToken("payload is not base64url".into()),
        Error::PaddedToken,
        Error::TokenSignatureMismatch,
        Error::TokenExpired,
        Error::TokenPathMismatch,
        Error::UnserializablePayload("x".into()),
    ];
    let mut codes: Vec<&str> = errors.iter().map(Error::code).collect();
    for (error, code) in errors.iter().zip(&codes) {
        assert!(
            code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code}"
        );
        let message = error.to_string();
        assert!(
            message.starts_with(|c: char| c.is_ascii_lowercase()),
            "{message}"
        );
        assert!(!message.contains("test-secret-key"));
    }
    assert_eq!(Error::SignatureMismatch.code(), "signature_mismatch");
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), errors.len(), "codes must be distinct");
}
