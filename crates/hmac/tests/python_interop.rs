//! Interop with the Python reference signers of seed 003
//! (`tests/fixtures/reference_signer.py`): tokens minted there verify here, and
//! tokens minted here verify there, byte-equal for the same ASCII payload.
//!
//! Needs `python3` (3.8+); when it is missing each test prints a notice and
//! passes without checking anything.

// Test helpers outside `#[test]` functions unwrap too; a panic is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

use aura_hmac::token::{LiftToken, ServeToken};
use aura_hmac::Error;

/// Synthetic secrets; see tests/fixtures/README.md.
const UPLOAD_SECRET: &str = "sk_test_interop_upload_secret";
const SERVE_SECRET: &str = "psk_test_interop_serve_secret";
const NOW: u64 = 1_745_712_000;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference_signer.py")
}

/// Runs the reference script, or `None` (after a notice) when python3 is missing.
fn python(args: &[&str]) -> Option<Output> {
    match Command::new("python3").arg(script()).args(args).output() {
        Ok(output) => Some(output),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("notice: python3 not found; skipping the python interop check");
            None
        }
        Err(e) => panic!("cannot run python3: {e}"),
    }
}

/// Runs the script and returns its stdout, trimmed; fails the test on a
/// non-zero exit.
fn python_ok(args: &[&str]) -> Option<String> {
    let output = python(args)?;
    assert!(
        output.status.success(),
        "reference_signer.py {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).unwrap().trim().to_owned())
}

fn now_arg() -> String {
    NOW.to_string()
}

fn lift() -> LiftToken {
    LiftToken {
        project_name: "my-app".into(),
        max_size: 104_857_600,
        allowed_types: vec!["application/zip".into()],
        iat: NOW,
        exp: NOW + 3600,
        visibility: Some("private".into()),
        upload_id: None,
    }
}

#[test]
fn python_lift_token_verifies_in_rust_and_equals_rust_minted() {
    let now = now_arg();
    let Some(py_token) = python_ok(&[
        "upload",
        UPLOAD_SECRET,
        "my-app",
        "--now",
        &now,
        "--max-size",
        "104857600",
        "--allowed-type",
        "application/zip",
        "--expires-in",
        "3600",
        "--visibility",
        "private",
    ]) else {
        return;
    };
    assert_eq!(
        LiftToken::verify(UPLOAD_SECRET.as_bytes(), &py_token, NOW),
        Ok(lift())
    );
    assert_eq!(lift().mint(UPLOAD_SECRET.as_bytes()).unwrap(), py_token);
    assert_eq!(
        LiftToken::verify(UPLOAD_SECRET.as_bytes(), &py_token, NOW + 3601),
        Err(Error::TokenExpired)
    );
    assert_eq!(
        LiftToken::verify(SERVE_SECRET.as_bytes(), &py_token, NOW),
        Err(Error::TokenSignatureMismatch)
    );
}

#[test]
fn python_lift_token_without_visibility_verifies_in_rust() {
    let now = now_arg();
    let Some(py_token) = python_ok(&["upload", UPLOAD_SECRET, "public-app", "--now", &now]) else {
        return;
    };
    let expected = LiftToken {
        project_name: "public-app".into(),
        max_size: 5_242_880,
        allowed_types: vec!["image/*".into()],
        iat: NOW,
        exp: NOW + 3600,
        visibility: None,
        upload_id: None,
    };
    assert_eq!(
        LiftToken::verify(UPLOAD_SECRET.as_bytes(), &py_token, NOW),
        Ok(expected.clone())
    );
    assert_eq!(expected.mint(UPLOAD_SECRET.as_bytes()).unwrap(), py_token);
}

#[test]
fn python_serve_token_verifies_in_rust_and_equals_rust_minted() {
    let now = now_arg();
    for (asked, granted) in [("600", 600), ("1", 60), ("1000000000", 604_800)] {
        let Some(py_token) = python_ok(&[
            "serve",
            SERVE_SECRET,
            "my-app",
            "study-1.zip",
            "--now",
            &now,
            "--expires-in",
            asked,
        ]) else {
            return;
        };
        let got = ServeToken::verify(
            SERVE_SECRET.as_bytes(),
            &py_token,
            "my-app",
            "study-1.zip",
            NOW,
        )
        .unwrap();
        assert_eq!(got.exp, NOW + granted, "asked {asked}");
        let rust_token = ServeToken::mint(
            SERVE_SECRET.as_bytes(),
            "my-app",
            "study-1.zip",
            NOW,
            asked.parse().unwrap(),
        )
        .unwrap();
        assert_eq!(rust_token, py_token, "asked {asked}");
        assert_eq!(
            ServeToken::verify(
                SERVE_SECRET.as_bytes(),
                &py_token,
                "my-app",
                "other.zip",
                NOW
            ),
            Err(Error::TokenPathMismatch)
        );
    }
}

#[test]
fn rust_tokens_verify_in_python() {
    let now = now_arg();
    let bound = LiftToken {
        upload_id: Some("upl_0001".into()),
        ..lift()
    };
    let lift_token = bound.mint(UPLOAD_SECRET.as_bytes()).unwrap();
    let Some(payload) = python_ok(&["verify", UPLOAD_SECRET, &lift_token, "--now", &now]) else {
        return;
    };
    assert_eq!(payload, serde_json::to_string(&bound).unwrap());
    let parsed: LiftToken = serde_json::from_str(&payload).unwrap();
    assert_eq!(parsed, bound);

    let serve_token =
        ServeToken::mint(SERVE_SECRET.as_bytes(), "my-app", "study-1.zip", NOW, 600).unwrap();
    let payload = python_ok(&[
        "verify",
        SERVE_SECRET,
        &serve_token,
        "--now",
        &now,
        "--project",
        "my-app",
        "--file",
        "study-1.zip",
    ])
    .unwrap();
    assert_eq!(
        payload,
        r#"{"p":"my-app","f":"study-1.zip","exp":1745712600}"#
    );
}

#[test]
fn python_rejects_what_rust_rejects() {
    let now = now_arg();
    let token = lift().mint(UPLOAD_SECRET.as_bytes()).unwrap();
    let later = (NOW + 3601).to_string();
    let (payload, sig) = token.rsplit_once('.').unwrap();
    let tampered = format!("{}A.{sig}", payload);
    let padded = format!("{token}=");
    let cases: [(&str, &str, &str); 4] = [
        (SERVE_SECRET, &token, &now),
        (UPLOAD_SECRET, &token, &later),
        (UPLOAD_SECRET, &tampered, &now),
        (UPLOAD_SECRET, &padded, &now),
    ];
    for (secret, token, at) in cases {
        let Some(output) = python(&["verify", secret, token, "--now", at]) else {
            return;
        };
        assert_eq!(
            output.status.code(),
            Some(1),
            "python accepted {token} at {at}"
        );
        assert!(LiftToken::verify(secret.as_bytes(), token, at.parse().unwrap()).is_err());
    }
}
