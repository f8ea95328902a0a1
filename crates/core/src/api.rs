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

/// `source` of every `upload/init` this widget sends.
pub const UPLOAD_SOURCE: &str = "standalone-uploader";

/// The body of `POST /uploader/upload/init`: one upload session with every
/// study, keyed by StudyInstanceUID.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UploadInit {
    /// The session's UUID v4, the same for every later lifecycle call.
    pub upload_id: String,
    /// The studies, keyed by StudyInstanceUID.
    pub studies: std::collections::BTreeMap<String, crate::study::StudyInfo>,
    /// The mode of `GET /uploader/config` (e.g. `bulk`).
    pub mode: String,
    /// Always `uploader`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always [`UPLOAD_SOURCE`].
    pub source: String,
    /// The host page's `patientId`, if it gave one.
    pub patient_id: Option<String>,
    /// The host page's `context`, passed through unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<serde_json::Value>,
}

/// One study as the server recorded it, from the answer of `upload/init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudyRef {
    /// The server's id of the study.
    pub id: String,
}

/// The answer of `POST /uploader/upload/init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInitAnswer {
    /// The studies, in the server's order.
    pub studies: Vec<StudyRef>,
}

impl UploadInitAnswer {
    /// Parses the answer of `upload/init`.
    pub fn from_json(body: &[u8]) -> Result<Self, ConfigError> {
        serde_json::from_slice(body).map_err(|e| ConfigError::Malformed(e.to_string()))
    }
}

/// The body of `upload/start`, `upload/complete`, `upload/error` and
/// `upload/cancel`: the session, and the batch or message where the call has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LifecycleEvent {
    /// The session's id from `upload/init`.
    pub upload_id: String,
    /// The transfer batch (start and complete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assembly_id: Option<String>,
    /// What went wrong (error); never patient data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Always `uploader`.
    pub mode: String,
}

impl LifecycleEvent {
    /// A lifecycle body with neither batch nor message.
    pub fn new(upload_id: &str) -> Self {
        Self {
            upload_id: upload_id.to_owned(),
            assembly_id: None,
            message: None,
            mode: "uploader".to_owned(),
        }
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
    fn lifecycle_bodies_have_the_published_shapes() {
        let mut start = LifecycleEvent::new("u-1");
        start.assembly_id = Some("a-1".to_owned());
        assert_eq!(
            serde_json::to_string(&start).unwrap(),
            r#"{"upload_id":"u-1","assembly_id":"a-1","mode":"uploader"}"#
        );
        assert_eq!(
            serde_json::to_string(&LifecycleEvent::new("u-1")).unwrap(),
            r#"{"upload_id":"u-1","mode":"uploader"}"#
        );
        let init = UploadInit {
            upload_id: "u-1".to_owned(),
            studies: Default::default(),
            mode: "bulk".to_owned(),
            kind: "uploader".to_owned(),
            source: UPLOAD_SOURCE.to_owned(),
            patient_id: None,
            context: None,
        };
        assert_eq!(
            serde_json::to_string(&init).unwrap(),
            r#"{"upload_id":"u-1","studies":{},"mode":"bulk","type":"uploader","source":"standalone-uploader","patient_id":null}"#
        );
        let answer =
            UploadInitAnswer::from_json(br#"{"studies":[{"id":"st_1"},{"id":"st_2"}]}"#).unwrap();
        assert_eq!(answer.studies[1].id, "st_2");
        assert!(UploadInitAnswer::from_json(b"{}").is_err());
    }

    #[test]
    fn error_message_falls_back_to_the_status() {
        assert_eq!(error_message(401, b"<html>"), status_sentence(401));
        assert_eq!(error_message(503, b""), status_sentence(503));
        assert_ne!(status_sentence(401), status_sentence(403));
    }
}
