//! The embedded SQLite database (`<data-dir>/aura.sqlite3`): apps, API keys,
//! upload tokens, nonces, upload sessions, studies, lifecycle events, tus
//! uploads and viewer links.
//!
//! One connection behind a mutex, held only for the few statements of one
//! call; every write commits with `synchronous=FULL`, so a tus offset stored
//! here survives a crash once the call returns. The one exception is the
//! count of a token's uses (see [`Db::consume_token_use`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use aura_hmac::{NonceStore, VerifyOptions};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use crate::Error;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS server_secrets (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS apps (
    app_id TEXT PRIMARY KEY,
    app_secret TEXT NOT NULL,
    bucket TEXT NOT NULL UNIQUE,
    serve_secret BLOB NOT NULL,
    demo INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    api_key TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(app_id),
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS upload_tokens (
    id INTEGER PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    app_id TEXT NOT NULL REFERENCES apps(app_id),
    scopes TEXT NOT NULL,
    max_uses INTEGER,
    uses INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS nonces (
    app_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    PRIMARY KEY (app_id, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_by_timestamp ON nonces(timestamp);
CREATE TABLE IF NOT EXISTS upload_sessions (
    upload_id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(app_id),
    status TEXT NOT NULL,
    mode TEXT,
    kind TEXT,
    source TEXT,
    context TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS studies (
    id TEXT PRIMARY KEY,
    upload_id TEXT NOT NULL REFERENCES upload_sessions(upload_id),
    study_uid TEXT NOT NULL,
    info TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (upload_id, study_uid)
);
CREATE TABLE IF NOT EXISTS lifecycle_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id TEXT NOT NULL REFERENCES upload_sessions(upload_id),
    kind TEXT NOT NULL,
    assembly_id TEXT,
    message TEXT,
    details TEXT,
    at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tus_uploads (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    upload_length INTEGER NOT NULL,
    upload_offset INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL,
    upload_id TEXT,
    study_uid TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    completed_at INTEGER,
    deleted_at INTEGER,
    sha256 TEXT,
    entry_count INTEGER,
    verify_error TEXT
);
CREATE INDEX IF NOT EXISTS tus_uploads_by_study ON tus_uploads(upload_id, study_uid);
CREATE TABLE IF NOT EXISTS viewer_links (
    id INTEGER PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES apps(app_id),
    transfer_id TEXT NOT NULL,
    tus_upload_id TEXT NOT NULL REFERENCES tus_uploads(id),
    pin TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
PRAGMA user_version = 1;
"#;

/// The database: one connection, locked per call.
pub(crate) struct Db {
    conn: Mutex<Connection>,
}

/// An app as the request handlers need it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct App {
    pub app_id: String,
    pub bucket: String,
    pub serve_secret: Vec<u8>,
}

/// The demo app's credentials as stored.
#[derive(Clone)]
pub(crate) struct StoredCredentials {
    pub app_id: String,
    pub app_secret: String,
    pub api_key: String,
    pub bucket: String,
}

/// A stored upload token (looked up by the SHA-256 of its text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRecord {
    pub id: i64,
    pub app_id: String,
    pub scopes: Vec<String>,
    pub max_uses: Option<u64>,
    pub uses: u64,
    pub expires_at: u64,
}

/// A new upload token to store.
pub(crate) struct NewToken<'a> {
    pub token_sha256: &'a str,
    pub app_id: &'a str,
    pub scopes: &'a [String],
    pub max_uses: Option<u64>,
    pub created_at: u64,
    pub expires_at: u64,
}

/// Why a session write was refused.
#[derive(Debug)]
pub(crate) enum SessionError {
    /// The upload id belongs to another app.
    OtherApp,
    /// The database failed.
    Db(rusqlite::Error),
}

impl From<rusqlite::Error> for SessionError {
    fn from(e: rusqlite::Error) -> Self {
        SessionError::Db(e)
    }
}

impl From<SessionError> for Error {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::OtherApp => Error::Forbidden {
                code: "forbidden",
                message: "upload_id belongs to another app; start a new upload session".to_owned(),
            },
            SessionError::Db(e) => Error::Database(e),
        }
    }
}

/// One lifecycle event to record against a session.
pub(crate) struct NewEvent<'a> {
    pub app_id: &'a str,
    pub upload_id: &'a str,
    pub kind: &'a str,
    pub status: &'a str,
    pub assembly_id: Option<&'a str>,
    pub message: Option<&'a str>,
    pub details: Option<&'a Value>,
    pub at: u64,
}

/// Session fields from `upload/init`.
pub(crate) struct SessionInit<'a> {
    pub app_id: &'a str,
    pub upload_id: &'a str,
    pub mode: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub source: Option<&'a str>,
    pub context: Option<&'a Value>,
    pub at: u64,
}

/// A tus upload as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TusUpload {
    pub id: String,
    pub project: String,
    pub length: u64,
    pub offset: u64,
    pub metadata: BTreeMap<String, String>,
    pub upload_id: Option<String>,
    pub study_uid: Option<String>,
    pub created_at: u64,
    pub expires_at: u64,
    pub completed_at: Option<u64>,
    pub deleted_at: Option<u64>,
    pub sha256: Option<String>,
    pub entry_count: Option<u64>,
    pub verify_error: Option<String>,
}

/// What verifying a completed zip found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ZipCheck {
    pub sha256: String,
    pub entry_count: Option<u64>,
    pub error: Option<String>,
}

/// A session with its studies and events, for `GET /api/dev/uploads`.
#[derive(Debug, Clone)]
pub(crate) struct SessionView {
    pub upload_id: String,
    pub app_id: String,
    pub status: String,
    pub mode: Option<String>,
    pub created_at: u64,
    pub updated_at: u64,
    pub studies: Vec<StudyView>,
    pub events: Vec<EventView>,
}

/// A study of a session.
#[derive(Debug, Clone)]
pub(crate) struct StudyView {
    pub id: String,
    pub study_uid: String,
    pub info: Value,
}

/// A recorded lifecycle event.
#[derive(Debug, Clone)]
pub(crate) struct EventView {
    pub seq: i64,
    pub kind: String,
    pub assembly_id: Option<String>,
    pub message: Option<String>,
    pub at: u64,
}

/// Nonces of validly signed requests, in the `nonces` table.
struct DbNonceStore<'a> {
    conn: &'a Connection,
    window_secs: u64,
    failed: Option<rusqlite::Error>,
}

impl NonceStore for DbNonceStore<'_> {
    fn check_and_insert(&mut self, app_id: &str, nonce: &str, timestamp: u64, now: u64) -> bool {
        let result = (|| -> rusqlite::Result<bool> {
            let cutoff = now.saturating_sub(self.window_secs);
            self.conn
                .execute("DELETE FROM nonces WHERE timestamp < ?1", params![cutoff])?;
            let inserted = self.conn.execute(
                "INSERT OR IGNORE INTO nonces (app_id, nonce, timestamp) VALUES (?1, ?2, ?3)",
                params![app_id, nonce, timestamp],
            )?;
            Ok(inserted == 1)
        })();
        match result {
            Ok(fresh) => fresh,
            Err(e) => {
                // Fail closed: an unrecorded nonce could be replayed.
                self.failed = Some(e);
                false
            }
        }
    }
}

fn tus_from_row(row: &Row<'_>) -> rusqlite::Result<TusUpload> {
    let metadata: String = row.get("metadata")?;
    Ok(TusUpload {
        id: row.get("id")?,
        project: row.get("project")?,
        length: row.get("upload_length")?,
        offset: row.get("upload_offset")?,
        metadata: serde_json::from_str(&metadata).unwrap_or_default(),
        upload_id: row.get("upload_id")?,
        study_uid: row.get("study_uid")?,
        created_at: row.get("created_at")?,
        expires_at: row.get("expires_at")?,
        completed_at: row.get("completed_at")?,
        deleted_at: row.get("deleted_at")?,
        sha256: row.get("sha256")?,
        entry_count: row.get("entry_count")?,
        verify_error: row.get("verify_error")?,
    })
}

impl Db {
    /// Opens (creating when missing) the database at `path` and its schema.
    pub fn open(path: &Path) -> Result<Db, Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, Error> {
        self.conn
            .lock()
            .map_err(|_| Error::Internal("database lock poisoned by a panic".to_owned()))
    }

    /// A server secret by name, creating it with `make` when missing.
    pub fn secret_or_create(
        &self,
        name: &str,
        make: impl FnOnce() -> Result<Vec<u8>, Error>,
    ) -> Result<Vec<u8>, Error> {
        let conn = self.lock()?;
        let existing: Option<Vec<u8>> = conn
            .query_row(
                "SELECT value FROM server_secrets WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(value) = existing {
            return Ok(value);
        }
        let value = make()?;
        conn.execute(
            "INSERT INTO server_secrets (name, value) VALUES (?1, ?2)",
            params![name, value],
        )?;
        Ok(value)
    }

    /// The demo app's credentials, if created.
    pub fn demo_credentials(&self) -> Result<Option<StoredCredentials>, Error> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT a.app_id, a.app_secret, k.api_key, a.bucket FROM apps a
                 JOIN api_keys k ON k.app_id = a.app_id
                 WHERE a.demo = 1 ORDER BY k.created_at, k.api_key LIMIT 1",
                [],
                |r| {
                    Ok(StoredCredentials {
                        app_id: r.get(0)?,
                        app_secret: r.get(1)?,
                        api_key: r.get(2)?,
                        bucket: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Stores an app with one API key.
    pub fn insert_app(
        &self,
        creds: &StoredCredentials,
        serve_secret: &[u8],
        demo: bool,
        now: u64,
    ) -> Result<(), Error> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO apps (app_id, app_secret, bucket, serve_secret, demo, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                creds.app_id,
                creds.app_secret,
                creds.bucket,
                serve_secret,
                demo,
                now
            ],
        )?;
        tx.execute(
            "INSERT INTO api_keys (api_key, app_id, created_at) VALUES (?1, ?2, ?3)",
            params![creds.api_key, creds.app_id, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn app_where(&self, condition: &str, value: &str) -> Result<Option<App>, Error> {
        let conn = self.lock()?;
        let sql = format!("SELECT a.app_id, a.bucket, a.serve_secret FROM apps a {condition}");
        Ok(conn
            .query_row(&sql, params![value], |r| {
                Ok(App {
                    app_id: r.get(0)?,
                    bucket: r.get(1)?,
                    serve_secret: r.get(2)?,
                })
            })
            .optional()?)
    }

    /// The app an API key belongs to.
    pub fn app_by_api_key(&self, api_key: &str) -> Result<Option<App>, Error> {
        self.app_where(
            "JOIN api_keys k ON k.app_id = a.app_id WHERE k.api_key = ?1",
            api_key,
        )
    }

    /// An app by id.
    pub fn app_by_id(&self, app_id: &str) -> Result<Option<App>, Error> {
        self.app_where("WHERE a.app_id = ?1", app_id)
    }

    /// The app that owns a bucket (project).
    pub fn app_by_bucket(&self, bucket: &str) -> Result<Option<App>, Error> {
        self.app_where("WHERE a.bucket = ?1", bucket)
    }

    /// Runs [`aura_hmac::verify`] with app secrets and nonces from the database.
    pub fn verify_signature(
        &self,
        req: &aura_hmac::Request,
        opts: &VerifyOptions<'_>,
    ) -> Result<String, Error> {
        let conn = self.lock()?;
        let lookup = |app_id: &str| -> Option<String> {
            conn.query_row(
                "SELECT app_secret FROM apps WHERE app_id = ?1",
                params![app_id],
                |r| r.get(0),
            )
            .ok()
        };
        let mut nonces = DbNonceStore {
            conn: &conn,
            window_secs: opts.window_secs,
            failed: None,
        };
        let verified = aura_hmac::verify(req, lookup, &mut nonces, opts);
        if let Some(e) = nonces.failed {
            return Err(Error::Database(e));
        }
        Ok(verified?)
    }

    /// Stores a new upload token.
    pub fn insert_token(&self, token: &NewToken<'_>) -> Result<(), Error> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO upload_tokens (token_sha256, app_id, scopes, max_uses, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                token.token_sha256,
                token.app_id,
                serde_json::to_string(token.scopes).unwrap_or_else(|_| "[]".to_owned()),
                token.max_uses,
                token.created_at,
                token.expires_at
            ],
        )?;
        Ok(())
    }

    /// The upload token whose text hashes to `token_sha256`.
    pub fn token_by_hash(&self, token_sha256: &str) -> Result<Option<TokenRecord>, Error> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT id, app_id, scopes, max_uses, uses, expires_at FROM upload_tokens
                 WHERE token_sha256 = ?1",
                params![token_sha256],
                |r| {
                    let scopes: String = r.get(2)?;
                    Ok(TokenRecord {
                        id: r.get(0)?,
                        app_id: r.get(1)?,
                        scopes: serde_json::from_str(&scopes).unwrap_or_default(),
                        max_uses: r.get(3)?,
                        uses: r.get(4)?,
                        expires_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Counts one use of a token, unless it has none left; `false` then.
    ///
    /// Every authenticated API call commits one of these, so it commits with
    /// `synchronous=NORMAL`: in WAL mode that survives a crash of the server
    /// (the write is in the WAL file), and the next `FULL` commit (any tus
    /// offset, event or token) makes it durable on disk too. Only a power
    /// loss in between can forget a few uses. This lets the config endpoint
    /// answer without waiting for an fsync (see BENCHMARKS.md).
    pub fn consume_token_use(&self, id: i64) -> Result<bool, Error> {
        let conn = self.lock()?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let changed = conn.execute(
            "UPDATE upload_tokens SET uses = uses + 1
             WHERE id = ?1 AND (max_uses IS NULL OR uses < max_uses)",
            params![id],
        );
        // Back to FULL before anything else can use the connection.
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(changed? == 1)
    }

    /// Creates the session when new (as `app_id`'s), or checks it is
    /// `app_id`'s; within an open transaction.
    fn ensure_session(
        tx: &rusqlite::Transaction<'_>,
        app_id: &str,
        upload_id: &str,
        status: &str,
        at: u64,
    ) -> Result<(), SessionError> {
        let owner: Option<String> = tx
            .query_row(
                "SELECT app_id FROM upload_sessions WHERE upload_id = ?1",
                params![upload_id],
                |r| r.get(0),
            )
            .optional()?;
        match owner {
            Some(owner) if owner != app_id => Err(SessionError::OtherApp),
            Some(_) => Ok(()),
            None => {
                tx.execute(
                    "INSERT INTO upload_sessions (upload_id, app_id, status, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![upload_id, app_id, status, at],
                )?;
                Ok(())
            }
        }
    }

    fn insert_event(tx: &rusqlite::Transaction<'_>, event: &NewEvent<'_>) -> rusqlite::Result<()> {
        tx.execute(
            "INSERT INTO lifecycle_events (upload_id, kind, assembly_id, message, details, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                event.upload_id,
                event.kind,
                event.assembly_id,
                event.message,
                event.details.map(Value::to_string),
                event.at
            ],
        )?;
        tx.execute(
            "UPDATE upload_sessions SET status = ?2, updated_at = ?3 WHERE upload_id = ?1",
            params![event.upload_id, event.status, event.at],
        )?;
        Ok(())
    }

    /// `upload/init`: creates or updates the session, stores each study (keyed
    /// by StudyInstanceUID; a study sent again keeps its id) and records the
    /// `init` event. Returns the studies' internal ids in request order.
    pub fn init_session(
        &self,
        session: &SessionInit<'_>,
        studies: &[(String, Value)],
        mut new_id: impl FnMut() -> Result<String, Error>,
    ) -> Result<Vec<String>, Error> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        Self::ensure_session(
            &tx,
            session.app_id,
            session.upload_id,
            "initialized",
            session.at,
        )?;
        tx.execute(
            "UPDATE upload_sessions SET mode = ?2, kind = ?3, source = ?4, context = ?5
             WHERE upload_id = ?1",
            params![
                session.upload_id,
                session.mode,
                session.kind,
                session.source,
                session.context.map(Value::to_string)
            ],
        )?;
        let mut ids = Vec::with_capacity(studies.len());
        for (study_uid, info) in studies {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT id FROM studies WHERE upload_id = ?1 AND study_uid = ?2",
                    params![session.upload_id, study_uid],
                    |r| r.get(0),
                )
                .optional()?;
            let id = match existing {
                Some(id) => {
                    tx.execute(
                        "UPDATE studies SET info = ?2 WHERE id = ?1",
                        params![id, info.to_string()],
                    )?;
                    id
                }
                None => {
                    let id = new_id()?;
                    tx.execute(
                        "INSERT INTO studies (id, upload_id, study_uid, info, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![
                            id,
                            session.upload_id,
                            study_uid,
                            info.to_string(),
                            session.at
                        ],
                    )?;
                    id
                }
            };
            ids.push(id);
        }
        let details = serde_json::json!({ "studies": studies.len() });
        Self::insert_event(
            &tx,
            &NewEvent {
                app_id: session.app_id,
                upload_id: session.upload_id,
                kind: "init",
                status: "initialized",
                assembly_id: None,
                message: None,
                details: Some(&details),
                at: session.at,
            },
        )?;
        tx.commit()?;
        Ok(ids)
    }

    /// Records a lifecycle event (creating the session when new) and sets the
    /// session's status.
    pub fn record_event(&self, event: &NewEvent<'_>) -> Result<(), Error> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        Self::ensure_session(&tx, event.app_id, event.upload_id, event.status, event.at)?;
        Self::insert_event(&tx, event)?;
        tx.commit()?;
        Ok(())
    }

    /// Stores a new tus upload.
    pub fn insert_tus_upload(&self, upload: &TusUpload) -> Result<(), Error> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO tus_uploads (id, project, upload_length, upload_offset, metadata,
                 upload_id, study_uid, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                upload.id,
                upload.project,
                upload.length,
                upload.offset,
                serde_json::to_string(&upload.metadata).unwrap_or_else(|_| "{}".to_owned()),
                upload.upload_id,
                upload.study_uid,
                upload.created_at,
                upload.expires_at
            ],
        )?;
        Ok(())
    }

    /// A tus upload by id.
    pub fn tus_upload(&self, id: &str) -> Result<Option<TusUpload>, Error> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT * FROM tus_uploads WHERE id = ?1",
                params![id],
                tus_from_row,
            )
            .optional()?)
    }

    /// Every tus upload, oldest first.
    pub fn tus_uploads(&self) -> Result<Vec<TusUpload>, Error> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare("SELECT * FROM tus_uploads ORDER BY created_at, rowid")?;
        let rows = stmt.query_map([], tus_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Sets the durable offset of a tus upload and its new expiry.
    pub fn set_tus_offset(&self, id: &str, offset: u64, expires_at: u64) -> Result<(), Error> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE tus_uploads SET upload_offset = ?2, expires_at = ?3 WHERE id = ?1",
            params![id, offset, expires_at],
        )?;
        Ok(())
    }

    /// Marks a tus upload complete with what verifying its zip found.
    pub fn complete_tus_upload(&self, id: &str, check: &ZipCheck, at: u64) -> Result<(), Error> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE tus_uploads SET completed_at = ?2, sha256 = ?3, entry_count = ?4, verify_error = ?5
             WHERE id = ?1",
            params![id, at, check.sha256, check.entry_count, check.error],
        )?;
        Ok(())
    }

    /// Marks a tus upload terminated (or expired and removed).
    pub fn delete_tus_upload(&self, id: &str, at: u64) -> Result<(), Error> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE tus_uploads SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id, at],
        )?;
        Ok(())
    }

    /// Bytes a project's live uploads take or have reserved: every upload not
    /// deleted, and not expired unless complete.
    pub fn project_bytes(&self, project: &str, now: u64) -> Result<u64, Error> {
        let conn = self.lock()?;
        let total: i64 = conn.query_row(
            "SELECT COALESCE(SUM(upload_length), 0) FROM tus_uploads
             WHERE project = ?1 AND deleted_at IS NULL
               AND (completed_at IS NOT NULL OR expires_at >= ?2)",
            params![project, now],
            |r| r.get(0),
        )?;
        Ok(u64::try_from(total).unwrap_or(0))
    }

    /// The completed upload a viewer link for `transfer_id` serves: the tus
    /// upload of that id, or the first completed upload of the session or
    /// study of that id; only within `project`.
    pub fn resolve_transfer(
        &self,
        transfer_id: &str,
        project: &str,
    ) -> Result<Option<String>, Error> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT t.id FROM tus_uploads t
                 LEFT JOIN studies s ON s.upload_id = t.upload_id AND s.study_uid = t.study_uid
                 WHERE t.project = ?2 AND t.completed_at IS NOT NULL AND t.deleted_at IS NULL
                   AND (t.id = ?1 OR t.upload_id = ?1 OR s.id = ?1)
                 ORDER BY (t.id = ?1) DESC, t.completed_at, t.rowid LIMIT 1",
                params![transfer_id, project],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records a viewer link that was handed out.
    pub fn insert_viewer_link(
        &self,
        app_id: &str,
        transfer_id: &str,
        tus_upload_id: &str,
        pin: &str,
        created_at: u64,
        expires_at: u64,
    ) -> Result<(), Error> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO viewer_links (app_id, transfer_id, tus_upload_id, pin, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![app_id, transfer_id, tus_upload_id, pin, created_at, expires_at],
        )?;
        Ok(())
    }

    /// Every session with its studies and events in order, oldest first.
    pub fn sessions(&self) -> Result<Vec<SessionView>, Error> {
        let conn = self.lock()?;
        let mut sessions = {
            let mut stmt = conn.prepare(
                "SELECT upload_id, app_id, status, mode, created_at, updated_at
                 FROM upload_sessions ORDER BY created_at, rowid",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(SessionView {
                    upload_id: r.get(0)?,
                    app_id: r.get(1)?,
                    status: r.get(2)?,
                    mode: r.get(3)?,
                    created_at: r.get(4)?,
                    updated_at: r.get(5)?,
                    studies: Vec::new(),
                    events: Vec::new(),
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut studies = conn.prepare(
            "SELECT id, study_uid, info FROM studies WHERE upload_id = ?1 ORDER BY created_at, rowid",
        )?;
        let mut events = conn.prepare(
            "SELECT seq, kind, assembly_id, message, at FROM lifecycle_events
             WHERE upload_id = ?1 ORDER BY seq",
        )?;
        for session in &mut sessions {
            session.studies = studies
                .query_map(params![session.upload_id], |r| {
                    let info: String = r.get(2)?;
                    Ok(StudyView {
                        id: r.get(0)?,
                        study_uid: r.get(1)?,
                        info: serde_json::from_str(&info).unwrap_or(Value::Null),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            session.events = events
                .query_map(params![session.upload_id], |r| {
                    Ok(EventView {
                        seq: r.get(0)?,
                        kind: r.get(1)?,
                        assembly_id: r.get(2)?,
                        message: r.get(3)?,
                        at: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
        }
        Ok(sessions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_a_token_use_leaves_the_connection_at_synchronous_full() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("aura.sqlite3")).unwrap();
        let synchronous = |db: &Db| -> i64 {
            db.lock()
                .unwrap()
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(synchronous(&db), 2, "FULL after opening");
        assert!(!db.consume_token_use(12345).unwrap(), "no such token");
        assert_eq!(synchronous(&db), 2, "FULL again after counting a use");
    }
}
