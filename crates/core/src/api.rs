//! Types of the Aura API as the widget uses it (`shared/spec/API.md`), and the
//! rule for turning an error response into a message a person can act on.

use serde::{Deserialize, Serialize};

/// Where and how studies are uploaded: the answer of `GET /uploader/config`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploaderConfig {
    /// The tus endpoint and its credentials.
    pub lift: LiftConfig,
    /// Upload mode, e.g. `bulk`.
    pub mode: String,
}

/// The tus endpoint of an [`UploaderConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiftConfig {
    /// Absolute URL of the tus creation endpoint.
    pub endpoint: String,
    /// Lift token sent as `Authorization: Bearer …` on every tus request.
    pub token: String,
    /// Storage bucket the uploads land in.
    #[serde(default)]
    pub bucket: String,
}

/// Why a server's uploader configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The body is not the JSON shape of `GET /uploader/config`.
    Malformed(String),
    /// `lift.endpoint` is not an absolute http(s) URL.
    BadEndpoint(String),
    /// `lift.token` is empty.
    MissingLiftToken,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(why) => {
                write!(f, "the server's uploader configuration is malformed: {why}")
            }
            Self::BadEndpoint(url) => write!(
                f,
                "the server's upload endpoint is not an absolute http(s) URL: {url:?}"
            ),
            Self::MissingLiftToken => f.write_str(
                "the server's uploader configuration has no upload credential (lift.token)",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl UploaderConfig {
    /// Parses and checks the body of `GET /uploader/config`.
    pub fn from_json(body: &[u8]) -> Result<Self, ConfigError> {
        let config: Self =
            serde_json::from_slice(body).map_err(|e| ConfigError::Malformed(e.to_string()))?;
        let endpoint = config.lift.endpoint.as_str();
        let has_host = ["http://", "https://"]
            .iter()
            .find_map(|scheme| endpoint.strip_prefix(scheme))
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !has_host {
            return Err(ConfigError::BadEndpoint(config.lift.endpoint));
        }
        if config.lift.token.trim().is_empty() {
            return Err(ConfigError::MissingLiftToken);
        }
        Ok(config)
    }
}

/// The human message of an Aura API error response, extracted in the order of
/// `API.md`: validation errors (`errors` joined with ", "), then
/// `error.message`, then `message`; otherwise a sentence built from the status.
pub fn error_message(status: u16, body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    if let Some(value) = parsed {
        if let Some(errors) = value.get("errors").and_then(|e| e.as_object()) {
            let messages: Vec<&str> = errors
                .values()
                .filter_map(|v| v.as_array())
                .flatten()
                .filter_map(|m| m.as_str())
                .collect();
            if !messages.is_empty() {
                return messages.join(", ");
            }
        }
        if let Some(message) = value
            .get("error")
            .and_then(|e| e.get("message"))
            .and_then(|m| m.as_str())
        {
            return message.to_owned();
        }
        if let Some(message) = value.get("message").and_then(|m| m.as_str()) {
            return message.to_owned();
        }
    }
    status_sentence(status).to_owned()
}

/// A short explanation of an HTTP status for when the body says nothing.
pub fn status_sentence(status: u16) -> &'static str {
    match status {
        401 => {
            "the upload token was rejected: it may have expired; reload the page to get a new one"
        }
        403 => "the upload token does not allow this action",
        404 => "the Aura API endpoint was not found: check apiBaseUrl",
        413 => "the upload is larger than the server accepts",
        429 => "too many requests: wait a moment and try again",
        500..=599 => "the Aura server had a problem: try again in a few minutes",
        _ => "the Aura server rejected the request",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_valid_uploader_config() {
        let body = br#"{"lift":{"endpoint":"http://127.0.0.1:8080/files/","token":"t.s","bucket":"uploads"},"mode":"bulk"}"#;
        let config = UploaderConfig::from_json(body).unwrap();
        assert_eq!(config.lift.endpoint, "http://127.0.0.1:8080/files/");
        assert_eq!(config.lift.bucket, "uploads");
        assert_eq!(config.mode, "bulk");
    }

    #[test]
    fn rejects_relative_or_hostless_endpoints() {
        for endpoint in ["/files/", "ftp://x/files", "http:///files", ""] {
            let body =
                format!(r#"{{"lift":{{"endpoint":"{endpoint}","token":"t"}},"mode":"bulk"}}"#);
            assert_eq!(
                UploaderConfig::from_json(body.as_bytes()),
                Err(ConfigError::BadEndpoint(endpoint.to_owned()))
            );
        }
    }

    #[test]
    fn rejects_missing_lift_token_and_malformed_bodies() {
        let body = br#"{"lift":{"endpoint":"https://h/files/","token":" "},"mode":"bulk"}"#;
        assert_eq!(
            UploaderConfig::from_json(body),
            Err(ConfigError::MissingLiftToken)
        );
        assert!(matches!(
            UploaderConfig::from_json(b"{\"mode\":\"bulk\"}"),
            Err(ConfigError::Malformed(_))
        ));
    }

    #[test]
    fn error_message_prefers_validation_then_auth_then_message() {
        let validation = br#"{"message":"invalid","errors":{"ttl":["ttl must be at most 86400"],"scopes":["unknown scope"]}}"#;
        assert_eq!(
            error_message(422, validation),
            "ttl must be at most 86400, unknown scope"
        );
        let auth =
            br#"{"error":{"code":"token_expired","message":"token expired"},"message":"no"}"#;
        assert_eq!(error_message(401, auth), "token expired");
        assert_eq!(error_message(500, br#"{"message":"boom"}"#), "boom");
    }

    #[test]
    fn error_message_falls_back_to_the_status() {
        assert_eq!(error_message(401, b"<html>"), status_sentence(401));
        assert_eq!(error_message(503, b""), status_sentence(503));
        assert_ne!(status_sentence(401), status_sentence(403));
    }
}
