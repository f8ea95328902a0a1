//! Authenticating requests: AURA-HMAC-SHA256 signatures, `aubt_` upload
//! tokens with scopes and uses, and `X-Api-Key`.

use axum::http::{header, HeaderMap, Method, Uri};
use sha2::{Digest, Sha256};

use crate::db::App;
use crate::ratelimit::RateClass;
use crate::state::AppState;
use crate::Error;

/// The scopes an upload token may carry.
pub const SCOPES: [&str; 3] = ["upload:init", "upload:manage", "integration:read"];

/// A request authenticated by an upload token.
#[derive(Debug, Clone)]
pub(crate) struct TokenAuth {
    pub app: App,
}

/// What a Bearer-authenticated endpoint requires.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Requirement {
    pub scope: &'static str,
    pub api_key: bool,
    pub rate: RateClass,
}

/// Lowercase hex SHA-256 of a token's text: tokens are stored only hashed.
pub(crate) fn token_hash(token: &str) -> String {
    aura_hmac::payload_hash(token.as_bytes())
}

/// A short fingerprint of a secret-bearing credential, for rate-limit keys.
pub(crate) fn fingerprint(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The value of `Authorization: Bearer <token>`.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = header_str(headers, header::AUTHORIZATION)?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The app of the request's `X-Api-Key`; 401 when missing or unknown.
fn api_key_app(state: &AppState, headers: &HeaderMap) -> Result<App, Error> {
    let key = header_str(headers, "x-api-key").ok_or_else(|| Error::Unauthorized {
        code: "missing_api_key",
        message: "missing x-api-key header; send the service api key".to_owned(),
    })?;
    state
        .s()
        .db
        .app_by_api_key(key)?
        .ok_or_else(|| Error::Unauthorized {
            code: "invalid_api_key",
            message: "unknown api key; check the service api key".to_owned(),
        })
}

/// Authenticates an upload-token request: token known, not expired, uses
/// left, `X-Api-Key` of the same app when required, scope granted, rate limit
/// not reached; then counts one use.
pub(crate) fn authorize_token(
    state: &AppState,
    headers: &HeaderMap,
    need: Requirement,
) -> Result<TokenAuth, Error> {
    let s = state.s();
    let now = state.now();
    let token = bearer_token(headers).ok_or_else(|| Error::Unauthorized {
        code: "missing_token",
        message: "missing bearer token; send authorization: bearer aubt_… from auth/exchange"
            .to_owned(),
    })?;
    let invalid = || Error::Unauthorized {
        code: "invalid_token",
        message: "unknown upload token; exchange a new one with auth/exchange".to_owned(),
    };
    if !token.starts_with("aubt_") {
        return Err(invalid());
    }
    let record =
        s.db.token_by_hash(&token_hash(token))?
            .ok_or_else(invalid)?;
    if record.expires_at < now {
        return Err(Error::Unauthorized {
            code: "token_expired",
            message: "upload token has expired; exchange a new one with auth/exchange".to_owned(),
        });
    }
    let exhausted = || Error::Unauthorized {
        code: "token_exhausted",
        message: "upload token has no uses left (max_uses); exchange a new one".to_owned(),
    };
    if record.max_uses.is_some_and(|max| record.uses >= max) {
        return Err(exhausted());
    }
    if need.api_key {
        let key_app = api_key_app(state, headers)?;
        if key_app.app_id != record.app_id {
            return Err(Error::Unauthorized {
                code: "invalid_api_key",
                message: "api key belongs to another app than the upload token".to_owned(),
            });
        }
    }
    if !record.scopes.iter().any(|s| s == need.scope) {
        return Err(Error::Forbidden {
            code: "insufficient_scope",
            message: format!(
                "upload token lacks the {} scope; exchange a token with it",
                need.scope
            ),
        });
    }
    let limit = match need.rate {
        RateClass::Exchange => s.config.limits.exchange_per_minute,
        RateClass::Config => s.config.limits.config_per_minute,
        RateClass::Lifecycle => s.config.limits.lifecycle_per_minute,
        RateClass::Tus => s.config.limits.tus_per_minute,
    };
    s.limiter
        .check(need.rate, &format!("token:{}", record.id), limit, now)?;
    if !s.db.consume_token_use(record.id)? {
        return Err(exhausted());
    }
    let app = s.db.app_by_id(&record.app_id)?.ok_or_else(invalid)?;
    Ok(TokenAuth { app })
}

/// The `host[:port]` the request was sent to: `Host`, or the URI's authority.
fn request_host(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    header_str(headers, header::HOST)
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
}

/// Authenticates an AURA-HMAC-SHA256 request with `X-Api-Key`: key known,
/// rate limit of the claimed app not reached, signature valid (window,
/// replay, host, body hash), and the key belongs to the signing app.
pub(crate) fn authorize_signed(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    rate: RateClass,
) -> Result<App, Error> {
    let s = state.s();
    let now = state.now();
    let key_app = api_key_app(state, headers)?;

    // Count the attempt against the app it claims to be (or the key), so that
    // failed signatures are limited too.
    let claimed = header_str(headers, header::AUTHORIZATION)
        .and_then(|v| v.parse::<aura_hmac::Authorization>().ok())
        .map(|a| a.app_id)
        .unwrap_or_else(|| key_app.app_id.clone());
    let limit = match rate {
        RateClass::Exchange => s.config.limits.exchange_per_minute,
        _ => s.config.limits.lifecycle_per_minute,
    };
    s.limiter
        .check(rate, &format!("app:{claimed}"), limit, now)?;

    let mut request = aura_hmac::Request {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: aura_hmac::parse_query(uri.query().unwrap_or("")),
        headers: Vec::new(),
        body: body.to_vec(),
    };
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            request
                .headers
                .push((name.as_str().to_owned(), value.to_owned()));
        }
    }
    let host = request_host(headers, uri).unwrap_or_default();
    if request.header("host").is_none() && !host.is_empty() {
        request.set_header("Host", &host);
    }
    let expected = s
        .accepted_hosts
        .iter()
        .find(|h| h.eq_ignore_ascii_case(&host))
        .or(s.accepted_hosts.first())
        .cloned()
        .unwrap_or_default();
    let opts = aura_hmac::VerifyOptions::new(&expected, now);
    let app_id = s.db.verify_signature(&request, &opts)?;
    if app_id != key_app.app_id {
        return Err(Error::Unauthorized {
            code: "invalid_api_key",
            message: "api key belongs to another app than the signature's credential".to_owned(),
        });
    }
    Ok(key_app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  aubt_x "),
        );
        assert_eq!(bearer_token(&headers), Some("aubt_x"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }
}
