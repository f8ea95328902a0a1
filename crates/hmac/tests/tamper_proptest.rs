//! Property: a signed request verifies, and any change after signing to the
//! method, path, a query value, a signed header, the body, the timestamp or the
//! nonce makes `verify` fail.

// Test helpers outside `#[test]` functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aura_hmac::{sign, verify, Credentials, MemoryNonceStore, Request, VerifyOptions};
use proptest::prelude::*;

const SECRET: &str = "prop-secret";

#[derive(Debug, Clone)]
struct Parts {
    method: String,
    host: String,
    path: String,
    query: Vec<(String, String)>,
    content_type: String,
    body: Vec<u8>,
    timestamp: u64,
    nonce: String,
}

#[derive(Debug, Clone)]
enum Tamper {
    Method(String),
    Path(String),
    QueryValue(prop::sample::Index, String),
    Host(String),
    ContentType(String),
    Body(Vec<u8>),
    Timestamp(u64),
    Nonce(String),
}

fn parts() -> impl Strategy<Value = Parts> {
    (
        prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE"]),
        "[a-z]{1,10}\\.example\\.com(:[1-9][0-9]{3})?",
        "(/[a-z0-9._~-]{0,8}){1,4}",
        prop::collection::vec(("[a-z]{1,4}", "[a-z0-9%]{0,6}"), 1..5),
        "(application|text)/[a-z]{1,8}",
        prop::collection::vec(any::<u8>(), 0..64),
        1_000_000_000u64..4_000_000_000,
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
    )
        .prop_map(
            |(method, host, path, query, content_type, body, timestamp, nonce)| Parts {
                method: method.to_owned(),
                host,
                path,
                query,
                content_type,
                body,
                timestamp,
                nonce,
            },
        )
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
            .prop_map(|m| Tamper::Method(m.to_owned())),
        "(/[a-z0-9._~-]{0,8}){1,4}".prop_map(Tamper::Path),
        (any::<prop::sample::Index>(), "[a-z0-9%]{0,6}")
            .prop_map(|(i, v)| Tamper::QueryValue(i, v)),
        "[a-z]{1,10}\\.example\\.(com|org)".prop_map(Tamper::Host),
        "(application|text)/[a-z]{1,8}".prop_map(Tamper::ContentType),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Tamper::Body),
        (1u64..=300).prop_flat_map(|d| prop_oneof![
            Just(Tamper::Timestamp(d)),
            Just(Tamper::Timestamp(d.wrapping_neg()))
        ]),
        "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
            .prop_map(Tamper::Nonce),
    ]
}

fn signed(parts: &Parts) -> Request {
    let mut req = Request {
        method: parts.method.clone(),
        path: parts.path.clone(),
        query: parts.query.clone(),
        headers: vec![
            ("Host".into(), parts.host.clone()),
            ("Content-Type".into(), parts.content_type.clone()),
        ],
        body: parts.body.clone(),
    };
    let creds = Credentials {
        app_id: "prop-app".into(),
        app_secret: SECRET.into(),
    };
    sign(&creds, &mut req, parts.timestamp, &parts.nonce).unwrap();
    req
}

fn check(req: &Request, parts: &Parts) -> Result<String, aura_hmac::Error> {
    verify(
        req,
        |_| Some(SECRET.to_owned()),
        &mut MemoryNonceStore::default(),
        &VerifyOptions::new(&parts.host, parts.timestamp),
    )
}

/// Applies `tamper`; returns `false` when it would not change the request (a
/// no-op draw, which the property then skips).
fn apply(req: &mut Request, tamper: &Tamper) -> bool {
    match tamper {
        Tamper::Method(m) => {
            if m.eq_ignore_ascii_case(&req.method) {
                return false;
            }
            req.method = m.clone();
        }
        Tamper::Path(p) => {
            if *p == req.path {
                return false;
            }
            req.path = p.clone();
        }
        Tamper::QueryValue(i, v) => {
            let at = i.index(req.query.len());
            let pair = &mut req.query[at];
            if pair.1 == *v {
                return false;
            }
            pair.1 = v.clone();
        }
        Tamper::Host(h) => {
            if req.header("host") == Some(h.as_str()) {
                return false;
            }
            req.set_header("Host", h);
        }
        Tamper::ContentType(c) => {
            if req.header("content-type") == Some(c.as_str()) {
                return false;
            }
            req.set_header("Content-Type", c);
        }
        Tamper::Body(b) => {
            if *b == req.body {
                return false;
            }
            req.body = b.clone();
        }
        Tamper::Timestamp(delta) => {
            let Some(old) = req
                .header("x-aura-timestamp")
                .and_then(|t| t.parse::<u64>().ok())
            else {
                return false;
            };
            req.set_header("X-Aura-Timestamp", &old.wrapping_add(*delta).to_string());
        }
        Tamper::Nonce(n) => {
            if req.header("x-aura-nonce") == Some(n.as_str()) {
                return false;
            }
            req.set_header("X-Aura-Nonce", n);
        }
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn untouched_signed_requests_verify(parts in parts()) {
        let req = signed(&parts);
        prop_assert_eq!(check(&req, &parts), Ok("prop-app".to_owned()));
    }

    #[test]
    fn any_change_after_signing_fails_verification(parts in parts(), tamper in tamper()) {
        let mut req = signed(&parts);
        prop_assume!(apply(&mut req, &tamper));
        let got = check(&req, &parts);
        prop_assert!(got.is_err(), "{:?} verified after {:?}", got, tamper);
    }
}
