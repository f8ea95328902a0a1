//! Shared test harness: a state on a temp data dir with a manual clock,
//! driven through `app(state)` with `oneshot`, and helpers to sign requests,
//! get tokens and build zips.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod process;

use std::io::Write;
use std::sync::Arc;

use aura_hmac::{sign, Credentials};
use auraloader_server::{app, AppState, Config, ManualClock};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

/// 2024-01-25T00:00:00Z, the spec vector's timestamp.
pub const T0: u64 = 1_706_140_800;
/// The host the default config answers as.
pub const HOST: &str = "127.0.0.1:8080";

/// A server state on its own temp data dir.
pub struct Harness {
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub dir: TempDir,
}

/// A response, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not json ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// `error.code` of an auth error body.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }
}

pub async fn read(response: Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}

impl Harness {
    pub fn new() -> Harness {
        Self::with(|_| {})
    }

    /// A harness whose config `tweak` changed first.
    pub fn with(tweak: impl FnOnce(&mut Config)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        tweak(&mut config);
        let clock = Arc::new(ManualClock::new(T0));
        let state = AppState::open_with_clock(config, clock.clone()).unwrap();
        Harness { state, clock, dir }
    }

    /// The same data dir opened again, as after a restart (the old state is dropped).
    pub fn restart(self) -> Harness {
        let Harness { state, clock, dir } = self;
        let config = state.config().clone();
        drop(state);
        let state = AppState::open_with_clock(config, clock.clone()).unwrap();
        Harness { state, clock, dir }
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        read(app(self.state.clone()).oneshot(request).await.unwrap()).await
    }

    pub fn creds(&self) -> Credentials {
        let demo = self.state.demo_credentials();
        Credentials {
            app_id: demo.app_id.clone(),
            app_secret: demo.app_secret.clone(),
        }
    }

    pub fn api_key(&self) -> String {
        self.state.demo_credentials().api_key.clone()
    }

    /// A signed POST to `path` with `body`, at `timestamp`, with `nonce`, for `host`.
    pub fn signed(
        &self,
        path: &str,
        body: &[u8],
        timestamp: u64,
        nonce: &str,
        host: &str,
    ) -> Request<Body> {
        let url = format!("http://{host}{path}");
        let mut req = aura_hmac::Request::from_url("POST", &url, body.to_vec()).unwrap();
        req.set_header("Host", host);
        req.set_header("Content-Type", "application/json");
        let added = sign(&self.creds(), &mut req, timestamp, nonce).unwrap();
        Request::post(path)
            .header("host", host)
            .header("content-type", "application/json")
            .header("x-aura-timestamp", added.timestamp)
            .header("x-aura-nonce", added.nonce)
            .header("authorization", added.authorization)
            .header("x-api-key", self.api_key())
            .body(Body::from(body.to_vec()))
            .unwrap()
    }

    /// A signed exchange request at the clock's time with a fresh nonce.
    pub fn exchange_request(&self, body: &Value) -> Request<Body> {
        self.signed(
            "/api/auth/exchange",
            body.to_string().as_bytes(),
            self.state.now(),
            &uuid::Uuid::new_v4().to_string(),
            HOST,
        )
    }

    /// An upload token for `body` (`{ttl, scopes, max_uses}`).
    pub async fn token_with(&self, body: Value) -> String {
        let answer = self.send(self.exchange_request(&body)).await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
        answer.json()["token"].as_str().unwrap().to_owned()
    }

    /// An upload token with every scope.
    pub async fn token(&self) -> String {
        self.token_with(json!({})).await
    }

    /// A Bearer request with `X-Api-Key`.
    pub fn bearer(&self, method: &str, path: &str, token: &str, body: &str) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("x-api-key", self.api_key())
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    }

    /// The lift token from `uploader/config`.
    pub async fn lift_token(&self) -> String {
        let token = self.token().await;
        let answer = self
            .send(self.bearer("GET", "/api/uploader/config", &token, ""))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.json());
        answer.json()["lift"]["token"].as_str().unwrap().to_owned()
    }

    pub async fn dev_uploads(&self) -> Value {
        let answer = self
            .send(
                Request::get("/api/dev/uploads")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.json()
    }
}

/// A tus request with `Tus-Resumable: 1.0.0` and the lift token.
pub fn tus(method: &str, path: &str, lift: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header("tus-resumable", "1.0.0")
        .header("authorization", format!("Bearer {lift}"))
}

/// A PATCH of `chunk` at `offset`.
pub fn patch(path: &str, lift: &str, offset: u64, chunk: &[u8]) -> Request<Body> {
    tus("PATCH", path, lift)
        .header("upload-offset", offset.to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(Body::from(chunk.to_vec()))
        .unwrap()
}

/// `Upload-Metadata` for a study zip as the widget sends it.
pub fn metadata(upload_id: &str, study_uid: &str) -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "filename {},filetype {},upload_id {},bucket {},mode {},study_uid {}",
        b64("study.zip"),
        b64("application/zip"),
        b64(upload_id),
        b64("demo"),
        b64("bulk"),
        b64(study_uid)
    )
}

impl Harness {
    /// Creates a tus upload of `length` bytes; returns its path (`/files/<id>`).
    pub async fn create_upload(&self, lift: &str, length: u64, meta: Option<&str>) -> String {
        let mut builder = tus("POST", "/files/", lift).header("upload-length", length.to_string());
        if let Some(meta) = meta {
            builder = builder.header("upload-metadata", meta);
        }
        let answer = self.send(builder.body(Body::empty()).unwrap()).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
        let location = answer.header("location").unwrap();
        let path = location
            .strip_prefix("http://127.0.0.1:8080")
            .expect("absolute location under the public url")
            .to_owned();
        assert!(path.starts_with("/files/"), "{path}");
        path
    }

    /// The offset HEAD reports.
    pub async fn offset(&self, path: &str, lift: &str) -> u64 {
        let answer = self
            .send(tus("HEAD", path, lift).body(Body::empty()).unwrap())
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.header("upload-offset").unwrap().parse().unwrap()
    }
}

/// A zip (stored, no compression) holding `entries` files of `size` bytes each.
pub fn make_zip(entries: usize, size: usize) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for i in 0..entries {
            writer.start_file(format!("IM{i:04}.dcm"), options).unwrap();
            let data: Vec<u8> = (0..size).map(|b| ((b * 31 + i * 7) % 251) as u8).collect();
            writer.write_all(&data).unwrap();
        }
        writer.finish().unwrap();
    }
    out.into_inner()
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    aura_hmac::payload_hash(bytes)
}

/// A server listening on a free loopback port over its own temp data dir.
pub struct Live {
    pub server: auraloader_server::RunningServer,
    pub dir: TempDir,
}

impl Live {
    /// Starts one; `tweak` changes the config first.
    pub async fn start(tweak: impl FnOnce(&mut Config)) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::new(dir.path());
        config.addr = "127.0.0.1:0".parse().unwrap();
        tweak(&mut config);
        let server = auraloader_server::start(config).await.unwrap();
        Live { server, dir }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.local_addr())
    }

    pub fn state(&self) -> AppState {
        self.server.state().clone()
    }

    /// A request to the same state without a socket.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        read(app(self.state()).oneshot(request).await.unwrap()).await
    }

    /// An upload token from `POST /demo/upload-token` and the `uploader/config`
    /// answer for it (the lift endpoint and token).
    pub async fn token_and_config(&self) -> (String, Value) {
        let answer = self
            .send(
                Request::post("/demo/upload-token")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        let token = answer.json()["token"].as_str().unwrap().to_owned();
        let answer = self
            .send(
                Request::get("/api/uploader/config")
                    .header("authorization", format!("Bearer {token}"))
                    .header("x-api-key", self.state().demo_credentials().api_key.clone())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
        (token, answer.json())
    }

    pub async fn dev_uploads(&self) -> Value {
        let answer = self
            .send(
                Request::get("/api/dev/uploads")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.json()
    }

    pub async fn stop(self) {
        self.server.shutdown().await.unwrap();
    }
}
