//! The tus client against an in-memory tus server on a virtual clock: the
//! happy path, every injected fault of `shared/spec/TUS.md`, and the errors
//! that stop an upload with a message a person can act on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tus_support;

use auraloader_core::tus::{
    Action, FailureKind, HttpRequest, HttpResponse, Method, RetryReason, StudyMetadata, TusConfig,
    TusError, TusEvent, UploadSpec,
};
use base64::Engine as _;
use tus_support::{
    config, latency, Archive, Driver, End, Fault, Stored, TusServer, ENDPOINT, START, TOKEN,
};

const CHUNK: u64 = 16 * 1024;
const STEPS: usize = 2_000;

fn archive() -> Archive {
    Archive::study(6, 20_000, 7)
}

/// A driver whose server applies `faults` to its requests, in order.
fn driver(faults: Vec<Option<Fault>>) -> Driver {
    Driver::new(TusServer::new().with_faults(faults), archive())
}

fn completed(end: End) -> String {
    match end {
        End::Completed(url) => url,
        other => panic!("expected completion, got {other:?}"),
    }
}

fn failed(end: End) -> TusError {
    match end {
        End::Failed(error) => error,
        other => panic!("expected failure, got {other:?}"),
    }
}

/// When the server received request `i` and when its answer came back.
fn sent_and_answered(d: &Driver, i: usize) -> (u64, u64) {
    let seen = &d.server.seen[i];
    (seen.at, seen.at + latency(seen.body))
}

#[test]
fn uploads_a_study_zip_in_chunks_byte_identical() {
    let mut d = driver(Vec::new());
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    let patches = d.server.seen(Method::Patch);
    let len = d.archive.len();
    assert_eq!(patches.len() as u64, len.div_ceil(CHUNK));
    for (i, patch) in patches.iter().enumerate() {
        assert_eq!(
            patch.offset,
            Some(i as u64 * CHUNK),
            "chunks are contiguous"
        );
        assert_eq!(patch.body, CHUNK.min(len - i as u64 * CHUNK));
    }
    assert_eq!(d.server.methods()[0], Method::Post);
    assert!(matches!(d.events.first(), Some(TusEvent::Created { url: u }) if *u == url));
    assert!(matches!(d.events.last(), Some(TusEvent::Completed { url: u }) if *u == url));
    assert!(d.retries().is_empty());
}

#[test]
fn every_request_carries_tus_resumable_and_the_bearer_lift_token() {
    let mut d = driver(vec![None, None, Some(Fault::Drop { keep_permille: 500 })]);
    d.cancel_after_patches = Some(4);
    let mut upload = d.upload(config(CHUNK));
    assert_eq!(
        d.run(&mut upload, CHUNK, STEPS),
        End::Terminated { deleted: true }
    );
    let methods = d.server.methods();
    for method in [Method::Post, Method::Head, Method::Patch, Method::Delete] {
        assert!(methods.contains(&method), "{method} in {methods:?}");
    }
    for seen in &d.server.seen {
        let header = |name: &str| {
            seen.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(header("Tus-Resumable"), Some("1.0.0"), "{}", seen.method);
        assert_eq!(
            header("Authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{}",
            seen.method
        );
        if seen.method == Method::Patch {
            assert_eq!(
                header("Content-Type"),
                Some("application/offset+octet-stream")
            );
        }
    }
}

#[test]
fn creation_sends_the_length_and_the_study_metadata() {
    let mut d = driver(Vec::new());
    let study = StudyMetadata {
        filename: "CT Thorax.zip".to_owned(),
        upload_id: "0b6e3a34-7d43-4bd5-9b0e-2f3f4a0a8a11".to_owned(),
        bucket: "aura-eu".to_owned(),
        mode: "bulk".to_owned(),
        study_uid: "1.2.840.9".to_owned(),
    };
    let spec = UploadSpec::for_study(ENDPOINT, TOKEN, d.archive.len(), &study);
    let mut upload = auraloader_core::tus::TusUpload::new(config(CHUNK), spec).unwrap();
    completed(d.run(&mut upload, CHUNK, STEPS));
    let post = &d.server.seen(Method::Post)[0];
    let header = |name: &str| {
        post.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(header("Upload-Length"), d.archive.len().to_string());
    let pairs: Vec<(String, String)> = header("Upload-Metadata")
        .split(',')
        .map(|pair| {
            let (key, value) = pair.split_once(' ').unwrap_or((pair, ""));
            let value = base64::engine::general_purpose::STANDARD
                .decode(value)
                .unwrap();
            (key.to_owned(), String::from_utf8(value).unwrap())
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("filename", "CT Thorax.zip"),
            ("filetype", "application/zip"),
            ("upload_id", "0b6e3a34-7d43-4bd5-9b0e-2f3f4a0a8a11"),
            ("bucket", "aura-eu"),
            ("mode", "bulk"),
            ("study_uid", "1.2.840.9"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
}

#[test]
fn a_relative_location_resolves_against_the_endpoint() {
    let mut server = TusServer::new();
    server.relative_location = true;
    let mut d = Driver::new(server, archive());
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    assert!(url.starts_with("https://tus.test/files/"), "{url}");
    d.assert_stored_identical(&url);
}

#[test]
fn resumes_after_a_dropped_patch_from_the_servers_offset() {
    let mut d = driver(vec![None, None, Some(Fault::Drop { keep_permille: 400 })]);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    let methods = d.server.methods();
    assert_eq!(
        methods[..5],
        [
            Method::Post,
            Method::Patch,
            Method::Patch,
            Method::Head,
            Method::Patch
        ],
        "after a failed PATCH the client asks for the offset before sending"
    );
    let kept = CHUNK * 400 / 1000;
    assert_eq!(d.server.seen[4].offset, Some(CHUNK + kept));
    let sent: u64 = d.server.seen.iter().map(|s| s.body).sum();
    assert_eq!(
        sent,
        d.archive.len() + CHUNK - kept,
        "only the lost part of the dropped chunk is sent again"
    );
    assert!(matches!(d.retries()[..], [(0, RetryReason::Network(_))]));
}

#[test]
fn retries_server_errors_after_0_1_3_and_5_seconds() {
    let e500 = Some(Fault::Status(500));
    let mut d = driver(vec![None, e500, e500, e500, e500]);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    let waits: Vec<u64> = d.retries().iter().map(|(ms, _)| *ms).collect();
    assert_eq!(waits, [0, 1_000, 3_000, 5_000]);
    for (i, wait) in (1..5).zip([0, 1_000, 3_000, 5_000]) {
        let (_, answered) = sent_and_answered(&d, i);
        assert_eq!(
            d.server.seen[i + 1].at - answered,
            wait,
            "request {}",
            i + 1
        );
    }
    assert_eq!(
        d.server.methods()[1..6],
        [
            Method::Patch,
            Method::Head,
            Method::Head,
            Method::Head,
            Method::Head
        ]
    );
}

#[test]
fn gives_up_with_a_definite_error_when_the_retries_are_spent() {
    let mut server = TusServer::new().with_faults([None]);
    server.fault_forever = Some(Fault::Status(500));
    let mut d = Driver::new(server, archive());
    let mut upload = d.upload(config(CHUNK));
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    assert_eq!(
        error,
        TusError::RetriesExhausted {
            attempts: 5,
            last: RetryReason::ServerError(500)
        }
    );
    assert_eq!(d.server.seen.len(), 1 + 5, "the creation and five attempts");
    let message = error.to_string();
    assert!(
        message.contains("5 times") && message.contains("HTTP 500"),
        "{message}"
    );
}

#[test]
fn the_retry_budget_starts_again_whenever_the_offset_advances() {
    // Eight drops in a row, each keeping half a chunk: twice the budget,
    // but every HEAD shows progress.
    let mut faults = vec![None];
    for _ in 0..8 {
        faults.push(Some(Fault::Drop { keep_permille: 500 }));
        faults.push(None);
    }
    let mut d = driver(faults);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert_eq!(d.retries().len(), 8);
    assert!(
        d.retries().iter().all(|(ms, _)| *ms == 0),
        "each drop is the first failure since progress"
    );
}

#[test]
fn drops_that_keep_nothing_use_up_the_budget() {
    let mut faults = vec![None];
    for _ in 0..8 {
        faults.push(Some(Fault::Drop { keep_permille: 0 }));
        faults.push(None);
    }
    let mut d = driver(faults);
    let mut upload = d.upload(config(CHUNK));
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    assert!(matches!(
        error,
        TusError::RetriesExhausted {
            attempts: 5,
            last: RetryReason::Network(_)
        }
    ));
}

#[test]
fn a_409_asks_for_the_offset_at_once_and_continues() {
    let mut d = driver(vec![None, None, Some(Fault::Status(409))]);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert_eq!(d.server.seen[3].method, Method::Head);
    assert_eq!(d.server.seen[3].at, sent_and_answered(&d, 2).1, "no wait");
    assert_eq!(d.server.seen[4].offset, Some(CHUNK));
    assert_eq!(d.retries(), [(0, RetryReason::Conflict)]);
}

#[test]
fn bytes_the_server_lost_are_sent_again_from_its_smaller_offset() {
    let lost = CHUNK + 100;
    let mut d = driver(vec![
        None,
        None,
        None,
        Some(Fault::Drop { keep_permille: 0 }),
        Some(Fault::LoseTail(lost)),
    ]);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert_eq!(d.server.seen[4].method, Method::Head);
    assert_eq!(
        d.server.seen[5].offset,
        Some(2 * CHUNK - lost),
        "sending resumes at the server's offset, behind what it had acknowledged"
    );
    let acknowledged: Vec<u64> = d
        .events
        .iter()
        .filter_map(|e| match e {
            TusEvent::Progress(p) => Some(p.acknowledged),
            _ => None,
        })
        .collect();
    assert!(
        acknowledged.windows(2).any(|w| w[1] < w[0]),
        "progress shows the loss instead of lying: {acknowledged:?}"
    );
}

#[test]
fn a_409_after_the_server_lost_bytes_leads_back_to_its_offset() {
    let mut d = driver(vec![None, None, Some(Fault::LoseTail(500))]);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert_eq!(d.retries(), [(0, RetryReason::Conflict)]);
    assert_eq!(d.server.seen[4].offset, Some(CHUNK - 500));
}

#[test]
fn a_423_waits_and_asks_again() {
    let locked = Some(Fault::Status(423));
    let mut d = driver(vec![None, locked, locked]);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert_eq!(
        d.retries(),
        [(0, RetryReason::Locked), (1_000, RetryReason::Locked)]
    );
    assert_eq!(d.server.seen[2].method, Method::Head);
    assert_eq!(d.server.seen[3].at - sent_and_answered(&d, 2).1, 1_000);
}

#[test]
fn a_429_waits_as_long_as_retry_after_says() {
    let mut d = driver(vec![Some(Fault::RateLimited {
        retry_after_secs: 7,
    })]);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert_eq!(d.retries(), [(7_000, RetryReason::RateLimited)]);
    assert_eq!(d.server.seen[1].method, Method::Post);
    assert_eq!(d.server.seen[1].at - sent_and_answered(&d, 0).1, 7_000);
}

#[test]
fn a_503_retry_after_date_is_honoured() {
    let mut d = driver(vec![
        None,
        Some(Fault::Unavailable {
            retry_after_secs: 4,
        }),
    ]);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    let waited = d.server.seen[2].at - sent_and_answered(&d, 1).1;
    assert!(
        (3_000..=4_000).contains(&waited),
        "an HTTP date has whole seconds: waited {waited} ms"
    );
}

#[test]
fn a_huge_retry_after_is_cut_to_the_configured_maximum() {
    let mut d = driver(vec![Some(Fault::RateLimited {
        retry_after_secs: 86_400,
    })]);
    let mut cfg = config(CHUNK);
    cfg.max_retry_after_ms = 2_500;
    let mut upload = d.upload(cfg);
    completed(d.run(&mut upload, CHUNK, STEPS));
    assert_eq!(d.retries(), [(2_500, RetryReason::RateLimited)]);
}

#[test]
fn a_stalled_patch_is_aborted_and_resumed_after_a_head() {
    let mut d = driver(vec![None, None, Some(Fault::Stall { keep_permille: 300 })]);
    let mut cfg = config(CHUNK);
    cfg.stall_timeout_ms = 5_000;
    let mut upload = d.upload(cfg);
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert_eq!(d.aborted.len(), 1, "the stalled request is aborted");
    assert_eq!(d.retries(), [(0, RetryReason::Stalled(5_000))]);
    let kept = CHUNK * 300 / 1000;
    let last_sign_of_life = d.server.seen[2].at + latency(kept);
    assert_eq!(d.server.seen[3].method, Method::Head);
    assert_eq!(d.server.seen[3].at, last_sign_of_life + 5_000);
    assert_eq!(d.server.seen[4].offset, Some(CHUNK + kept));
}

#[test]
fn a_stalled_creation_is_aborted_and_sent_again() {
    let mut d = driver(vec![Some(Fault::Stall { keep_permille: 0 })]);
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert_eq!(d.server.seen[1].method, Method::Post);
    assert_eq!(
        d.server.seen[1].at,
        START + 30_000,
        "the default stall timeout"
    );
}

#[test]
fn an_upload_that_expires_midway_is_created_again() {
    let mut server = TusServer::new().with_faults([None, None, None, Some(Fault::Expire)]);
    server.expiry_ms = Some(3_600_000);
    let mut d = Driver::new(server, archive());
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert_eq!(d.retries(), [(0, RetryReason::Gone(410))]);
    assert_eq!(d.server.seen(Method::Post).len(), 2);
    let created: Vec<&TusEvent> = d
        .events
        .iter()
        .filter(|e| matches!(e, TusEvent::Created { .. }))
        .collect();
    assert_eq!(created.len(), 2, "the new URL is announced for the store");
    assert!(matches!(created[1], TusEvent::Created { url: u } if *u == url));
}

#[test]
fn an_expired_upload_is_created_again_on_resume() {
    for gone_is_404 in [false, true] {
        let mut server = TusServer::new();
        server.gone_is_404 = gone_is_404;
        let old = "https://tus.test/files/old".to_owned();
        let mut d = Driver::new(server, archive());
        d.server.uploads.insert(
            old.clone(),
            Stored {
                length: d.archive.len(),
                data: d.archive.read(0..1_000),
                metadata: String::new(),
                expires_at: START - 1,
                terminated: false,
            },
        );
        let spec = UploadSpec::new(ENDPOINT, TOKEN, d.archive.len()).resuming(old.clone());
        let mut upload = auraloader_core::tus::TusUpload::new(config(CHUNK), spec).unwrap();
        let url = completed(d.run(&mut upload, CHUNK, STEPS));
        assert_ne!(url, old);
        d.assert_stored_identical(&url);
        let status = if gone_is_404 { 404 } else { 410 };
        assert_eq!(d.retries(), [(0, RetryReason::Gone(status))]);
        assert_eq!(
            d.server.methods()[..3],
            [Method::Head, Method::Post, Method::Patch]
        );
    }
}

#[test]
fn a_passed_upload_expires_makes_the_client_ask_before_sending() {
    let url = "https://tus.test/files/1";
    let mut upload = auraloader_core::tus::TusUpload::new(
        config(CHUNK),
        UploadSpec::new(ENDPOINT, TOKEN, 3 * CHUNK),
    )
    .unwrap();
    let Some(Action::Send(post)) = upload.poll_action(START) else {
        panic!("creation first")
    };
    upload.handle_response(
        post.id,
        START,
        &HttpResponse::new(201)
            .with_header("Location", url)
            .with_header("Upload-Expires", tus_support::http_date(START + 60_000)),
    );
    let Some(Action::Send(patch)) = upload.poll_action(START) else {
        panic!("then a PATCH")
    };
    // A slow chunk: its answer comes after the upload expired.
    let late = START + 61_000;
    upload.handle_progress(patch.id, START + 30_000, CHUNK / 2);
    upload.handle_response(
        patch.id,
        late,
        &HttpResponse::new(204).with_header("Upload-Offset", CHUNK.to_string()),
    );
    let Some(Action::Send(next)) = upload.poll_action(late) else {
        panic!("a request")
    };
    assert_eq!(next.method, Method::Head, "no bytes to an expired upload");
    upload.handle_response(next.id, late, &HttpResponse::new(410));
    let Some(Action::Send(again)) = upload.poll_action(late) else {
        panic!("a request")
    };
    assert_eq!(again.method, Method::Post);
    assert_eq!(upload.offset(), 0);
}

#[test]
fn a_client_clock_ahead_of_the_server_does_not_recreate_the_upload() {
    let mut server = TusServer::new();
    server.expiry_ms = Some(3_600_000);
    // The server's clock is two hours behind: every Upload-Expires it sends
    // is an hour in the client's past.
    server.clock_skew_ms = -7_200_000;
    let mut d = Driver::new(server, archive());
    let mut upload = d.upload(config(CHUNK));
    let url = completed(d.run(&mut upload, CHUNK, STEPS));
    d.assert_stored_identical(&url);
    assert!(
        d.server.methods()[1..].iter().all(|m| *m == Method::Patch),
        "no HEAD or re-creation: {:?}",
        d.server.methods()
    );
}

#[test]
fn re_creation_is_bounded() {
    let faults = (0..10).flat_map(|_| [None, Some(Fault::Status(404))]);
    let mut d = Driver::new(TusServer::new().with_faults(faults), archive());
    let mut upload = d.upload(config(CHUNK));
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    assert_eq!(error, TusError::TooManyRecreations { count: 4 });
    assert_eq!(
        d.server.seen(Method::Post).len(),
        4,
        "the first and three more"
    );
    assert!(error.to_string().contains("lost the upload 4 times"));
}

#[test]
fn a_patch_that_keeps_nothing_counts_as_a_failure() {
    let mut server = TusServer::new().with_faults([None]);
    server.fault_forever = Some(Fault::SwallowBody);
    let mut d = Driver::new(server, archive());
    let mut upload = d.upload(config(CHUNK));
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    assert_eq!(
        error,
        TusError::RetriesExhausted {
            attempts: 5,
            last: RetryReason::NoProgress
        }
    );
}

#[test]
fn unauthorized_stops_at_once_and_says_to_reload() {
    let mut d = driver(Vec::new());
    let spec = UploadSpec::new(ENDPOINT, "an-expired-lift-token", d.archive.len());
    let mut upload = auraloader_core::tus::TusUpload::new(config(CHUNK), spec).unwrap();
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    assert_eq!(error, TusError::Unauthorized);
    assert_eq!(d.server.seen.len(), 1, "a 401 is not retried");
    assert_eq!(
        error.to_string(),
        "the upload permission expired or is not valid (HTTP 401); \
         reload the page to get a new one"
    );
}

#[test]
fn client_errors_stop_at_once_with_their_own_message() {
    let len = archive().len();
    let cases = [
        (401, TusError::Unauthorized, "reload the page"),
        (403, TusError::Forbidden, "ask the site's administrator"),
        (
            413,
            TusError::TooLarge { length: len },
            "larger than the upload server accepts",
        ),
        (415, TusError::UnsupportedMediaType, "zip archives"),
        (412, TusError::UnsupportedVersion, "tus 1.0.0"),
        (
            400,
            TusError::Rejected { status: 400 },
            "rejected the upload",
        ),
        (422, TusError::Rejected { status: 422 }, "HTTP 422"),
    ];
    for (status, expected, words) in cases {
        let mut d = driver(vec![None, Some(Fault::Status(status))]);
        let mut upload = d.upload(config(CHUNK));
        let error = failed(d.run(&mut upload, CHUNK, STEPS));
        assert_eq!(error, expected, "HTTP {status}");
        assert_eq!(d.server.seen.len(), 2, "HTTP {status} is not retried");
        let message = error.to_string();
        assert!(message.contains(words), "{message}");
        assert!(message.contains(&status.to_string()), "{message}");
        assert!(message.starts_with(|c: char| c.is_lowercase()), "{message}");
    }
}

#[test]
fn a_study_too_large_for_the_server_says_so() {
    let mut server = TusServer::new();
    server.max_size = Some(1_000);
    let mut d = Driver::new(server, archive());
    let mut upload = d.upload(config(CHUNK));
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    assert_eq!(
        error,
        TusError::TooLarge {
            length: d.archive.len()
        }
    );
    assert!(
        error.to_string().starts_with("the study (")
            && error
                .to_string()
                .contains("larger than the upload server accepts")
    );
}

#[test]
fn a_404_to_the_creation_means_a_wrong_endpoint() {
    let mut d = driver(vec![Some(Fault::Status(404))]);
    let mut upload = d.upload(config(CHUNK));
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    assert_eq!(error, TusError::EndpointNotFound { status: 404 });
    assert!(error.to_string().contains("check the upload endpoint"));
}

#[test]
fn a_head_without_upload_offset_fails_and_names_the_cors_header() {
    let mut d = driver(vec![
        None,
        Some(Fault::Drop { keep_permille: 0 }),
        Some(Fault::HideOffset),
    ]);
    let mut upload = d.upload(config(CHUNK));
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    let TusError::Protocol(why) = &error else {
        panic!("{error:?}")
    };
    assert!(why.contains("Upload-Offset") && why.contains("Access-Control-Expose-Headers"));
    assert_eq!(
        d.server.methods().last(),
        Some(&Method::Head),
        "nothing sent after"
    );
}

#[test]
fn an_offset_past_the_length_fails_clearly() {
    let mut d = driver(vec![
        None,
        Some(Fault::Drop { keep_permille: 0 }),
        Some(Fault::InflateOffset(10_000_000)),
    ]);
    let mut upload = d.upload(config(CHUNK));
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    assert!(
        matches!(&error, TusError::Protocol(why) if why.contains("past the upload's length")),
        "{error:?}"
    );
}

#[test]
fn a_patch_answer_claiming_unsent_bytes_fails_clearly() {
    let mut d = driver(vec![None, Some(Fault::InflateOffset(1))]);
    let mut upload = d.upload(config(CHUNK));
    let error = failed(d.run(&mut upload, CHUNK, STEPS));
    assert!(
        matches!(&error, TusError::Protocol(why) if why.contains("after a PATCH that ended at")),
        "{error:?}"
    );
}

#[test]
fn a_creation_answer_without_location_fails_and_names_the_cors_header() {
    let mut upload =
        auraloader_core::tus::TusUpload::new(config(CHUNK), UploadSpec::new(ENDPOINT, TOKEN, 10))
            .unwrap();
    let Some(Action::Send(post)) = upload.poll_action(START) else {
        panic!("creation first")
    };
    upload.handle_response(post.id, START, &HttpResponse::new(201));
    assert!(upload.is_finished());
    let Some(TusEvent::Failed(TusError::Protocol(why))) = upload.poll_event() else {
        panic!("a protocol error")
    };
    assert!(why.contains("Location") && why.contains("Access-Control-Expose-Headers"));
}

#[test]
fn cancel_aborts_the_request_in_flight_and_deletes_the_upload() {
    let mut d = driver(vec![None, None, Some(Fault::Stall { keep_permille: 500 })]);
    d.cancel_after_patches = Some(2);
    let mut upload = d.upload(config(CHUNK));
    assert_eq!(
        d.run(&mut upload, CHUNK, STEPS),
        End::Terminated { deleted: true }
    );
    assert_eq!(d.aborted.len(), 1, "the stalled PATCH is aborted");
    assert_eq!(d.server.methods().last(), Some(&Method::Delete));
    let url = upload.url().unwrap().to_owned();
    assert!(d.server.upload(&url).unwrap().terminated);
    assert!(
        d.server.seen.last().unwrap().at < START + 30_000,
        "no wait for the stall"
    );
}

#[test]
fn cancel_before_creation_terminates_without_a_request() {
    let mut upload =
        auraloader_core::tus::TusUpload::new(config(CHUNK), UploadSpec::new(ENDPOINT, TOKEN, 10))
            .unwrap();
    upload.cancel(START);
    assert_eq!(upload.poll_action(START), None);
    assert_eq!(
        upload.poll_event(),
        Some(TusEvent::Terminated { deleted: false })
    );
    assert!(upload.is_finished());
    upload.cancel(START);
    assert_eq!(upload.poll_event(), None, "a second cancel does nothing");
}

#[test]
fn progress_reports_keep_a_slow_patch_alive_and_silence_stalls_it() {
    let mut upload = auraloader_core::tus::TusUpload::new(
        config(CHUNK),
        UploadSpec::new(ENDPOINT, TOKEN, 10 * CHUNK),
    )
    .unwrap();
    let Some(Action::Send(post)) = upload.poll_action(START) else {
        panic!("creation first")
    };
    upload.handle_response(
        post.id,
        START,
        &HttpResponse::new(201).with_header("Location", "https://tus.test/files/1"),
    );
    let Some(Action::Send(patch)) = upload.poll_action(START) else {
        panic!("then a PATCH")
    };
    for i in 1..=10u64 {
        let now = START + i * 20_000;
        upload.handle_progress(patch.id, now, i * 1_000);
        upload.handle_timeout(now);
        assert_eq!(upload.poll_action(now), None, "alive at {i}");
    }
    let quiet_since = START + 200_000;
    assert_eq!(upload.poll_timeout(), Some(quiet_since + 30_000));
    upload.handle_progress(patch.id, quiet_since + 20_000, 10_000);
    upload.handle_timeout(quiet_since + 30_000);
    assert_eq!(
        upload.poll_action(quiet_since + 30_000),
        Some(Action::Abort(patch.id)),
        "a repeated count is no sign of life"
    );
    let Some(Action::Send(head)) = upload.poll_action(quiet_since + 30_000) else {
        panic!("a HEAD follows")
    };
    assert_eq!(head.method, Method::Head);
    // The aborted PATCH's late answer changes nothing.
    upload.handle_response(
        patch.id,
        quiet_since + 31_000,
        &HttpResponse::new(204).with_header("Upload-Offset", CHUNK.to_string()),
    );
    assert_eq!(upload.offset(), 0);
    assert!(upload.has_request_in_flight());
}

#[test]
fn an_unreadable_file_stops_the_upload_with_a_message_to_add_it_again() {
    let mut upload =
        auraloader_core::tus::TusUpload::new(config(CHUNK), UploadSpec::new(ENDPOINT, TOKEN, 10))
            .unwrap();
    let Some(Action::Send(post)) = upload.poll_action(START) else {
        panic!("creation first")
    };
    upload.handle_response(
        post.id,
        START,
        &HttpResponse::new(201).with_header("Location", "https://tus.test/files/1"),
    );
    let Some(Action::Send(patch)) = upload.poll_action(START) else {
        panic!("then a PATCH")
    };
    upload.handle_failure(
        patch.id,
        START,
        auraloader_core::tus::FailureKind::Source("NotReadableError".to_owned()),
    );
    let events: Vec<TusEvent> = std::iter::from_fn(|| upload.poll_event()).collect();
    let Some(TusEvent::Failed(error)) = events.last() else {
        panic!("{events:?}")
    };
    assert!(error.to_string().contains("add them again"), "{error}");
    assert_eq!(upload.poll_action(START), None);
}

#[test]
fn a_misconfigured_upload_is_refused_before_any_request() {
    let bad = [
        (config(0), UploadSpec::new(ENDPOINT, TOKEN, 1)),
        (config(CHUNK), UploadSpec::new("ftp://tus.test/", TOKEN, 1)),
        (config(CHUNK), UploadSpec::new(ENDPOINT, "", 1)),
        (
            config(CHUNK),
            UploadSpec::new(ENDPOINT, "a\r\nX-Evil: 1", 1),
        ),
        (
            config(CHUNK),
            UploadSpec::new(ENDPOINT, TOKEN, 1).with_metadata("two words", "v"),
        ),
        (
            auraloader_core::tus::TusConfig {
                stall_timeout_ms: 0,
                ..config(CHUNK)
            },
            UploadSpec::new(ENDPOINT, TOKEN, 1),
        ),
    ];
    for (cfg, spec) in bad {
        let result = auraloader_core::tus::TusUpload::new(cfg, spec.clone());
        assert!(
            matches!(result, Err(TusError::InvalidUpload(_))),
            "{spec:?}"
        );
    }
}

#[test]
fn progress_tells_acknowledged_and_in_flight_bytes_a_speed_and_an_eta() {
    const BIG_CHUNK: u64 = 64 * 1024;
    let mut d = Driver::new(TusServer::new(), Archive::study(12, 100_000, 3));
    let mut upload = d.upload(config(BIG_CHUNK));
    let url = completed(d.run(&mut upload, BIG_CHUNK, STEPS));
    d.assert_stored_identical(&url);
    let len = d.archive.len();
    let progress: Vec<_> = d
        .events
        .iter()
        .filter_map(|e| match e {
            TusEvent::Progress(p) => Some(*p),
            _ => None,
        })
        .collect();
    assert!(progress.iter().all(|p| p.total == len));
    assert!(progress.iter().all(|p| p.in_flight <= BIG_CHUNK));
    assert!(
        progress.iter().any(|p| p.in_flight > 0),
        "bytes in flight are shown"
    );
    assert!(progress
        .windows(2)
        .all(|w| w[1].acknowledged >= w[0].acknowledged));
    let last = progress.last().unwrap();
    assert_eq!(
        (last.acknowledged, last.in_flight, last.eta_ms),
        (len, 0, Some(0))
    );
    // The link moves 1 MB/s plus 5 ms per request.
    let speed = last
        .bytes_per_second
        .expect("a speed after a second of upload");
    let expected = BIG_CHUNK as f64 * 1_000.0 / latency(BIG_CHUNK) as f64;
    assert!(
        (speed - expected).abs() < expected * 0.1,
        "{speed} vs {expected}"
    );
    let midway = progress
        .iter()
        .find(|p| p.acknowledged > len / 2 && p.eta_ms.is_some())
        .unwrap();
    let remaining = (len - midway.acknowledged - midway.in_flight) as f64;
    let eta = midway.eta_ms.unwrap() as f64;
    let ideal = remaining * 1_000.0 / expected;
    assert!(
        (eta - ideal).abs() < ideal * 0.2 + 100.0,
        "eta {eta} vs {ideal}"
    );
}

#[test]
fn the_speed_counts_from_the_first_request_not_from_construction() {
    let mut upload = auraloader_core::tus::TusUpload::new(
        config(CHUNK),
        UploadSpec::new(ENDPOINT, TOKEN, 100 * CHUNK),
    )
    .unwrap();
    // Ten minutes waiting in a queue, then 100 ms per chunk.
    let mut now = START + 600_000;
    let Some(Action::Send(post)) = upload.poll_action(now) else {
        panic!("creation first")
    };
    upload.handle_response(
        post.id,
        now,
        &HttpResponse::new(201).with_header("Location", "https://tus.test/files/1"),
    );
    for i in 1..=20 {
        let Some(Action::Send(patch)) = upload.poll_action(now) else {
            panic!("a PATCH")
        };
        now += 100;
        upload.handle_progress(patch.id, now, CHUNK);
        upload.handle_response(
            patch.id,
            now,
            &HttpResponse::new(204).with_header("Upload-Offset", (i * CHUNK).to_string()),
        );
    }
    let speed = upload.progress().bytes_per_second.unwrap();
    let expected = CHUNK as f64 * 10.0;
    assert!(
        (speed - expected).abs() < expected * 0.01,
        "{speed} vs {expected}"
    );
    let eta = upload.progress().eta_ms.unwrap();
    assert!((7_900..=8_100).contains(&eta), "80 chunks left: {eta} ms");
}

/// Creates an upload of 10 chunks and leaves its first PATCH in flight.
fn upload_with_a_patch_in_flight() -> (auraloader_core::tus::TusUpload, HttpRequest) {
    let mut upload = auraloader_core::tus::TusUpload::new(
        config(CHUNK),
        UploadSpec::new(ENDPOINT, TOKEN, 10 * CHUNK),
    )
    .unwrap();
    let Some(Action::Send(post)) = upload.poll_action(START) else {
        panic!("creation first")
    };
    upload.handle_response(
        post.id,
        START,
        &HttpResponse::new(201).with_header("Location", "https://tus.test/files/1"),
    );
    let Some(Action::Send(patch)) = upload.poll_action(START) else {
        panic!("then a PATCH")
    };
    (upload, patch)
}

/// The next request at `now`, after the aborts.
fn next_request(upload: &mut auraloader_core::tus::TusUpload, now: u64) -> Option<HttpRequest> {
    loop {
        match upload.poll_action(now)? {
            Action::Abort(_) => continue,
            Action::Send(request) => return Some(request),
        }
    }
}

#[test]
fn a_delete_refused_as_locked_is_sent_again_until_the_server_lets_go() {
    // The server still holds the PATCH the cancel aborted: 423, twice.
    let (mut upload, patch) = upload_with_a_patch_in_flight();
    upload.cancel(START);
    assert_eq!(upload.poll_action(START), Some(Action::Abort(patch.id)));
    let mut now = START;
    for answer in [423, 423] {
        let delete = next_request(&mut upload, now).expect("a DELETE");
        assert_eq!(delete.method, Method::Delete);
        upload.handle_response(delete.id, now, &HttpResponse::new(answer));
        assert!(!upload.is_finished(), "a 423 is not the end");
        now = upload.poll_timeout().unwrap_or(now);
    }
    let delete = next_request(&mut upload, now).expect("a third DELETE");
    assert_eq!(delete.method, Method::Delete);
    assert!(now > START, "the retries wait out the retry delays");
    upload.handle_response(delete.id, now, &HttpResponse::new(204));
    assert!(upload.is_finished());
    let events: Vec<TusEvent> = std::iter::from_fn(|| upload.poll_event()).collect();
    assert_eq!(events.last(), Some(&TusEvent::Terminated { deleted: true }));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, TusEvent::Retrying { .. } | TusEvent::Failed(_))),
        "a cancelled upload announces no retry and no failure: {events:?}"
    );
}

#[test]
fn a_delete_that_keeps_failing_ends_undeleted_after_the_retry_delays() {
    let (mut upload, _) = upload_with_a_patch_in_flight();
    upload.cancel(START);
    let mut now = START;
    let mut deletes = 0;
    while let Some(delete) = next_request(&mut upload, now) {
        assert_eq!(delete.method, Method::Delete);
        deletes += 1;
        assert!(deletes <= 10, "the DELETE is retried within a bound");
        if deletes % 2 == 0 {
            upload.handle_response(delete.id, now, &HttpResponse::new(503));
        } else {
            upload.handle_failure(delete.id, now, FailureKind::Network("reset".into()));
        }
        now = upload.poll_timeout().unwrap_or(now);
    }
    assert_eq!(deletes, 1 + TusConfig::DEFAULT_RETRY_DELAYS_MS.len());
    assert!(upload.is_finished());
    let events: Vec<TusEvent> = std::iter::from_fn(|| upload.poll_event()).collect();
    assert_eq!(
        events.last(),
        Some(&TusEvent::Terminated { deleted: false })
    );
}

#[test]
fn a_delete_refused_for_good_is_not_sent_again() {
    let (mut upload, _) = upload_with_a_patch_in_flight();
    upload.cancel(START);
    let delete = next_request(&mut upload, START).expect("a DELETE");
    upload.handle_response(delete.id, START, &HttpResponse::new(403));
    assert!(upload.is_finished());
    assert_eq!(next_request(&mut upload, START + 60_000), None);
    let events: Vec<TusEvent> = std::iter::from_fn(|| upload.poll_event()).collect();
    assert_eq!(
        events.last(),
        Some(&TusEvent::Terminated { deleted: false })
    );
}
