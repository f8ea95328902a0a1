//! AURA-HMAC-SHA256 request signing (`shared/spec/HMAC.md`) and the signed
//! token envelope for lift and serve tokens (`shared/spec/TOKENS.md`).
//!
//! Pure computation with no IO, clock or randomness: the caller passes the
//! time and the nonce in, so the same code runs natively (dev server, tests)
//! and in `wasm32-unknown-unknown` (the widget).
//!
//! - [`sign`] adds `X-Aura-Timestamp`, `X-Aura-Nonce`, `Authorization` (and
//!   `Content-Type` when needed) to a [`Request`].
//! - [`verify`] checks a received request and its nonce, and returns the app id.
//! - [`token`] mints and opens lift (upload) and serve tokens.
//!
//! ```
//! use aura_hmac::{sign, verify, Credentials, MemoryNonceStore, Request, VerifyOptions};
//!
//! let creds = Credentials { app_id: "app".into(), app_secret: "secret".into() };
//! let mut req = Request::from_url("POST", "https://aura.example.com/api/auth/exchange", b"{}".to_vec())?;
//! req.set_header("Host", &aura_hmac::host_of_url("https://aura.example.com/api")?);
//! sign(&creds, &mut req, 1_706_140_800, "550e8400-e29b-41d4-a716-446655440000")?;
//!
//! let mut nonces = MemoryNonceStore::default();
//! let opts = VerifyOptions::new("aura.example.com", 1_706_140_805);
//! let app = verify(&req, |id| (id == "app").then(|| "secret".to_owned()), &mut nonces, &opts)?;
//! assert_eq!(app, "app");
//! # Ok::<(), aura_hmac::Error>(())
//! ```
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]
#![warn(missing_docs)]

mod authorization;
mod error;
mod nonce;
pub mod token;
mod url;

use std::fmt;

use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use authorization::Authorization;
pub use error::Error;
pub use nonce::{MemoryNonceStore, NonceStore, WINDOW_SECS};
pub use url::{host_of_url, join_url, parse_query};

/// The algorithm name, first word of the `Authorization` header and first line
/// of the string to sign.
pub const ALGORITHM: &str = "AURA-HMAC-SHA256";

/// The service name: last part of the credential scope and the data of the
/// second key-derivation step.
pub const SERVICE: &str = "aura_request";

/// Headers that are always signed (lowercase, sorted).
pub const ALWAYS_SIGNED: [&str; 3] = ["host", "x-aura-nonce", "x-aura-timestamp"];

/// An app's credentials. The secret stays on the partner's backend (or in a
/// test); `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The public app id, sent as `Credential=` in the `Authorization` header.
    pub app_id: String,
    /// The app secret that keys the signature.
    pub app_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .finish()
    }
}

/// A request to sign or verify: what goes on the wire, already split up.
///
/// Header names are compared case-insensitively; when a name occurs more than
/// once, the first occurrence is the one signed and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The HTTP method; upper-cased when signing.
    pub method: String,
    /// The path as sent on the wire (percent-encoded as sent), `/` when empty.
    pub path: String,
    /// The query pairs as sent, raw (no percent-decoding), in order.
    pub query: Vec<(String, String)>,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The exact body bytes sent.
    pub body: Vec<u8>,
}

impl Request {
    /// Builds a request from a method, an absolute http(s) URL (which may carry
    /// a query; a fragment is dropped) and the body; sets no headers.
    ///
    /// Use [`host_of_url`] for the matching `Host` header and [`join_url`] to
    /// resolve a path against a base URL first.
    pub fn from_url(method: &str, url: &str, body: Vec<u8>) -> Result<Request, Error> {
        let parsed = url::ParsedUrl::parse(url)?;
        Ok(Request {
            method: method.to_owned(),
            path: parsed.path,
            query: parse_query(&parsed.query),
            headers: Vec::new(),
            body,
        })
    }

    /// The value of the first header called `name`, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Sets header `name` to `value`, replacing every header of that name
    /// (case-insensitively) in place of the first one, or appending it.
    pub fn set_header(&mut self, name: &str, value: &str) {
        match self
            .headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(first) => {
                self.headers[first] = (name.to_owned(), value.to_owned());
                let mut index = 0;
                self.headers.retain(|(n, _)| {
                    let keep = index <= first || !n.eq_ignore_ascii_case(name);
                    index += 1;
                    keep
                });
            }
            None => self.headers.push((name.to_owned(), value.to_owned())),
        }
    }

    /// The canonical value of header `name`: trimmed, inner whitespace runs
    /// collapsed to one space; `None` when absent or empty.
    fn canonical_header(&self, name: &str) -> Option<String> {
        let value = canonical_header_value(self.header(name)?);
        (!value.is_empty()).then_some(value)
    }
}

/// The headers [`sign`] added to the request, for callers that copy them
/// elsewhere (e.g. into a JS headers object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// The `X-Aura-Timestamp` value.
    pub timestamp: String,
    /// The `X-Aura-Nonce` value.
    pub nonce: String,
    /// The `Authorization` value.
    pub authorization: String,
    /// `Some("application/json")` when `sign` added `Content-Type`.
    pub content_type: Option<String>,
}

/// Signs `req` in place with AURA-HMAC-SHA256 at `timestamp` (Unix seconds)
/// with `nonce` (a fresh UUID v4 per request).
///
/// Adds `X-Aura-Timestamp`, `X-Aura-Nonce`, `Authorization` and, for POST, PUT
/// or PATCH with a non-empty body and no `Content-Type`,
/// `Content-Type: application/json`. The caller must have set `Host`
/// ([`host_of_url`]); headers already present under those names are replaced.
pub fn sign(
    creds: &Credentials,
    req: &mut Request,
    timestamp: u64,
    nonce: &str,
) -> Result<SignedHeaders, Error> {
    if req.canonical_header("host").is_none() {
        return Err(Error::MissingHost);
    }
    if !authorization::is_valid_app_id(&creds.app_id) {
        return Err(Error::InvalidAppId);
    }
    if canonical_header_value(nonce).is_empty() {
        return Err(Error::EmptyNonce);
    }

    let timestamp_text = timestamp.to_string();
    req.set_header("X-Aura-Timestamp", &timestamp_text);
    req.set_header("X-Aura-Nonce", nonce);
    let needs_content_type = matches!(
        req.method.to_ascii_uppercase().as_str(),
        "POST" | "PUT" | "PATCH"
    ) && !req.body.is_empty()
        && req.canonical_header("content-type").is_none();
    let content_type = needs_content_type.then(|| {
        req.set_header("Content-Type", "application/json");
        "application/json".to_owned()
    });

    let signed_headers = signed_header_names(req);
    let canonical = canonical_request(req, &signed_headers);
    let to_sign = string_to_sign(timestamp, &creds.app_id, &canonical);
    let authorization = Authorization {
        app_id: creds.app_id.clone(),
        signed_headers,
        signature: signature(&creds.app_secret, &date_of(timestamp), &to_sign),
    }
    .to_string();
    req.set_header("Authorization", &authorization);

    Ok(SignedHeaders {
        timestamp: timestamp_text,
        nonce: nonce.to_owned(),
        authorization,
        content_type,
    })
}

/// The headers a signer signs for `req`: `host`, `x-aura-nonce`,
/// `x-aura-timestamp` and `content-type`, those present with a non-empty value,
/// lowercase and sorted.
pub fn signed_header_names(req: &Request) -> Vec<String> {
    let mut names: Vec<String> = ALWAYS_SIGNED
        .iter()
        .chain(std::iter::once(&"content-type"))
        .filter(|name| req.canonical_header(name).is_some())
        .map(|name| (*name).to_owned())
        .collect();
    names.sort();
    names
}

/// A header value as signed: trimmed, each inner run of whitespace collapsed
/// to one space.
pub fn canonical_header_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The canonical query: `key=value` pairs sorted by key (then value, so
/// repeated keys are ordered too), joined with `&`; empty when there is none.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = query.iter().collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical request: method (upper case), path (`/` when empty),
/// canonical query, canonical headers (`name:value\n` for each of
/// `signed_header_names`, in that order), the signed header names joined with
/// `;`, and the payload hash, joined with `\n`.
///
/// A signed header missing from `req` is written with an empty value.
pub fn canonical_request(req: &Request, signed_header_names: &[String]) -> String {
    let path = if req.path.is_empty() { "/" } else { &req.path };
    let mut headers = String::new();
    for name in signed_header_names {
        let name = name.to_ascii_lowercase();
        let value = req.canonical_header(&name).unwrap_or_default();
        headers.push_str(&name);
        headers.push(':');
        headers.push_str(&value);
        headers.push('\n');
    }
    [
        req.method.to_ascii_uppercase().as_str(),
        path,
        &canonical_query(&req.query),
        &headers,
        &signed_header_names
            .iter()
            .map(|n| n.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(";"),
        &payload_hash(&req.body),
    ]
    .join("\n")
}

/// The credential scope: `<app_id>/<date>/aura_request`.
pub fn credential_scope(app_id: &str, date: &str) -> String {
    format!("{app_id}/{date}/{SERVICE}")
}

/// The string to sign: algorithm, timestamp, credential scope (dated by the
/// timestamp) and the hex SHA-256 of the canonical request, joined with `\n`.
pub fn string_to_sign(timestamp: u64, app_id: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{}\n{}",
        credential_scope(app_id, &date_of(timestamp)),
        to_hex(&Sha256::digest(canonical_request.as_bytes()))
    )
}

/// The signing key: `HMAC(HMAC("AURA" + secret, date), "aura_request")`.
pub fn signing_key(secret: &str, date: &str) -> [u8; 32] {
    let date_key = hmac_sha256(format!("AURA{secret}").as_bytes(), date.as_bytes());
    hmac_sha256(&date_key, SERVICE.as_bytes())
}

/// The signature: lowercase hex `HMAC(signing_key(secret, date), string_to_sign)`.
pub fn signature(secret: &str, date: &str, string_to_sign: &str) -> String {
    to_hex(&hmac_sha256(
        &signing_key(secret, date),
        string_to_sign.as_bytes(),
    ))
}

/// Lowercase hex SHA-256 of the exact body bytes.
pub fn payload_hash(body: &[u8]) -> String {
    to_hex(&Sha256::digest(body))
}

/// The UTC calendar date of a Unix timestamp in seconds, as `YYYYMMDD`.
pub fn date_of(timestamp: u64) -> String {
    // Howard Hinnant's civil_from_days, for days since 1970-01-01 >= 0.
    let z = timestamp / 86_400 + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}")
}

/// What [`verify`] checks a request against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions<'a> {
    /// The `host[:port]` this server answers as; the signed `Host` must equal
    /// it, ignoring ASCII case.
    pub expected_host: &'a str,
    /// The server's current time, Unix seconds.
    pub now: u64,
    /// How far the timestamp may be from `now`, either way, in seconds.
    pub window_secs: u64,
}

impl<'a> VerifyOptions<'a> {
    /// Options with the default window of [`WINDOW_SECS`].
    pub fn new(expected_host: &'a str, now: u64) -> Self {
        VerifyOptions {
            expected_host,
            now,
            window_secs: WINDOW_SECS,
        }
    }
}

/// Verifies a received request and returns the app id that signed it.
///
/// In order: the `Authorization` header parses strictly; `SignedHeaders`
/// includes `host`, `x-aura-nonce`, `x-aura-timestamp` (and `content-type` when
/// the request has one), each present and non-empty; the signed host is
/// `expected_host`; the timestamp is within the window of `now`; the app id is
/// known to `lookup_secret`; the signature recomputed over the received body
/// matches (constant-time). Only then is the nonce recorded, so only validly
/// signed requests consume nonces, and a replay is rejected.
pub fn verify<F: FnOnce(&str) -> Option<String>>(
    req: &Request,
    lookup_secret: F,
    nonces: &mut dyn NonceStore,
    opts: &VerifyOptions,
) -> Result<String, Error> {
    let header = req
        .header("authorization")
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(Error::MissingAuthorization)?;
    let auth: Authorization = header.parse()?;

    let has_content_type = req.canonical_header("content-type").is_some();
    let required = ALWAYS_SIGNED
        .iter()
        .chain(has_content_type.then_some(&"content-type"));
    for name in required {
        if !auth.signed_headers.iter().any(|n| n == name) {
            return Err(Error::MissingSignedHeader((*name).to_owned()));
        }
    }
    for name in &auth.signed_headers {
        if req.canonical_header(name).is_none() {
            return Err(Error::MissingHeader(name.clone()));
        }
    }

    let host = req.canonical_header("host").unwrap_or_default();
    if !host.eq_ignore_ascii_case(opts.expected_host.trim()) {
        return Err(Error::HostMismatch);
    }

    let timestamp = parse_timestamp(&req.canonical_header("x-aura-timestamp").unwrap_or_default())?;
    let too_old = timestamp.saturating_add(opts.window_secs) < opts.now;
    let too_new = timestamp > opts.now.saturating_add(opts.window_secs);
    if too_old || too_new {
        return Err(Error::TimestampOutOfWindow);
    }

    let secret = lookup_secret(&auth.app_id).ok_or(Error::UnknownApp)?;
    let canonical = canonical_request(req, &auth.signed_headers);
    let to_sign = string_to_sign(timestamp, &auth.app_id, &canonical);
    let expected = signature(&secret, &date_of(timestamp), &to_sign);
    if !bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        return Err(Error::SignatureMismatch);
    }

    let nonce = req.canonical_header("x-aura-nonce").unwrap_or_default();
    if !nonces.check_and_insert(&auth.app_id, &nonce, timestamp, opts.now) {
        return Err(Error::ReplayedNonce);
    }
    Ok(auth.app_id)
}

/// Parses a timestamp written as a plain decimal integer: digits only, no sign,
/// no leading zero, so that it signs back to the same text.
fn parse_timestamp(text: &str) -> Result<u64, Error> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if !canonical {
        return Err(Error::InvalidTimestamp);
    }
    text.parse().map_err(|_| Error::InvalidTimestamp)
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `data` under `key` (any length).
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // RFC 2104: a key longer than the block is hashed, a shorter one is
    // zero-padded to the block size. Doing that here lets us use the
    // fixed-size, infallible `KeyInit::new` and gives the same MAC.
    let mut block = Key::<HmacSha256>::default();
    if key.len() > block.len() {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <HmacSha256 as KeyInit>::new(&block);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lowercase hex of `bytes`.
fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_of_is_the_utc_calendar_date() {
        assert_eq!(date_of(0), "19700101");
        assert_eq!(date_of(1_706_140_800), "20240125");
        assert_eq!(date_of(1_706_140_799), "20240124");
        assert_eq!(date_of(951_782_400), "20000229"); // leap day of a /400 year
        assert_eq!(date_of(4_107_542_400), "21000301"); // 2100 is not a leap year
        assert_eq!(date_of(4_107_542_399), "21000228");
        assert_eq!(date_of(253_402_300_799), "99991231");
    }

    #[test]
    fn canonical_query_sorts_by_key_then_value() {
        let q = parse_query("b=2&a=z&a=y&c");
        assert_eq!(canonical_query(&q), "a=y&a=z&b=2&c=");
        assert_eq!(canonical_query(&[]), "");
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        assert_eq!(canonical_header_value("  a \t b\n\n c  "), "a b c");
        assert_eq!(canonical_header_value(" \t "), "");
    }

    #[test]
    fn set_header_replaces_every_case_variant_in_place() {
        let mut req = Request::from_url("GET", "https://h/", Vec::new()).unwrap();
        req.headers = vec![
            ("X-A".into(), "1".into()),
            ("Other".into(), "o".into()),
            ("x-a".into(), "2".into()),
        ];
        req.set_header("x-A", "3");
        assert_eq!(
            req.headers,
            vec![
                ("x-A".to_owned(), "3".to_owned()),
                ("Other".into(), "o".into())
            ]
        );
        assert_eq!(req.header("X-a"), Some("3"));
        req.set_header("New", "n");
        assert_eq!(req.header("new"), Some("n"));
    }

    #[test]
    fn timestamps_must_be_plain_decimal() {
        assert_eq!(parse_timestamp("1706140800"), Ok(1_706_140_800));
        assert_eq!(parse_timestamp("0"), Ok(0));
        for bad in [
            "",
            "+1",
            "-1",
            "01",
            "1.5",
            "1e9",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_timestamp(bad), Err(Error::InvalidTimestamp), "{bad}");
        }
    }

    #[test]
    fn long_and_short_keys_match_rfc_4231() {
        // RFC 4231 test case 2 (short key) and 6 (131-byte key).
        assert_eq!(
            to_hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            to_hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn credentials_debug_hides_the_secret() {
        let creds = Credentials {
            app_id: "app".into(),
            app_secret: "hunter2".into(),
        };
        let shown = format!("{creds:?}");
        assert!(
            shown.contains("app") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
