//! The signed-token envelope of `TOKENS.md`, and its two payloads.
//!
//! A token is `<b64url(json)>.<b64url(hmac_sha256(secret, b64url(json)))>`, both
//! parts base64url without padding. The HMAC input is the encoded payload
//! *string*. Padded input is rejected; the verifier splits on the last `.`,
//! compares the HMAC in constant time, and only then decodes and parses the JSON.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::{hmac_sha256, Error};

/// Shortest serve-token lifetime, in seconds (1 minute).
pub const MIN_SERVE_SECS: u64 = 60;
/// Longest serve-token lifetime, in seconds (7 days).
pub const MAX_SERVE_SECS: u64 = 604_800;

/// Project names a lift token may not target, because they collide with the
/// edge's own routes.
pub const RESERVED_PROJECTS: [&str; 8] = [
    "api", "admin", "cdn", "health", "registry", "static", "test", "v1",
];

/// Mints a token for `payload` serialised as compact JSON (`serde_json::to_vec`,
/// fields in declaration order).
pub fn mint<T: Serialize>(secret: &[u8], payload: &T) -> Result<String, Error> {
    let json =
        serde_json::to_vec(payload).map_err(|e| Error::UnserializablePayload(e.to_string()))?;
    let encoded = URL_SAFE_NO_PAD.encode(json);
    let mac = hmac_sha256(secret, encoded.as_bytes());
    Ok(format!("{encoded}.{}", URL_SAFE_NO_PAD.encode(mac)))
}

/// Checks a token's HMAC under `secret` and parses its payload.
///
/// Checks only the envelope: expiry and other claims are the caller's (see
/// [`LiftToken::verify`] and [`ServeToken::verify`]).
pub fn open<T: DeserializeOwned>(secret: &[u8], token: &str) -> Result<T, Error> {
    if token.contains('=') {
        return Err(Error::PaddedToken);
    }
    let (encoded, signature) = token.rsplit_once('.').ok_or_else(|| {
        Error::MalformedToken("expected <payload>.<signature>, found no '.'".to_owned())
    })?;
    if encoded.is_empty() || signature.is_empty() {
        return Err(Error::MalformedToken(
            "payload and signature must both be non-empty".to_owned(),
        ));
    }
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Error::MalformedToken("signature is not base64url".to_owned()))?;
    let expected = hmac_sha256(secret, encoded.as_bytes());
    // `ct_eq` on slices of different lengths is false without comparing bytes.
    if !bool::from(expected.as_slice().ct_eq(&signature)) {
        return Err(Error::TokenSignatureMismatch);
    }
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| Error::MalformedToken("payload is not base64url".to_owned()))?;
    serde_json::from_slice(&json)
        .map_err(|e| Error::MalformedToken(format!("payload is not the expected json: {e}")))
}

/// The payload of a lift (upload) token, signed with the server's upload secret.
///
/// Field order matches the reference signers (`projectName, maxSize,
/// allowedTypes, iat, exp, visibility`), so a token minted here is byte-equal
/// to theirs for the same ASCII payload.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LiftToken {
    /// The bucket the upload goes to (`projectName`).
    pub project_name: String,
    /// Largest accepted upload, in bytes (`maxSize`).
    pub max_size: u64,
    /// MIME types the upload's magic bytes must match (`allowedTypes`).
    pub allowed_types: Vec<String>,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds; valid while `exp >= now`.
    pub exp: u64,
    /// `"public"` or `"private"`; omitted means public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<String>,
    /// Binds the token to one upload session (ours; snake_case on the wire).
    #[serde(default, rename = "upload_id", skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
}

impl LiftToken {
    /// Mints this payload as a token.
    pub fn mint(&self, secret: &[u8]) -> Result<String, Error> {
        mint(secret, self)
    }

    /// Checks the HMAC, then that `exp >= now`; returns the payload.
    ///
    /// The reserved-project check has its own status (400), so it is left to
    /// [`LiftToken::is_reserved_project`].
    pub fn verify(secret: &[u8], token: &str, now: u64) -> Result<LiftToken, Error> {
        let lift: LiftToken = open(secret, token)?;
        if lift.exp < now {
            return Err(Error::TokenExpired);
        }
        Ok(lift)
    }

    /// Whether `project_name` is one of [`RESERVED_PROJECTS`], compared
    /// ASCII-case-insensitively so `API` cannot slip past `api`.
    pub fn is_reserved_project(&self) -> bool {
        RESERVED_PROJECTS
            .iter()
            .any(|reserved| reserved.eq_ignore_ascii_case(&self.project_name))
    }
}

/// The payload of a serve token (`{p, f, exp}`), signed with the per-project
/// serve secret, for `GET /<p>/<f>?token=…`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ServeToken {
    /// The project name; must equal the first path part exactly.
    pub p: String,
    /// The file name; must equal the second path part exactly.
    pub f: String,
    /// Expires at, Unix seconds; valid while `exp >= now`.
    pub exp: u64,
}

impl ServeToken {
    /// Mints a serve token for `project`/`file` valid from `now` for
    /// `expires_in` seconds, clamped to [`MIN_SERVE_SECS`]..=[`MAX_SERVE_SECS`].
    pub fn mint(
        secret: &[u8],
        project: &str,
        file: &str,
        now: u64,
        expires_in: u64,
    ) -> Result<String, Error> {
        let payload = ServeToken {
            p: project.to_owned(),
            f: file.to_owned(),
            exp: now.saturating_add(expires_in.clamp(MIN_SERVE_SECS, MAX_SERVE_SECS)),
        };
        mint(secret, &payload)
    }

    /// Checks the HMAC, then `exp >= now`, then that `p` and `f` equal
    /// `project` and `file` exactly; returns the payload.
    pub fn verify(
        secret: &[u8],
        token: &str,
        project: &str,
        file: &str,
        now: u64,
    ) -> Result<ServeToken, Error> {
        let serve: ServeToken = open(secret, token)?;
        if serve.exp < now {
            return Err(Error::TokenExpired);
        }
        if serve.p != project || serve.f != file {
            return Err(Error::TokenPathMismatch);
        }
        Ok(serve)
    }
}
