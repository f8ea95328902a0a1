//! The Aura API as the widget calls it (docs/spec/API.md): `GET
//! /uploader/config` and the upload lifecycle (`init`, `start`, `complete`,
//! `error`, `cancel`), with the upload token and the service API key. Every
//! request can be aborted (`destroy()`); failures become [`ApiError`]s with
//! a code, the server's message and the status.

use auraloader_core::api::{
    error_message, LifecycleEvent, StudyRef, UploadInit, UploadInitAnswer, UploaderConfig,
};
use serde::Serialize;

/// Why an Aura API call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// `network_error`, `auth_failed`, `config_failed`, `config_invalid`,
    /// `upload_failed`, `aborted`.
    pub code: &'static str,
    /// A sentence a person can act on.
    pub message: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
}

/// A client of one widget's Aura API: base URL, API key, upload token.
#[derive(Debug, Clone)]
pub struct AuraApi {
    base: String,
    api_key: String,
    upload_token: String,
    abort: Option<web_sys::AbortSignal>,
}

impl AuraApi {
    /// A client for `api_base_url` (ending in `/api`, with or without `/`).
    pub fn new(api_base_url: &str, api_key: &str, upload_token: &str) -> Self {
        Self {
            base: api_base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            upload_token: upload_token.to_owned(),
            abort: None,
        }
    }

    /// The same client, its requests aborted when `signal` fires.
    pub fn with_abort(mut self, signal: web_sys::AbortSignal) -> Self {
        self.abort = Some(signal);
        self
    }

    /// `GET /uploader/config`, checked.
    pub async fn uploader_config(&self) -> Result<UploaderConfig, ApiError> {
        let url = format!("{}/uploader/config", self.base);
        let request = self.authorized(gloo_net::http::Request::get(&url)).build();
        let (status, body) = self.send(&url, request, "config_failed").await?;
        UploaderConfig::from_json(&body).map_err(|e| ApiError {
            code: "config_invalid",
            message: e.to_string(),
            status: Some(status),
        })
    }

    /// `POST /uploader/upload/init`: the server's ids of the studies.
    pub async fn init(&self, body: &UploadInit) -> Result<Vec<StudyRef>, ApiError> {
        let (status, answer) = self.post("upload/init", body).await?;
        UploadInitAnswer::from_json(&answer)
            .map(|a| a.studies)
            .map_err(|e| ApiError {
                code: "upload_failed",
                message: format!("the server's answer to upload/init is not usable: {e}"),
                status: Some(status),
            })
    }

    /// `POST /uploader/upload/start` before the first byte.
    pub async fn start(&self, upload_id: &str, assembly_id: &str) -> Result<(), ApiError> {
        let mut event = LifecycleEvent::new(upload_id);
        event.assembly_id = Some(assembly_id.to_owned());
        self.post("upload/start", &event).await.map(|_| ())
    }

    /// `POST /uploader/upload/complete` after the last study.
    pub async fn complete(&self, upload_id: &str, assembly_id: &str) -> Result<(), ApiError> {
        let mut event = LifecycleEvent::new(upload_id);
        event.assembly_id = Some(assembly_id.to_owned());
        self.post("upload/complete", &event).await.map(|_| ())
    }

    /// `POST /uploader/upload/error` with a message (never patient data).
    pub async fn error(&self, upload_id: &str, message: &str) -> Result<(), ApiError> {
        let mut event = LifecycleEvent::new(upload_id);
        event.message = Some(message.to_owned());
        self.post("upload/error", &event).await.map(|_| ())
    }

    /// `POST /uploader/upload/cancel`.
    pub async fn cancel(&self, upload_id: &str) -> Result<(), ApiError> {
        self.post("upload/cancel", &LifecycleEvent::new(upload_id))
            .await
            .map(|_| ())
    }

    async fn post(&self, path: &str, body: &impl Serialize) -> Result<(u16, Vec<u8>), ApiError> {
        let url = format!("{}/uploader/{path}", self.base);
        let body = serde_json::to_string(body).map_err(|e| ApiError {
            code: "upload_failed",
            message: format!("could not encode the {path} request: {e}"),
            status: None,
        })?;
        let request = self
            .authorized(gloo_net::http::Request::post(&url))
            .header("Content-Type", "application/json")
            .body(body);
        self.send(&url, request, "upload_failed").await
    }

    fn authorized(
        &self,
        builder: gloo_net::http::RequestBuilder,
    ) -> gloo_net::http::RequestBuilder {
        builder
            .header("X-Api-Key", &self.api_key)
            .header("Authorization", &format!("Bearer {}", self.upload_token))
            .header("Accept", "application/json")
            .abort_signal(self.abort.as_ref())
    }

    /// Sends; a non-2xx answer becomes an error with `code` (401/403:
    /// `auth_failed`).
    async fn send(
        &self,
        url: &str,
        request: Result<gloo_net::http::Request, gloo_net::Error>,
        code: &'static str,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let aborted = || self.abort.as_ref().is_some_and(|s| s.aborted());
        let network = |e: gloo_net::Error| {
            if aborted() {
                ApiError {
                    code: "aborted",
                    message: "the request was aborted".to_owned(),
                    status: None,
                }
            } else {
                ApiError {
                    code: "network_error",
                    message: format!("could not reach the Aura API at {url}: {e}"),
                    status: None,
                }
            }
        };
        let response = request.map_err(network)?.send().await.map_err(network)?;
        let status = response.status();
        let body = response.binary().await.unwrap_or_default();
        if (200..300).contains(&status) {
            return Ok((status, body));
        }
        Err(ApiError {
            code: match status {
                401 | 403 => "auth_failed",
                _ => code,
            },
            message: error_message(status, &body),
            status: Some(status),
        })
    }
}
