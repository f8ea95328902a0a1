//! `GET /api/dev/uploads`: what the server has stored, for tests and
//! curious users. Bound to loopback by default; it shows study UIDs and
//! summary counts, not names or descriptions.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::db::TusUpload;
use crate::state::AppState;
use crate::timefmt::rfc3339;
use crate::Error;

/// One stored (or in-progress) tus upload as JSON.
fn upload_json(upload: &TusUpload, now: u64) -> Value {
    let state = if upload.deleted_at.is_some() {
        "terminated"
    } else if upload.completed_at.is_some() {
        "complete"
    } else if upload.expires_at < now {
        "expired"
    } else {
        "uploading"
    };
    json!({
        "id": upload.id,
        "project": upload.project,
        "upload_id": upload.upload_id,
        "study_uid": upload.study_uid,
        "state": state,
        "length": upload.length,
        "offset": upload.offset,
        "size": upload.completed_at.map(|_| upload.length),
        "sha256": upload.sha256,
        "entry_count": upload.entry_count,
        "verified": upload.completed_at.map(|_| upload.verify_error.is_none()),
        "verify_error": upload.verify_error,
        "created_at": rfc3339(upload.created_at),
        "completed_at": upload.completed_at.map(rfc3339),
        "expires_at": upload.completed_at.is_none().then(|| rfc3339(upload.expires_at)),
    })
}

/// A summary of a StudyInfo without patient-identifying fields.
fn study_summary(info: &Value) -> Value {
    json!({
        "modalities": info.get("modalities").cloned().unwrap_or(Value::Null),
        "images": info.get("images").cloned().unwrap_or(Value::Null),
        "series_count": info.get("series_count").cloned().unwrap_or(Value::Null),
    })
}

/// Every upload session with its studies (each with its stored zips) and
/// lifecycle events in order, and every tus upload.
pub(crate) async fn uploads(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let s = state.s();
    let now = state.now();
    let uploads = s.db.tus_uploads()?;
    let sessions = s.db.sessions()?;
    let sessions: Vec<Value> = sessions
        .iter()
        .map(|session| {
            let studies: Vec<Value> = session
                .studies
                .iter()
                .map(|study| {
                    let zips: Vec<Value> = uploads
                        .iter()
                        .filter(|u| {
                            u.upload_id.as_deref() == Some(session.upload_id.as_str())
                                && u.study_uid.as_deref() == Some(study.study_uid.as_str())
                        })
                        .map(|u| upload_json(u, now))
                        .collect();
                    let mut value = json!({
                        "id": study.id,
                        "study_uid": study.study_uid,
                        "uploads": zips,
                    });
                    if let (Some(obj), Value::Object(summary)) =
                        (value.as_object_mut(), study_summary(&study.info))
                    {
                        obj.extend(summary);
                    }
                    value
                })
                .collect();
            let events: Vec<Value> = session
                .events
                .iter()
                .map(|e| {
                    json!({
                        "seq": e.seq,
                        "kind": e.kind,
                        "assembly_id": e.assembly_id,
                        "message": e.message,
                        "at": rfc3339(e.at),
                    })
                })
                .collect();
            json!({
                "upload_id": session.upload_id,
                "app_id": session.app_id,
                "status": session.status,
                "mode": session.mode,
                "created_at": rfc3339(session.created_at),
                "updated_at": rfc3339(session.updated_at),
                "studies": studies,
                "events": events,
            })
        })
        .collect();
    Ok(Json(json!({
        "sessions": sessions,
        "uploads": uploads.iter().map(|u| upload_json(u, now)).collect::<Vec<_>>(),
    })))
}
