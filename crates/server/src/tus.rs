//! The tus 1.0.0 endpoint at `/files/`: core, creation, termination,
//! expiration and checksum (sha1), behind the edge checks of `TOKENS.md`.
//!
//! Bytes go to `<data-dir>/uploads/<id>`; the offset in the database is
//! written only after the bytes are fsynced, so an acknowledged offset
//! survives a crash. One request at a time may write an upload (others get
//! 423), so bytes never interleave.

use std::collections::BTreeMap;
use std::io::{Read, SeekFrom};
use std::path::Path as FsPath;
use std::time::Duration;

use aura_hmac::token::LiftToken;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use http_body_util::BodyExt;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::auth::{bearer_token, fingerprint};
use crate::db::{TusUpload, ZipCheck};
use crate::ratelimit::RateClass;
use crate::state::{remove_file_if_present, AppState};
use crate::timefmt::http_date;
use crate::Error;

/// The one protocol version spoken.
pub const TUS_VERSION: &str = "1.0.0";
/// The extensions advertised in `Tus-Extension`.
pub const TUS_EXTENSIONS: &str = "creation,termination,expiration,checksum";
/// The checksum algorithms advertised in `Tus-Checksum-Algorithm`.
pub const TUS_CHECKSUM_ALGORITHMS: &str = "sha1";

/// The first bytes of a zip's first local file header.
const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";
/// How many empty body frames in a row a PATCH may send before it is ended.
const MAX_EMPTY_FRAMES: u32 = 1_000;

/// Base64 that accepts values with or without padding (clients differ).
const METADATA_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn tus_header(name: &'static str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let value = HeaderValue::from_str(value)
        .map_err(|_| Error::Internal(format!("cannot send header {name}")))?;
    Ok((HeaderName::from_static(name), value))
}

fn respond(status: StatusCode, headers: Vec<(HeaderName, HeaderValue)>) -> Response {
    let mut response = status.into_response();
    response.headers_mut().extend(headers);
    response
}

/// Middleware on the tus routes: every request but OPTIONS must say
/// `Tus-Resumable: 1.0.0` (else 412), and every response but OPTIONS says it.
pub(crate) async fn protocol(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let supported = request
        .headers()
        .get("tus-resumable")
        .is_some_and(|v| v.as_bytes() == TUS_VERSION.as_bytes());
    let mut response = if supported {
        next.run(request).await
    } else {
        Error::UnsupportedTusVersion.into_response()
    };
    response.headers_mut().insert(
        HeaderName::from_static("tus-resumable"),
        HeaderValue::from_static(TUS_VERSION),
    );
    response
}

/// `OPTIONS /files/`: what this server supports.
pub(crate) async fn options(State(state): State<AppState>) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    headers.insert("tus-extension", HeaderValue::from_static(TUS_EXTENSIONS));
    headers.insert(
        "tus-checksum-algorithm",
        HeaderValue::from_static(TUS_CHECKSUM_ALGORITHMS),
    );
    headers.insert(
        "tus-max-size",
        HeaderValue::from(state.config().limits.max_upload_bytes),
    );
    response
}

/// The edge checks every tus request passes, in the order of `TOKENS.md`:
/// lift token present and its HMAC valid (401), not expired (401), project not
/// reserved (400), `Origin` allowed (403), rate limit (429).
fn edge(state: &AppState, headers: &HeaderMap) -> Result<LiftToken, Error> {
    let s = state.s();
    let token = bearer_token(headers).ok_or_else(|| Error::Unauthorized {
        code: "missing_token",
        message: "missing bearer lift token; send lift.token from uploader/config".to_owned(),
    })?;
    let lift = LiftToken::verify(&s.lift_secret, token, state.now())?;
    if lift.is_reserved_project() {
        return Err(Error::BadRequest(format!(
            "project name {:?} is reserved; use another bucket",
            lift.project_name
        )));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let allowed = origin.to_str().is_ok_and(|o| s.origins.allows(o));
        if !allowed {
            return Err(Error::Forbidden {
                code: "origin_not_allowed",
                message: "this origin may not upload here; add it to the server's allowed origins"
                    .to_owned(),
            });
        }
    }
    s.limiter.check(
        RateClass::Tus,
        &format!("lift:{}", fingerprint(token)),
        s.config.limits.tus_per_minute,
        state.now(),
    )?;
    Ok(lift)
}

/// Whether the token's `allowedTypes` can be checked by magic bytes and ask
/// for a zip (the only type this server knows the magic of).
fn requires_zip(lift: &LiftToken) -> bool {
    !lift.allowed_types.is_empty()
        && lift
            .allowed_types
            .iter()
            .all(|t| t.eq_ignore_ascii_case("application/zip"))
}

/// Parses `Upload-Metadata`: comma-separated `key base64(value)` pairs.
pub(crate) fn parse_metadata(value: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut metadata = BTreeMap::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, encoded) = pair.split_once(' ').unwrap_or((pair, ""));
        let valid_key = !key.is_empty() && key.bytes().all(|b| b.is_ascii_graphic());
        if !valid_key {
            return Err(Error::BadRequest(
                "upload-metadata keys must be non-empty ascii without spaces or commas".to_owned(),
            ));
        }
        let decoded = METADATA_BASE64.decode(encoded.trim()).map_err(|_| {
            Error::BadRequest(format!("upload-metadata value of {key:?} is not base64"))
        })?;
        if metadata
            .insert(
                key.to_owned(),
                String::from_utf8_lossy(&decoded).into_owned(),
            )
            .is_some()
        {
            return Err(Error::BadRequest(format!(
                "upload-metadata names {key:?} twice"
            )));
        }
    }
    Ok(metadata)
}

/// `Upload-Metadata` again, for HEAD.
fn encode_metadata(metadata: &BTreeMap<String, String>) -> String {
    metadata
        .iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!("{k} {}", STANDARD.encode(v))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn header_u64(headers: &HeaderMap, name: &str) -> Result<Option<u64>, Error> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(|| Error::BadRequest(format!("{name} must be a non-negative integer"))),
    }
}

/// A server-generated upload id: 32 lowercase hex digits (UUID v4, simple).
fn is_upload_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The upload `id` as `lift` may see it: 404 when unknown, in another
/// project or bound to another session; 410 when terminated.
fn find(state: &AppState, id: &str, lift: &LiftToken) -> Result<TusUpload, Error> {
    let not_found = || Error::NotFound("no such upload; create one with POST".to_owned());
    if !is_upload_id(id) {
        return Err(not_found());
    }
    let upload = state.s().db.tus_upload(id)?.ok_or_else(not_found)?;
    let bound_elsewhere = lift
        .upload_id
        .as_ref()
        .is_some_and(|bound| upload.upload_id.as_ref() != Some(bound));
    if upload.project != lift.project_name || bound_elsewhere {
        return Err(not_found());
    }
    if upload.deleted_at.is_some() {
        return Err(Error::Gone(
            "upload was terminated or has expired; create a new one".to_owned(),
        ));
    }
    Ok(upload)
}

/// 410 for an unfinished upload past its expiry.
fn check_not_expired(state: &AppState, upload: &TusUpload) -> Result<(), Error> {
    if upload.completed_at.is_none() && upload.expires_at < state.now() {
        return Err(Error::Gone(
            "upload has expired; create a new one".to_owned(),
        ));
    }
    Ok(())
}

fn expires_header(
    upload: &TusUpload,
    expires_at: u64,
) -> Result<Vec<(HeaderName, HeaderValue)>, Error> {
    if upload.completed_at.is_some() {
        return Ok(Vec::new());
    }
    Ok(vec![tus_header("upload-expires", &http_date(expires_at))?])
}

/// `POST /files/`: creates an upload of `Upload-Length` bytes.
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let lift = edge(&state, &headers)?;
    let s = state.s();
    if headers.contains_key("upload-defer-length") {
        return Err(Error::BadRequest(
            "upload-defer-length is not supported; send upload-length".to_owned(),
        ));
    }
    let length = header_u64(&headers, "upload-length")?.ok_or_else(|| {
        Error::BadRequest("upload-length is required: the upload's size in bytes".to_owned())
    })?;
    let now = state.now();
    let used = s.db.project_bytes(&lift.project_name, now)?;
    if used.saturating_add(length) > s.config.limits.quota_bytes {
        return Err(Error::QuotaExceeded(format!(
            "storage quota of {} bytes for this project would be exceeded; delete uploads or raise the quota",
            s.config.limits.quota_bytes
        )));
    }
    let max = lift.max_size.min(s.config.limits.max_upload_bytes);
    if length > max {
        return Err(Error::TooLarge(format!(
            "upload-length {length} is larger than the allowed {max} bytes"
        )));
    }
    if requires_zip(&lift) && length < ZIP_MAGIC.len() as u64 {
        return Err(Error::UnsupportedMediaType(
            "upload is too small to be a zip; only application/zip is accepted".to_owned(),
        ));
    }
    let metadata = match headers.get("upload-metadata") {
        Some(value) => parse_metadata(
            value
                .to_str()
                .map_err(|_| Error::BadRequest("upload-metadata must be ascii".to_owned()))?,
        )?,
        None => BTreeMap::new(),
    };
    let upload_id = metadata.get("upload_id").cloned();
    if let (Some(bound), Some(sent)) = (&lift.upload_id, &upload_id) {
        if bound != sent {
            return Err(Error::Forbidden {
                code: "upload_id_mismatch",
                message: "the lift token is bound to another upload session".to_owned(),
            });
        }
    }
    let id = uuid::Uuid::new_v4().simple().to_string();
    let path = state.upload_path(&id);
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .await?;
    file.sync_all().await?;
    drop(file);
    sync_dir(path.parent()).await?;
    let expires_at = now.saturating_add(s.config.limits.upload_expiry_secs);
    let upload = TusUpload {
        id: id.clone(),
        project: lift.project_name.clone(),
        length,
        offset: 0,
        study_uid: metadata.get("study_uid").cloned(),
        upload_id: upload_id.or_else(|| lift.upload_id.clone()),
        metadata,
        created_at: now,
        expires_at,
        completed_at: None,
        deleted_at: None,
        sha256: None,
        entry_count: None,
        verify_error: None,
    };
    s.db.insert_tus_upload(&upload)?;
    tracing::info!(upload = %id, length, "tus upload created");
    let mut headers = vec![tus_header(
        "location",
        &format!("{}/files/{id}", state.public_url()),
    )?];
    headers.extend(expires_header(&upload, expires_at)?);
    Ok(respond(StatusCode::CREATED, headers))
}

/// Makes a directory entry (a created or removed file) durable.
async fn sync_dir(dir: Option<&FsPath>) -> Result<(), Error> {
    if let Some(dir) = dir {
        tokio::fs::File::open(dir).await?.sync_all().await?;
    }
    Ok(())
}

/// `HEAD /files/{id}`: the durable offset.
pub(crate) async fn head(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let lift = edge(&state, &headers)?;
    let upload = find(&state, &id, &lift)?;
    check_not_expired(&state, &upload)?;
    let mut out = vec![
        tus_header("upload-offset", &upload.offset.to_string())?,
        tus_header("upload-length", &upload.length.to_string())?,
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    if !upload.metadata.is_empty() {
        out.push(tus_header(
            "upload-metadata",
            &encode_metadata(&upload.metadata),
        )?);
    }
    out.extend(expires_header(&upload, upload.expires_at)?);
    Ok(respond(StatusCode::OK, out))
}

/// `DELETE /files/{id}`: terminates the upload and removes its bytes.
pub(crate) async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let lift = edge(&state, &headers)?;
    let upload = find(&state, &id, &lift)?;
    let _guard = state.try_write(&upload.id)?.ok_or(Error::Locked)?;
    let path = state.upload_path(&upload.id);
    remove_file_if_present(&path)?;
    sync_dir(path.parent()).await?;
    state.s().db.delete_tus_upload(&upload.id, state.now())?;
    tracing::info!(upload = %upload.id, "tus upload terminated");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// How reading a PATCH body ended.
enum End {
    /// The body ended normally.
    Complete,
    /// The client went away or stalled; what arrived may be kept.
    Interrupted,
    /// More bytes than `Upload-Length` leaves room for.
    TooLong,
    /// The first bytes are not of an allowed type.
    BadMagic,
    /// Writing failed.
    Io(std::io::Error),
}

/// A parsed `Upload-Checksum: sha1 <base64>`.
fn parse_checksum(headers: &HeaderMap) -> Result<Option<Vec<u8>>, Error> {
    let Some(value) = headers.get("upload-checksum") else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Error::BadRequest("upload-checksum must be ascii".to_owned()))?;
    let (algorithm, encoded) = value.trim().split_once(' ').ok_or_else(|| {
        Error::BadRequest("upload-checksum must be '<algorithm> <base64 digest>'".to_owned())
    })?;
    if !algorithm.eq_ignore_ascii_case("sha1") {
        return Err(Error::BadRequest(format!(
            "checksum algorithm {algorithm:?} is not supported; use sha1"
        )));
    }
    let digest = METADATA_BASE64
        .decode(encoded.trim())
        .ok()
        .filter(|d| d.len() == 20)
        .ok_or_else(|| {
            Error::BadRequest("upload-checksum digest must be 20 bytes of base64".to_owned())
        })?;
    Ok(Some(digest))
}

/// Writes the PATCH body to `file` from `start`; returns how it ended and how
/// many bytes were written (those held back for the magic check are written
/// before returning, unless the check failed).
async fn write_body(
    file: &mut tokio::fs::File,
    mut body: Body,
    room: u64,
    mut magic: Option<Vec<u8>>,
    mut sha1: Option<&mut Sha1>,
    idle: Duration,
) -> (End, u64) {
    let mut written: u64 = 0;
    let mut held: Vec<u8> = Vec::new();
    let mut empty_frames = 0;
    let end = loop {
        let frame = match tokio::time::timeout(idle, body.frame()).await {
            Err(_) | Ok(Some(Err(_))) => break End::Interrupted,
            Ok(None) => break End::Complete,
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry nothing tus uses
        };
        if data.is_empty() {
            empty_frames += 1;
            if empty_frames > MAX_EMPTY_FRAMES {
                break End::Interrupted;
            }
            continue;
        }
        empty_frames = 0;
        let incoming = held.len() as u64 + data.len() as u64;
        if written.saturating_add(incoming) > room {
            break End::TooLong;
        }
        if let Some(hasher) = sha1.as_deref_mut() {
            hasher.update(&data);
        }
        if let Some(head) = magic.as_mut() {
            // Hold bytes back until the first four bytes of the upload are known.
            held.extend_from_slice(&data);
            let need = ZIP_MAGIC.len() - head.len();
            if held.len() < need {
                continue;
            }
            head.extend_from_slice(&held[..need]);
            if head[..] != ZIP_MAGIC[..] {
                break End::BadMagic;
            }
            magic = None;
            if let Err(e) = file.write_all(&held).await {
                break End::Io(e);
            }
            written += held.len() as u64;
            held.clear();
            continue;
        }
        if let Err(e) = file.write_all(&data).await {
            break End::Io(e);
        }
        written += data.len() as u64;
    };
    match end {
        End::Complete | End::Interrupted if !held.is_empty() => {
            // Fewer than four bytes in all: the PATCH that completes the first
            // four checks them, reading these back from disk.
            if let Err(e) = file.write_all(&held).await {
                return (End::Io(e), written);
            }
            written += held.len() as u64;
            (end, written)
        }
        end => (end, written),
    }
}

/// Cuts the file back to `offset` and makes that durable.
async fn discard_from(file: &mut tokio::fs::File, offset: u64) -> Result<(), Error> {
    file.set_len(offset).await?;
    file.sync_all().await?;
    Ok(())
}

/// `PATCH /files/{id}`: appends the body at `Upload-Offset`.
pub(crate) async fn patch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Error> {
    let idle = Duration::from_secs(state.config().limits.patch_idle_timeout_secs);
    let declared = header_u64(&headers, "content-length").ok().flatten();
    let mut body = Some(body);
    let result = patch_upload(state, id, headers, &mut body, idle).await;
    if result.is_err() {
        if let Some(unread) = body.take() {
            drain_unread(unread, declared, idle).await;
        }
    }
    result
}

/// Most bytes of a refused PATCH's body read (and dropped) before the
/// answer goes out: a chunk of the widget's default size (5 MiB) and more.
const DRAIN_LIMIT: u64 = 16 << 20;

/// Longest a refused PATCH's body is read before the answer goes out.
const DRAIN_TIME: Duration = Duration::from_secs(20);

/// Reads and drops the body of a PATCH refused before its body was read
/// (401, 404, 409, 423…), when it is at most [`DRAIN_LIMIT`] bytes: a server
/// that answers and closes with the body unread makes the kernel reset the
/// connection, and a client then often gets a network error instead of the
/// answer (measured: the e2e token test's client saw the expired lift
/// token's 401 only on its next HEAD, about one time in three). Bounded by
/// [`DRAIN_TIME`] and by `idle` between frames.
async fn drain_unread(mut body: Body, declared: Option<u64>, idle: Duration) {
    if declared.is_some_and(|n| n > DRAIN_LIMIT) {
        return;
    }
    let drain = async {
        let mut read: u64 = 0;
        while read <= DRAIN_LIMIT {
            match tokio::time::timeout(idle, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    read += frame.data_ref().map_or(0, |d| d.len() as u64);
                }
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, drain).await;
}

/// The PATCH itself; takes `body` out of its slot when it starts reading it
/// (`idle`: the longest wait for the next piece of it).
async fn patch_upload(
    state: AppState,
    id: String,
    headers: HeaderMap,
    body: &mut Option<Body>,
    idle: Duration,
) -> Result<Response, Error> {
    let lift = edge(&state, &headers)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if content_type.as_deref() != Some("application/offset+octet-stream") {
        return Err(Error::UnsupportedMediaType(
            "patch requests must have content-type application/offset+octet-stream".to_owned(),
        ));
    }
    let claimed = header_u64(&headers, "upload-offset")?
        .ok_or_else(|| Error::BadRequest("upload-offset is required on patch".to_owned()))?;
    let checksum = parse_checksum(&headers)?;
    // Claim the upload before reading its offset, so no other writer moves it.
    let guard = if is_upload_id(&id) {
        state.try_write(&id)?.ok_or(Error::Locked)?
    } else {
        return Err(Error::NotFound(
            "no such upload; create one with POST".to_owned(),
        ));
    };
    let upload = find(&state, &id, &lift)?;
    check_not_expired(&state, &upload)?;
    if claimed != upload.offset {
        return Err(Error::OffsetMismatch {
            expected: upload.offset,
            got: claimed,
        });
    }
    let room = upload.length - upload.offset.min(upload.length);
    if let Some(declared) = header_u64(&headers, "content-length")? {
        if declared > room {
            return Err(Error::TooLarge(format!(
                "chunk of {declared} bytes runs past upload-length; {room} bytes remain"
            )));
        }
    }

    let path = state.upload_path(&upload.id);
    let mut file = tokio::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(upload.offset == 0)
        .truncate(false)
        .open(&path)
        .await?;
    // Bytes past the acknowledged offset were never acknowledged: drop them.
    file.set_len(upload.offset).await?;
    let magic = if requires_zip(&lift) && upload.offset < ZIP_MAGIC.len() as u64 {
        let mut head = vec![0u8; usize::try_from(upload.offset).unwrap_or(0)];
        file.seek(SeekFrom::Start(0)).await?;
        file.read_exact(&mut head).await?;
        Some(head)
    } else {
        None
    };
    file.seek(SeekFrom::Start(upload.offset)).await?;

    let mut hasher = checksum.as_ref().map(|_| Sha1::new());
    let body = body
        .take()
        .ok_or_else(|| Error::Internal("the patch body was already read".to_owned()))?;
    let (end, written) = write_body(&mut file, body, room, magic, hasher.as_mut(), idle).await;
    let start = upload.offset;
    match end {
        End::Complete => {}
        End::Interrupted if checksum.is_none() => {}
        End::Interrupted => {
            discard_from(&mut file, start).await?;
            return Err(Error::BadRequest(
                "request body ended early; a chunk with a checksum is kept only whole".to_owned(),
            ));
        }
        End::TooLong => {
            discard_from(&mut file, start).await?;
            return Err(Error::TooLarge(format!(
                "chunk runs past upload-length; {room} bytes remain"
            )));
        }
        End::BadMagic => {
            discard_from(&mut file, start).await?;
            return Err(Error::UnsupportedMediaType(
                "upload does not start with the zip signature PK\\x03\\x04; only application/zip is accepted"
                    .to_owned(),
            ));
        }
        End::Io(e) => {
            // Best effort: the database offset stays at `start` either way.
            let _ = discard_from(&mut file, start).await;
            return Err(Error::Io(e));
        }
    }
    if let (Some(expected), Some(hasher)) = (checksum, hasher) {
        if hasher.finalize().as_slice() != expected.as_slice() {
            discard_from(&mut file, start).await?;
            return Err(Error::ChecksumMismatch);
        }
    }
    file.sync_all().await?;
    drop(file);

    let offset = start + written;
    let now = state.now();
    let expires_at = now.saturating_add(state.config().limits.upload_expiry_secs);
    state
        .s()
        .db
        .set_tus_offset(&upload.id, offset, expires_at)?;
    let interrupted = matches!(end, End::Interrupted);
    if interrupted {
        tracing::info!(upload = %upload.id, offset, "patch interrupted; received bytes kept");
        return Err(Error::BadRequest(format!(
            "request body ended early; {written} bytes were kept, send HEAD for the offset"
        )));
    }
    let mut done = upload.clone();
    if offset == upload.length && upload.completed_at.is_none() {
        // Verified and recorded in a task of its own, which holds the write
        // lock to the end: a client that gives up on this PATCH while a big
        // zip is read (its stall timeout may be shorter) must not leave the
        // upload unfinished. It learns the offset with HEAD.
        let finishing = state.clone();
        let id = upload.id.clone();
        let length = upload.length;
        let task = tokio::spawn(async move {
            let _guard = guard;
            let check = verify_stored_zip(&path).await?;
            finishing.s().db.complete_tus_upload(&id, &check, now)?;
            tracing::info!(
                upload = %id,
                size = length,
                entries = check.entry_count,
                verified = check.error.is_none(),
                "tus upload complete"
            );
            Ok::<(), Error>(())
        });
        task.await
            .map_err(|e| Error::Internal(format!("completing the upload did not finish: {e}")))??;
        done.completed_at = Some(now);
    } else {
        drop(guard);
    }
    let mut out = vec![tus_header("upload-offset", &offset.to_string())?];
    out.extend(expires_header(&done, expires_at)?);
    Ok(respond(StatusCode::NO_CONTENT, out))
}

/// Hashes and opens a stored zip off the async threads.
async fn verify_stored_zip(path: &FsPath) -> Result<ZipCheck, Error> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || verify_zip(&path))
        .await
        .map_err(|e| Error::Internal(format!("zip verification did not finish: {e}")))?
}

/// SHA-256 of the file, then every entry of the zip read to its end, which
/// makes the zip reader check each entry's CRC-32.
pub(crate) fn verify_zip(path: &FsPath) -> Result<ZipCheck, Error> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let checked = (|| -> Result<u64, String> {
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(path).map_err(|e| e.to_string())?)
                .map_err(|e| format!("not a readable zip: {e}"))?;
        for index in 0..archive.len() {
            let mut entry = archive
                .by_index(index)
                .map_err(|e| format!("entry {index} cannot be opened: {e}"))?;
            std::io::copy(&mut entry, &mut std::io::sink())
                .map_err(|e| format!("entry {index} is damaged: {e}"))?;
        }
        Ok(archive.len() as u64)
    })();
    Ok(match checked {
        Ok(entries) => ZipCheck {
            sha256,
            entry_count: Some(entries),
            error: None,
        },
        Err(error) => ZipCheck {
            sha256,
            entry_count: None,
            error: Some(error),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_decode_with_or_without_padding() {
        let parsed = parse_metadata("filename c3R1ZHkuemlw,study_uid MS4y,empty").unwrap();
        assert_eq!(parsed["filename"], "study.zip");
        assert_eq!(parsed["study_uid"], "1.2");
        assert_eq!(parsed["empty"], "");
        let padded = parse_metadata("k YQ==").unwrap();
        assert_eq!(padded["k"], "a");
        assert!(parse_metadata("k !!!").is_err());
        assert!(parse_metadata("k YQ,k YQ").is_err());
        assert_eq!(parse_metadata(&encode_metadata(&parsed)).unwrap(), parsed);
    }

    #[test]
    fn only_server_generated_ids_name_uploads() {
        assert!(is_upload_id(&uuid::Uuid::new_v4().simple().to_string()));
        for bad in [
            "..",
            "../aura.sqlite3",
            "ABCDEF0123456789abcdef0123456789",
            "x",
        ] {
            assert!(!is_upload_id(bad), "{bad}");
        }
    }
}
