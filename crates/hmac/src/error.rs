//! The crate's one error type.

use std::fmt;

/// Everything that can go wrong while signing or verifying a request, or minting
/// or opening a token.
///
/// Messages are lowercase, say which check failed and what to do about it, and
/// never contain a secret or which byte of a signature differed. [`Error::code`]
/// gives a stable machine code for JSON error bodies.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The request to sign has no (non-empty) `Host` header.
    MissingHost,
    /// A URL is not an absolute `http`/`https` URL with a valid host and port.
    InvalidUrl,
    /// The app id cannot be written into an `Authorization` header (empty, or
    /// containing whitespace, `,` or `/`).
    InvalidAppId,
    /// The nonce passed to [`crate::sign`] is empty.
    EmptyNonce,
    /// The received request has no (non-empty) `Authorization` header.
    MissingAuthorization,
    /// The `Authorization` header does not have the exact form
    /// `AURA-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..`; the
    /// string says which part is wrong.
    MalformedAuthorization(String),
    /// The `Authorization` header names another scheme than `AURA-HMAC-SHA256`.
    WrongAlgorithm,
    /// A header that must be signed (named here, lowercase) is not listed in
    /// `SignedHeaders`.
    MissingSignedHeader(String),
    /// A header listed in `SignedHeaders` (named here, lowercase) is missing or
    /// empty in the request.
    MissingHeader(String),
    /// The signed `Host` is not the host this server answers as.
    HostMismatch,
    /// `X-Aura-Timestamp` is not Unix seconds written as a plain decimal integer.
    InvalidTimestamp,
    /// `X-Aura-Timestamp` is further from the server's clock than the allowed
    /// window, in either direction.
    TimestampOutOfWindow,
    /// No secret is known for the app id in the credential.
    UnknownApp,
    /// The recomputed signature differs from the one in the `Authorization`
    /// header.
    SignatureMismatch,
    /// The nonce was already used by a validly signed request inside the window.
    ReplayedNonce,
    /// A token is not `<base64url payload>.<base64url signature>` or its payload
    /// is not the expected JSON; the string says which.
    MalformedToken(String),
    /// A token contains base64 padding (`=`); only unpadded base64url is accepted.
    PaddedToken,
    /// A token's HMAC does not match its payload under the given secret.
    TokenSignatureMismatch,
    /// A token's `exp` is before the current time.
    TokenExpired,
    /// A serve token was minted for another project or file than the one asked for.
    TokenPathMismatch,
    /// A token payload could not be serialised as JSON; the string is the
    /// serialiser's reason.
    UnserializablePayload(String),
}

impl Error {
    /// A stable snake_case code for machine-readable error bodies, e.g.
    /// `{"error":{"code":"signature_mismatch","message":"..."}}`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MissingHost => "missing_host",
            Error::InvalidUrl => "invalid_url",
            Error::InvalidAppId => "invalid_app_id",
            Error::EmptyNonce => "empty_nonce",
            Error::MissingAuthorization => "missing_authorization",
            Error::MalformedAuthorization(_) => "malformed_authorization",
            Error::WrongAlgorithm => "wrong_algorithm",
            Error::MissingSignedHeader(_) => "missing_signed_header",
            Error::MissingHeader(_) => "missing_header",
            Error::HostMismatch => "host_mismatch",
            Error::InvalidTimestamp => "invalid_timestamp",
            Error::TimestampOutOfWindow => "timestamp_out_of_window",
            Error::UnknownApp => "unknown_app",
            Error::SignatureMismatch => "signature_mismatch",
            Error::ReplayedNonce => "replayed_nonce",
            Error::MalformedToken(_) => "malformed_token",
            Error::PaddedToken => "padded_token",
            Error::TokenSignatureMismatch => "token_signature_mismatch",
            Error::TokenExpired => "token_expired",
            Error::TokenPathMismatch => "token_path_mismatch",
            Error::UnserializablePayload(_) => "unserializable_payload",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingHost => f.write_str(
                "request has no host header; set host to the api's host[:port] before signing",
            ),
            Error::InvalidUrl => f.write_str(
                "url is not an absolute http(s) url with a valid host; pass e.g. https://host/path",
            ),
            Error::InvalidAppId => f.write_str(
                "app id must be non-empty printable ascii without spaces, ',' or '/'; check the credentials",
            ),
            Error::EmptyNonce => f.write_str("nonce is empty; pass a fresh uuid v4 for every request"),
            Error::MissingAuthorization => f.write_str(
                "missing authorization header; sign the request with AURA-HMAC-SHA256",
            ),
            Error::MalformedAuthorization(reason) => {
                write!(f, "malformed authorization header: {reason}")
            }
            Error::WrongAlgorithm => f.write_str(
                "authorization header does not use AURA-HMAC-SHA256; sign with the app id and secret",
            ),
            Error::MissingSignedHeader(name) => write!(
                f,
                "signed headers must include {name}; add it to SignedHeaders and sign again"
            ),
            Error::MissingHeader(name) => write!(
                f,
                "header {name} is listed in SignedHeaders but missing or empty in the request"
            ),
            Error::HostMismatch => f.write_str(
                "signed host is not this server's host; sign with the host the request is sent to",
            ),
            Error::InvalidTimestamp => f.write_str(
                "x-aura-timestamp must be unix seconds as a plain decimal integer",
            ),
            Error::TimestampOutOfWindow => f.write_str(
                "x-aura-timestamp is too far from server time; check the client clock and send seconds, not milliseconds",
            ),
            Error::UnknownApp => f.write_str("unknown app id; check the app id in the credentials"),
            Error::SignatureMismatch => f.write_str(
                "signature does not match; check the app secret and sign the exact body bytes that are sent",
            ),
            Error::ReplayedNonce => f.write_str(
                "nonce was already used; send a fresh nonce with every request",
            ),
            Error::MalformedToken(reason) => write!(f, "malformed token: {reason}"),
            Error::PaddedToken => f.write_str(
                "token contains base64 padding ('='); use unpadded base64url",
            ),
            Error::TokenSignatureMismatch => f.write_str(
                "token signature does not match; the token was modified or signed with another secret",
            ),
            Error::TokenExpired => f.write_str("token has expired; mint a new one"),
            Error::TokenPathMismatch => f.write_str(
                "token was issued for another project or file; mint one for this path",
            ),
            Error::UnserializablePayload(reason) => {
                write!(f, "token payload cannot be serialised as json: {reason}")
            }
        }
    }
}

impl std::error::Error for Error {}
