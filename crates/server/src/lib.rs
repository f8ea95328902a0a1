//! `auraloader-server`: a local Aura API for development and tests.
//!
//! The API of `API.md` (token exchange with AURA-HMAC-SHA256, upload tokens
//! with scopes, TTL and uses, the uploader lifecycle, manage and viewer
//! links), the tus endpoint of `TUS.md` behind the edge checks of
//! `TOKENS.md`, an inspection endpoint, and the partner-backend role for the
//! demo page, on one port. State lives in `<data-dir>/aura.sqlite3`, upload
//! bytes in `<data-dir>/uploads/`.
//!
//! [`app`] builds the router for a state, so tests drive it with
//! `tower::ServiceExt::oneshot` and no socket; [`start`] and [`serve`] bind it.
//!
//! ```no_run
//! # async fn run() -> Result<(), auraloader_server::Error> {
//! let config = auraloader_server::Config::new("auraloader-data");
//! auraloader_server::serve(config).await
//! # }
//! ```
#![warn(missing_docs)]

mod api;
pub mod assets;
mod auth;
pub mod clock;
pub mod config;
mod db;
mod demo;
mod dev;
mod error;
mod links;
pub mod middleware;
mod random;
mod ratelimit;
mod state;
mod timefmt;
pub mod tus;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, head, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::SCOPES;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Cli, Config, Limits};
pub use error::Error;
pub use state::{AppState, DemoCredentials, DEMO_BUCKET};

/// Largest JSON body the API endpoints read.
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;
/// How often expired unfinished uploads are removed while serving.
const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// How long shutdown waits for requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The whole HTTP surface for `state`.
pub fn app(state: AppState) -> Router {
    let tus = Router::new()
        .route("/files", post(tus::create).options(tus::options))
        .route("/files/", post(tus::create).options(tus::options))
        .route(
            "/files/{id}",
            head(tus::head)
                .patch(tus::patch)
                .delete(tus::delete)
                .options(tus::options),
        )
        .layer(axum::middleware::from_fn(tus::protocol));
    Router::new()
        .route("/api/auth/exchange", post(api::exchange))
        .route("/api/uploader/config", get(api::uploader_config))
        .route("/api/uploader/upload/init", post(api::upload_init))
        .route("/api/uploader/upload/start", post(api::upload_start))
        .route("/api/uploader/upload/complete", post(api::upload_complete))
        .route("/api/uploader/upload/error", post(api::upload_error))
        .route("/api/uploader/upload/cancel", post(api::upload_cancel))
        .route("/api/uploader/manage/submit", post(api::manage_submit))
        .route("/api/uploader/manage/withdraw", post(api::manage_withdraw))
        .route(
            "/api/integrations/transfers/{transfer_id}/viewer-link",
            post(api::viewer_link),
        )
        .route("/api/dev/uploads", get(dev::uploads))
        .route("/demo/upload-token", post(demo::upload_token))
        .route("/{project}/{file}", get(links::serve_upload))
        .merge(tus)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(axum::middleware::from_fn(middleware::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::cors,
        ))
        .layer(axum::middleware::from_fn(middleware::log))
        .with_state(state)
}

/// Unrouted requests: a static file when a mount holds one, else 404.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> Result<axum::response::Response, Error> {
    match assets::try_serve(&state.config().static_mounts, &method, &uri).await? {
        Some(response) => Ok(response),
        None => Err(Error::NotFound(
            "no such endpoint; see API.md for the routes".to_owned(),
        )),
    }
}

/// A server started by [`start`]: listening until [`RunningServer::shutdown`].
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    state: AppState,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    sweeper: JoinHandle<()>,
}

impl RunningServer {
    /// The address it listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state, e.g. for the demo credentials.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, waits up to 10 s for requests in flight, then stops.
    pub async fn shutdown(self) -> Result<(), Error> {
        self.sweeper.abort();
        let _ = self.shutdown.send(());
        let mut server = self.server;
        match tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await {
            Ok(Ok(result)) => result.map_err(Error::Io),
            Ok(Err(e)) => Err(Error::Internal(format!("server task failed: {e}"))),
            Err(_) => {
                server.abort();
                Ok(())
            }
        }
    }
}

/// Binds `config.addr` (port 0 picks a free port), opens the data directory
/// and serves [`app`] in the background.
pub async fn start(mut config: Config) -> Result<RunningServer, Error> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.addr)))?;
    config.addr = listener.local_addr()?;
    let state = AppState::open(config)?;
    let router = app(state.clone());
    let (shutdown, signal) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = signal.await;
            })
            .await
    });
    let sweeping = state.clone();
    let sweeper = tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            match sweeping.sweep_expired() {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired uploads removed"),
                Err(e) => tracing::warn!(error = %e, "sweeping expired uploads failed"),
            }
        }
    });
    tracing::info!(addr = %state.config().addr, public_url = %state.public_url(), "listening");
    Ok(RunningServer {
        addr: state.config().addr,
        state,
        shutdown,
        server,
        sweeper,
    })
}

/// The text `serve` prints once on the first start: the demo credentials
/// and where they are kept. Goes to stdout, never to the log.
pub fn credentials_banner(state: &AppState) -> String {
    let demo = state.demo_credentials();
    format!(
        "demo credentials (kept in {}; printed on the first start only, or with --print-credentials):\n  \
         AURA_APP_ID={}\n  AURA_APP_SECRET={}\n  SERVICE_API_KEY={}\n  bucket: {}\n",
        state.config().data_dir.join("aura.sqlite3").display(),
        demo.app_id,
        demo.app_secret,
        demo.api_key,
        demo.bucket,
    )
}

/// Starts the server, prints the demo credentials when they were just
/// created, and serves until Ctrl-C.
pub async fn serve(config: Config) -> Result<(), Error> {
    run_until_ctrl_c(start(config).await?, false).await
}

/// Prints the demo credentials (when just created, or always with
/// `print_credentials`) and the URLs to stdout, then serves until Ctrl-C.
pub async fn run_until_ctrl_c(server: RunningServer, print_credentials: bool) -> Result<(), Error> {
    let state = server.state();
    if state.credentials_created() || print_credentials {
        println!("{}", credentials_banner(state));
    }
    println!(
        "auraloader-server: {url} (api at {url}/api, tus at {url}/files/); Ctrl-C to stop",
        url = state.public_url()
    );
    tokio::signal::ctrl_c().await?;
    server.shutdown().await
}
