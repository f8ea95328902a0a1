//! `POST /demo/upload-token`: the partner-backend role for the demo page.
//!
//! Signs a real `auth/exchange` request with the demo credentials and sends
//! it over HTTP to this same server, so the two-phase flow runs for real.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use aura_hmac::{sign, Credentials};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, Request};
use axum::Json;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::auth::SCOPES;
use crate::state::AppState;
use crate::Error;

/// How long each step of the call to ourselves may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The address this server is reachable at from itself.
fn self_addr(state: &AppState) -> SocketAddr {
    let addr = state.config().addr;
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip if ip.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn upstream(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| {
        Error::Upstream(format!(
            "token exchange with this server failed: {what}: {e}"
        ))
    }
}

/// Exchanges the demo credentials for an upload token, as a partner backend
/// would, and answers `{token, expires_at, api_key}`.
pub(crate) async fn upload_token(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let addr = self_addr(&state);
    let url = format!("http://{addr}/api/auth/exchange");
    let body = serde_json::to_vec(&json!({ "ttl": 3600, "scopes": SCOPES }))
        .map_err(|e| Error::Internal(format!("cannot encode the exchange body: {e}")))?;
    let demo = state.demo_credentials();
    let creds = Credentials {
        app_id: demo.app_id.clone(),
        app_secret: demo.app_secret.clone(),
    };
    let signing_error =
        |e: aura_hmac::Error| Error::Internal(format!("cannot sign the exchange: {e}"));
    let mut signed =
        aura_hmac::Request::from_url("POST", &url, body.clone()).map_err(signing_error)?;
    let host = aura_hmac::host_of_url(&url).map_err(signing_error)?;
    signed.set_header("Host", &host);
    signed.set_header("Content-Type", "application/json");
    let added = sign(
        &creds,
        &mut signed,
        state.now(),
        &uuid::Uuid::new_v4().to_string(),
    )
    .map_err(signing_error)?;

    let request = Request::post("/api/auth/exchange")
        .header(header::HOST, &host)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-aura-timestamp", &added.timestamp)
        .header("x-aura-nonce", &added.nonce)
        .header(header::AUTHORIZATION, &added.authorization)
        .header("x-api-key", &demo.api_key)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| upstream("building the request")(e.to_string()))?;

    let stream = timeout(STEP_TIMEOUT, TcpStream::connect(addr))
        .await
        .map_err(|e| upstream("connecting")(e.to_string()))?
        .map_err(|e| upstream("connecting")(e.to_string()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| upstream("handshake")(e.to_string()))?;
    // The connection task ends when the response is read and `sender` dropped.
    tokio::spawn(async move {
        let _ = timeout(STEP_TIMEOUT * 3, connection).await;
    });
    let response = timeout(STEP_TIMEOUT, sender.send_request(request))
        .await
        .map_err(|e| upstream("sending")(e.to_string()))?
        .map_err(|e| upstream("sending")(e.to_string()))?;
    let status = response.status();
    let bytes = timeout(STEP_TIMEOUT, response.into_body().collect())
        .await
        .map_err(|e| upstream("reading")(e.to_string()))?
        .map_err(|e| upstream("reading")(e.to_string()))?
        .to_bytes();
    let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if !status.is_success() {
        let message = answer
            .pointer("/error/message")
            .or_else(|| answer.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(Error::Upstream(format!(
            "token exchange with this server answered {status}: {message}"
        )));
    }
    match (answer.get("token"), answer.get("expires_at")) {
        // The service API key is not a secret (it identifies the team and
        // travels in every browser request), so the demo page gets it here
        // with the token instead of hard-coding it.
        (Some(token), Some(expires_at)) => Ok(Json(json!({
            "token": token,
            "expires_at": expires_at,
            "api_key": demo.api_key,
        }))),
        _ => Err(Error::Upstream(
            "token exchange with this server answered without token and expires_at".to_owned(),
        )),
    }
}
