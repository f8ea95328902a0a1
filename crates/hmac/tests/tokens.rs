//! The token envelope and the lift and serve payloads (`shared/spec/TOKENS.md`).

// Test helpers outside `#[test]` functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aura_hmac::token::{self, LiftToken, ServeToken, MAX_SERVE_SECS, MIN_SERVE_SECS};
use aura_hmac::Error;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;

const UPLOAD_SECRET: &[u8] = b"sk_test_synthetic_upload_secret";
const SERVE_SECRET: &[u8] = b"psk_test_synthetic_serve_secret";
const NOW: u64 = 1_745_712_000;

fn lift() -> LiftToken {
    LiftToken {
        project_name: "my-app".into(),
        max_size: 5_242_880,
        allowed_types: vec!["application/zip".into()],
        iat: NOW,
        exp: NOW + 3600,
        visibility: Some("private".into()),
        upload_id: None,
    }
}

#[test]
fn lift_token_round_trips() {
    let text = lift().mint(UPLOAD_SECRET).unwrap();
    assert_eq!(LiftToken::verify(UPLOAD_SECRET, &text, NOW), Ok(lift()));
    assert_eq!(
        LiftToken::verify(UPLOAD_SECRET, &text, NOW + 3600),
        Ok(lift())
    );
    let opened: LiftToken = token::open(UPLOAD_SECRET, &text).unwrap();
    assert_eq!(opened, lift());
}

#[test]
fn lift_token_json_uses_the_wire_field_names_in_reference_order() {
    let text = lift().mint(UPLOAD_SECRET).unwrap();
    let (payload, _) = text.rsplit_once('.').unwrap();
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(
        json,
        r#"{"projectName":"my-app","maxSize":5242880,"allowedTypes":["application/zip"],"iat":1745712000,"exp":1745715600,"visibility":"private"}"#
    );

    let bound = LiftToken {
        visibility: None,
        upload_id: Some("u-1".into()),
        ..lift()
    };
    let text = bound.mint(UPLOAD_SECRET).unwrap();
    let (payload, _) = text.rsplit_once('.').unwrap();
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(
        json.ends_with(r#""exp":1745715600,"upload_id":"u-1"}"#),
        "{json}"
    );
    assert_eq!(LiftToken::verify(UPLOAD_SECRET, &text, NOW), Ok(bound));
}

#[test]
fn hmac_is_over_the_encoded_payload_string() {
    let text = lift().mint(UPLOAD_SECRET).unwrap();
    let (payload, sig) = text.rsplit_once('.').unwrap();
    let expected = {
        use hmac_check::mac;
        mac(UPLOAD_SECRET, payload.as_bytes())
    };
    assert_eq!(URL_SAFE_NO_PAD.decode(sig).unwrap(), expected);
    assert!(!text.contains('='));
}

/// An independent HMAC through the `aura_hmac` signing key path would be
/// circular, so recompute with the RFC 2104 construction over `sha2`.
mod hmac_check {
    use sha2::{Digest, Sha256};

    pub fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut block = [0u8; 64];
        block[..key.len()].copy_from_slice(key);
        let inner: Vec<u8> = block
            .iter()
            .map(|b| b ^ 0x36)
            .chain(data.iter().copied())
            .collect();
        let inner = Sha256::digest(&inner);
        let outer: Vec<u8> = block
            .iter()
            .map(|b| b ^ 0x5c)
            .chain(inner.iter().copied())
            .collect();
        Sha256::digest(&outer).to_vec()
    }
}

#[test]
fn padded_tokens_are_rejected() {
    let text = lift().mint(UPLOAD_SECRET).unwrap();
    let (payload, sig) = text.rsplit_once('.').unwrap();
    // Re-encode both halves with padding; a 32-byte MAC always needs one '='.
    let padded_sig = URL_SAFE.encode(URL_SAFE_NO_PAD.decode(sig).unwrap());
    assert!(padded_sig.ends_with('='));
    let padded = format!("{payload}.{padded_sig}");
    assert_eq!(
        token::open::<LiftToken>(UPLOAD_SECRET, &padded),
        Err(Error::PaddedToken)
    );
    assert_eq!(
        LiftToken::verify(UPLOAD_SECRET, &format!("{text}=="), NOW),
        Err(Error::PaddedToken)
    );
}

#[test]
fn tampered_payloads_are_rejected() {
    let text = lift().mint(UPLOAD_SECRET).unwrap();
    let (_, sig) = text.rsplit_once('.').unwrap();
    let bigger = LiftToken {
        max_size: u64::MAX,
        ..lift()
    };
    let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&bigger).unwrap());
    let forged = format!("{forged_payload}.{sig}");
    assert_eq!(
        LiftToken::verify(UPLOAD_SECRET, &forged, NOW),
        Err(Error::TokenSignatureMismatch)
    );
    // Signed with another secret.
    let other = lift().mint(SERVE_SECRET).unwrap();
    assert_eq!(
        LiftToken::verify(UPLOAD_SECRET, &other, NOW),
        Err(Error::TokenSignatureMismatch)
    );
    // A truncated signature.
    assert_eq!(
        LiftToken::verify(UPLOAD_SECRET, &text[..text.len() - 4], NOW),
        Err(Error::TokenSignatureMismatch)
    );
}

#[test]
fn structurally_broken_tokens_are_malformed() {
    for bad in ["", "no-dot-here", ".sig", "payload.", "payload.not*base64"] {
        let got = token::open::<LiftToken>(UPLOAD_SECRET, bad);
        assert!(
            matches!(got, Err(Error::MalformedToken(_))),
            "{bad}: {got:?}"
        );
    }
    // Correctly signed, but not a lift token payload.
    let serve = ServeToken::mint(UPLOAD_SECRET, "p", "f", NOW, 600).unwrap();
    let got = LiftToken::verify(UPLOAD_SECRET, &serve, NOW);
    assert!(matches!(got, Err(Error::MalformedToken(_))), "{got:?}");
}

#[test]
fn the_verifier_splits_on_the_last_dot() {
    // A signed payload that is itself not valid base64url (contains '.'):
    // the HMAC covers "a.b", so the signature matches and only decoding fails.
    let encoded = "a.b";
    let sig = URL_SAFE_NO_PAD.encode(hmac_check::mac(UPLOAD_SECRET, encoded.as_bytes()));
    // Splitting on the first '.' would fail on the signature instead.
    let got = token::open::<LiftToken>(UPLOAD_SECRET, &format!("{encoded}.{sig}"));
    assert_eq!(
        got,
        Err(Error::MalformedToken("payload is not base64url".into()))
    );
}

#[test]
fn expired_lift_tokens_are_rejected() {
    let text = lift().mint(UPLOAD_SECRET).unwrap();
    assert_eq!(
        LiftToken::verify(UPLOAD_SECRET, &text, NOW + 3601),
        Err(Error::TokenExpired)
    );
}

#[test]
fn reserved_projects_are_recognised_in_any_case() {
    for name in [
        "api", "admin", "cdn", "health", "registry", "static", "test", "v1", "API",
    ] {
        let t = LiftToken {
            project_name: name.into(),
            ..lift()
        };
        assert!(t.is_reserved_project(), "{name}");
    }
    for name in ["my-app", "apis", "v2", ""] {
        let t = LiftToken {
            project_name: name.into(),
            ..lift()
        };
        assert!(!t.is_reserved_project(), "{name}");
    }
}

#[test]
fn serve_token_round_trips() {
    let text = ServeToken::mint(SERVE_SECRET, "my-app", "scan.zip", NOW, 600).unwrap();
    let got = ServeToken::verify(SERVE_SECRET, &text, "my-app", "scan.zip", NOW + 600).unwrap();
    assert_eq!(
        got,
        ServeToken {
            p: "my-app".into(),
            f: "scan.zip".into(),
            exp: NOW + 600
        }
    );
    let (payload, _) = text.rsplit_once('.').unwrap();
    assert_eq!(
        URL_SAFE_NO_PAD.decode(payload).unwrap(),
        br#"{"p":"my-app","f":"scan.zip","exp":1745712600}"#
    );
}

#[test]
fn serve_lifetime_is_clamped_to_one_minute_through_seven_days() {
    for (asked, granted) in [
        (0, MIN_SERVE_SECS),
        (1, 60),
        (60, 60),
        (600, 600),
        (604_800, 604_800),
        (1_000_000_000, MAX_SERVE_SECS),
    ] {
        let text = ServeToken::mint(SERVE_SECRET, "p", "f", NOW, asked).unwrap();
        let got: ServeToken = token::open(SERVE_SECRET, &text).unwrap();
        assert_eq!(got.exp - NOW, granted, "asked {asked}");
    }
}

#[test]
fn serve_token_for_another_path_is_rejected() {
    let text = ServeToken::mint(SERVE_SECRET, "my-app", "scan.zip", NOW, 600).unwrap();
    for (project, file) in [
        ("other", "scan.zip"),
        ("my-app", "other.zip"),
        ("My-App", "scan.zip"),
        ("my-app", "scan.zip/"),
        ("my-app", "./scan.zip"),
    ] {
        assert_eq!(
            ServeToken::verify(SERVE_SECRET, &text, project, file, NOW),
            Err(Error::TokenPathMismatch),
            "{project}/{file}"
        );
    }
}

#[test]
fn expired_or_foreign_serve_tokens_are_rejected() {
    let text = ServeToken::mint(SERVE_SECRET, "p", "f", NOW, 60).unwrap();
    assert_eq!(
        ServeToken::verify(SERVE_SECRET, &text, "p", "f", NOW + 61),
        Err(Error::TokenExpired)
    );
    // Signed with the upload secret instead of the serve secret.
    let wrong = ServeToken::mint(UPLOAD_SECRET, "p", "f", NOW, 60).unwrap();
    assert_eq!(
        ServeToken::verify(SERVE_SECRET, &wrong, "p", "f", NOW),
        Err(Error::TokenSignatureMismatch)
    );
}
