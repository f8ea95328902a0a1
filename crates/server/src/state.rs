//! The state every handler shares: configuration, database, secrets, clock,
//! rate limits and the set of uploads being written.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::db::{Db, StoredCredentials};
use crate::ratelimit::RateLimiter;
use crate::{random, Error};

/// The bucket (lift-token `projectName`) of the demo app.
pub const DEMO_BUCKET: &str = "demo";

/// The demo app's credentials, created on the first start and kept in the
/// database. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct DemoCredentials {
    /// The app id (`Credential=` of AURA-HMAC-SHA256).
    pub app_id: String,
    /// The app secret that keys signatures; for partner backends only.
    pub app_secret: String,
    /// The service API key (`X-Api-Key`).
    pub api_key: String,
    /// The app's bucket, the lift token's `projectName`.
    pub bucket: String,
}

impl fmt::Debug for DemoCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoCredentials")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("api_key", &self.api_key)
            .field("bucket", &self.bucket)
            .finish()
    }
}

/// Which browser origins may call the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Origins {
    /// Any origin (`*` in the list).
    Any,
    /// Exactly these (`scheme://host[:port]`, lowercase, no trailing `/`).
    List(Vec<String>),
}

impl Origins {
    /// Whether a request's `Origin` value is allowed.
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            Origins::Any => true,
            Origins::List(list) => {
                let origin = origin.trim_end_matches('/');
                list.iter().any(|o| o.eq_ignore_ascii_case(origin))
            }
        }
    }
}

/// What the handlers share; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: Config,
    pub public_url: String,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub lift_secret: Vec<u8>,
    pub demo: DemoCredentials,
    pub created: bool,
    pub limiter: RateLimiter,
    /// Ids of tus uploads a PATCH or DELETE is working on right now.
    pub writing: Mutex<HashSet<String>>,
    /// `host[:port]` values a signed request may name.
    pub accepted_hosts: Vec<String>,
    pub origins: Origins,
    pub uploads_dir: PathBuf,
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.inner.public_url)
            .field("data_dir", &self.inner.config.data_dir)
            .finish_non_exhaustive()
    }
}

/// Holds an upload id in [`Inner::writing`] until dropped.
pub(crate) struct WriteGuard {
    state: AppState,
    id: String,
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        if let Ok(mut writing) = self.state.inner.writing.lock() {
            writing.remove(&self.id);
        }
    }
}

impl AppState {
    /// Opens the data directory of `config` with the system clock: creates the
    /// database and the demo credentials on the first start, and rolls every
    /// unfinished upload back to its last acknowledged offset.
    pub fn open(config: Config) -> Result<AppState, Error> {
        Self::open_with_clock(config, Arc::new(SystemClock))
    }

    /// [`AppState::open`] with another clock (tests move a
    /// [`crate::ManualClock`]).
    pub fn open_with_clock(config: Config, clock: Arc<dyn Clock>) -> Result<AppState, Error> {
        config.validate()?;
        let uploads_dir = config.data_dir.join("uploads");
        std::fs::create_dir_all(&uploads_dir).map_err(|e| {
            Error::Config(format!(
                "cannot create data directory {}: {e}",
                uploads_dir.display()
            ))
        })?;
        let db = Db::open(&config.data_dir.join("aura.sqlite3"))?;
        let now = clock.now();
        let lift_secret = db.secret_or_create("lift_secret", || random::bytes(32))?;
        let (demo, created) = match db.demo_credentials()? {
            Some(stored) => (stored, false),
            None => {
                let stored = StoredCredentials {
                    app_id: format!("app_{}", random::hex(16)?),
                    app_secret: random::url_safe(48)?,
                    api_key: format!("ak_{}", random::url_safe(40)?),
                    bucket: DEMO_BUCKET.to_owned(),
                };
                db.insert_app(&stored, &random::bytes(32)?, true, now)?;
                (stored, true)
            }
        };
        let public_url = config.public_url();
        let state = AppState {
            inner: Arc::new(Inner {
                accepted_hosts: accepted_hosts(&config, &public_url)?,
                origins: origins(&config, &public_url)?,
                public_url,
                db,
                clock,
                lift_secret,
                demo: DemoCredentials {
                    app_id: demo.app_id,
                    app_secret: demo.app_secret,
                    api_key: demo.api_key,
                    bucket: demo.bucket,
                },
                created,
                limiter: RateLimiter::default(),
                writing: Mutex::new(HashSet::new()),
                uploads_dir,
                config,
            }),
        };
        state.reconcile_uploads()?;
        Ok(state)
    }

    pub(crate) fn s(&self) -> &Inner {
        &self.inner
    }

    /// The configuration the state was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The base URL clients reach the server at, without a trailing `/`.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// The demo app's credentials.
    pub fn demo_credentials(&self) -> &DemoCredentials {
        &self.inner.demo
    }

    /// Whether this start created the demo credentials (the first start on
    /// this data directory).
    pub fn credentials_created(&self) -> bool {
        self.inner.created
    }

    /// The current time of the state's clock, Unix seconds.
    pub fn now(&self) -> u64 {
        self.inner.clock.now()
    }

    /// Mints a lift token with this server's upload secret, as
    /// `uploader/config` does; for tests and tools that need a token with
    /// other claims (another project, a short expiry).
    pub fn mint_lift_token(&self, payload: &aura_hmac::token::LiftToken) -> Result<String, Error> {
        payload
            .mint(&self.inner.lift_secret)
            .map_err(|e| Error::Internal(format!("cannot mint a lift token: {e}")))
    }

    /// Where the bytes of tus upload `id` are stored.
    pub(crate) fn upload_path(&self, id: &str) -> PathBuf {
        self.inner.uploads_dir.join(id)
    }

    /// Marks upload `id` as being written; `None` when another request holds it.
    pub(crate) fn try_write(&self, id: &str) -> Result<Option<WriteGuard>, Error> {
        let mut writing = self
            .inner
            .writing
            .lock()
            .map_err(|_| Error::Internal("upload lock poisoned by a panic".to_owned()))?;
        if !writing.insert(id.to_owned()) {
            return Ok(None);
        }
        Ok(Some(WriteGuard {
            state: self.clone(),
            id: id.to_owned(),
        }))
    }

    /// Removes the bytes of unfinished uploads that expired and marks them
    /// deleted; returns how many. `serve` runs it periodically.
    pub fn sweep_expired(&self) -> Result<usize, Error> {
        let now = self.now();
        let mut removed = 0;
        for upload in self.inner.db.tus_uploads()? {
            let expired = upload.deleted_at.is_none()
                && upload.completed_at.is_none()
                && upload.expires_at < now;
            if !expired {
                continue;
            }
            let Some(_guard) = self.try_write(&upload.id)? else {
                continue;
            };
            remove_file_if_present(&self.upload_path(&upload.id))?;
            self.inner.db.delete_tus_upload(&upload.id, now)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// After a crash, a file may hold bytes past the acknowledged offset (a
    /// PATCH that never answered): cut them off so that the database offset,
    /// written only after fsync, is the truth. An upload whose last byte was
    /// acknowledged but whose zip was not verified yet is verified now.
    fn reconcile_uploads(&self) -> Result<(), Error> {
        for upload in self.inner.db.tus_uploads()? {
            if upload.deleted_at.is_some() || upload.completed_at.is_some() {
                continue;
            }
            let path = self.upload_path(&upload.id);
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            let len = file.metadata()?.len();
            if len > upload.offset {
                file.set_len(upload.offset)?;
                file.sync_all()?;
            } else if len < upload.offset {
                // Not reachable with fsync before the offset write; keep what is there.
                self.inner
                    .db
                    .set_tus_offset(&upload.id, len, upload.expires_at)?;
                continue;
            }
            if upload.offset == upload.length {
                // All bytes were acknowledged but the server stopped before
                // verifying the zip: do it now.
                let check = crate::tus::verify_zip(&path)?;
                self.inner
                    .db
                    .complete_tus_upload(&upload.id, &check, self.now())?;
            }
        }
        Ok(())
    }
}

/// Removes a file, treating "already gone" as done.
pub(crate) fn remove_file_if_present(path: &Path) -> Result<(), Error> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The origin (`scheme://host[:port]`) of an absolute URL.
fn origin_of(url: &str) -> Result<String, Error> {
    let host = aura_hmac::host_of_url(url)
        .map_err(|_| Error::Config(format!("{url:?} is not an absolute http(s) url")))?;
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase())
        .unwrap_or_else(|| "http".to_owned());
    Ok(format!("{scheme}://{host}"))
}

/// The `host[:port]` values a signed request may name: the public URL's host,
/// and, for a loopback or unspecified bind address, the loopback names with
/// the bound port.
fn accepted_hosts(config: &Config, public_url: &str) -> Result<Vec<String>, Error> {
    let mut hosts = vec![aura_hmac::host_of_url(public_url)
        .map_err(|_| Error::Config(format!("{public_url:?} is not an absolute http(s) url")))?];
    let ip = config.addr.ip();
    let port = config.addr.port();
    if ip.is_loopback() || ip.is_unspecified() {
        hosts.push(format!("127.0.0.1:{port}"));
        hosts.push(format!("localhost:{port}"));
        hosts.push(format!("[::1]:{port}"));
    } else {
        hosts.push(config.addr.to_string());
    }
    let mut seen = HashSet::new();
    hosts.retain(|h| seen.insert(h.to_ascii_lowercase()));
    Ok(hosts)
}

/// The configured origins, or the defaults: this server's own origins plus
/// `trunk serve` on port 8081.
fn origins(config: &Config, public_url: &str) -> Result<Origins, Error> {
    if let Some(list) = &config.allowed_origins {
        if list.iter().any(|o| o == "*") {
            return Ok(Origins::Any);
        }
        return Ok(Origins::List(
            list.iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        ));
    }
    let mut list = vec![origin_of(public_url)?];
    for host in accepted_hosts(config, public_url)? {
        list.push(format!("http://{host}"));
    }
    list.push("http://127.0.0.1:8081".to_owned());
    list.push("http://localhost:8081".to_owned());
    let mut seen = HashSet::new();
    list.retain(|o| seen.insert(o.clone()));
    Ok(Origins::List(list))
}
