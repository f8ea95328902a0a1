//! Resume after a reload through the fingerprint store, and several studies
//! uploading at once through the queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod tus_support;

use auraloader_core::tus::{
    fingerprint, FileStamp, FingerprintStore, MemoryFingerprintStore, Method, TusEvent, TusUpload,
    UploadQueue, UploadSpec, DEFAULT_CONCURRENCY,
};
use tus_support::{config, run_queue, Archive, Driver, End, TusServer, ENDPOINT, START, TOKEN};

const CHUNK: u64 = 8 * 1024;
const STEPS: usize = 5_000;

fn files() -> Vec<FileStamp> {
    (0..6)
        .map(|i| FileStamp {
            name: format!("IM{i:04}"),
            size: 20_000 + i * 13,
            last_modified: 1_690_000_000_000 + i,
        })
        .collect()
}

#[test]
fn a_reloaded_page_resumes_from_the_servers_offset_and_forgets_the_url_when_done() {
    let mut store = MemoryFingerprintStore::new();
    let archive = Archive::study(6, 20_000, 11);
    let key = fingerprint(ENDPOINT, "1.2.840.9", archive.len(), &files());
    let mut d = Driver::new(TusServer::new(), archive);

    // First page: three chunks go through, then the tab is closed.
    let mut first = TusUpload::new(
        config(CHUNK),
        UploadSpec::new(ENDPOINT, TOKEN, d.archive.len()),
    )
    .unwrap();
    let closed = d.run_until(&mut first, CHUNK, STEPS, |d| {
        d.server.seen(Method::Patch).len() == 3 && d.stalled.is_none()
    });
    assert_eq!(closed, None);
    for event in &d.events {
        store.record(&key, event);
    }
    let url = first.url().unwrap().to_owned();
    assert_eq!(store.get(&key), Some(url.clone()));
    drop(first);

    // Second page: the same files give the same key and the stored URL.
    let again = fingerprint(ENDPOINT, "1.2.840.9", d.archive.len(), &files());
    let resume = store.get(&again).expect("the URL survives the reload");
    let before = d.server.seen.len();
    d.events.clear();
    let mut second = TusUpload::new(
        config(CHUNK),
        UploadSpec::new(ENDPOINT, TOKEN, d.archive.len()).resuming(resume),
    )
    .unwrap();
    assert_eq!(
        d.run(&mut second, CHUNK, STEPS),
        End::Completed(url.clone())
    );
    d.assert_stored_identical(&url);
    let after = &d.server.seen[before..];
    assert_eq!(after[0].method, Method::Head);
    assert!(
        after.iter().all(|s| s.method != Method::Post),
        "no new upload"
    );
    assert_eq!(
        after[1].offset,
        Some(3 * CHUNK),
        "continues where it stopped"
    );
    let resent: u64 = after.iter().map(|s| s.body).sum();
    assert_eq!(resent, d.archive.len() - 3 * CHUNK);
    for event in &d.events {
        store.record(&key, event);
    }
    assert!(store.is_empty(), "the entry is removed on success");
}

#[test]
fn a_resumed_upload_the_server_already_finished_completes_without_sending() {
    let mut d = Driver::new(TusServer::new(), Archive::study(2, 5_000, 2));
    let mut first = d.upload(config(CHUNK));
    let End::Completed(url) = d.run(&mut first, CHUNK, STEPS) else {
        panic!("first upload completes")
    };
    let before = d.server.seen.len();
    d.events.clear();
    let mut again = TusUpload::new(
        config(CHUNK),
        UploadSpec::new(ENDPOINT, TOKEN, d.archive.len()).resuming(url.clone()),
    )
    .unwrap();
    assert_eq!(d.run(&mut again, CHUNK, STEPS), End::Completed(url));
    assert_eq!(
        d.server.methods()[before..],
        [Method::Head],
        "one HEAD and done"
    );
}

#[test]
fn a_stored_url_of_another_length_is_replaced_by_a_new_upload() {
    let mut d = Driver::new(TusServer::new(), Archive::study(3, 9_000, 5));
    let other = Archive::study(1, 100, 1);
    let mut first =
        TusUpload::new(config(CHUNK), UploadSpec::new(ENDPOINT, TOKEN, other.len())).unwrap();
    let closed = d.run_until(&mut first, CHUNK, STEPS, |d| !d.server.uploads.is_empty());
    assert_eq!(closed, None);
    let foreign = first.url().unwrap().to_owned();
    d.events.clear();
    let mut upload = TusUpload::new(
        config(CHUNK),
        UploadSpec::new(ENDPOINT, TOKEN, d.archive.len()).resuming(foreign.clone()),
    )
    .unwrap();
    let End::Completed(url) = d.run(&mut upload, CHUNK, STEPS) else {
        panic!("completes on a new upload")
    };
    assert_ne!(url, foreign);
    d.assert_stored_identical(&url);
}

#[test]
fn the_queue_uploads_two_studies_at_a_time_by_default() {
    let mut server = TusServer::new();
    let mut archives: Vec<Archive> = (0..5)
        .map(|i| Archive::study(2 + i, 6_000, 100 + i as u32))
        .collect();
    let mut queue = UploadQueue::default();
    for archive in &archives {
        let upload = TusUpload::new(
            config(CHUNK),
            UploadSpec::new(ENDPOINT, TOKEN, archive.len()),
        )
        .unwrap();
        queue.push(upload);
    }
    let mut clock = START;
    let mut events = Vec::new();
    let most = run_queue(
        &mut queue,
        &mut server,
        &mut archives,
        &mut clock,
        &mut events,
        STEPS,
    );
    assert_eq!(most, DEFAULT_CONCURRENCY);
    let completions: Vec<_> = events
        .iter()
        .filter_map(|(key, e)| match e {
            TusEvent::Completed { url } => Some((key.0, url.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(completions.len(), 5);
    for (i, url) in completions {
        let stored = server.upload(&url).unwrap();
        assert_eq!(stored.data, archives[i].bytes(), "study {i}");
    }
    let created: Vec<usize> = events
        .iter()
        .filter(|(_, e)| matches!(e, TusEvent::Created { .. }))
        .map(|(key, _)| key.0)
        .collect();
    assert_eq!(created, [0, 1, 2, 3, 4], "studies start in the order given");
    let progress = queue.progress();
    assert_eq!(progress.acknowledged, progress.total);
    assert_eq!(progress.eta_ms, Some(0));
}

#[test]
fn the_queue_runs_as_many_studies_at_once_as_configured() {
    for concurrency in [1, 3] {
        let mut server = TusServer::new();
        let mut archives: Vec<Archive> =
            (0..4).map(|i| Archive::study(3, 6_000, i as u32)).collect();
        let mut queue = UploadQueue::new(concurrency);
        for archive in &archives {
            queue.push(
                TusUpload::new(
                    config(CHUNK),
                    UploadSpec::new(ENDPOINT, TOKEN, archive.len()),
                )
                .unwrap(),
            );
        }
        let mut clock = START;
        let mut events = Vec::new();
        let most = run_queue(
            &mut queue,
            &mut server,
            &mut archives,
            &mut clock,
            &mut events,
            STEPS,
        );
        assert_eq!(most, concurrency);
        assert!(queue.is_finished());
    }
}

#[test]
fn cancelling_the_queue_deletes_started_uploads_and_drops_waiting_ones() {
    let mut server = TusServer::new();
    let mut archives: Vec<Archive> = (0..3).map(|i| Archive::study(3, 6_000, i)).collect();
    let mut queue = UploadQueue::new(2);
    for archive in &archives {
        queue.push(
            TusUpload::new(
                config(CHUNK),
                UploadSpec::new(ENDPOINT, TOKEN, archive.len()),
            )
            .unwrap(),
        );
    }
    // Two creations go out and are answered; then the user cancels.
    let mut clock = START;
    let mut posts = Vec::new();
    while let Some((key, action)) = queue.poll_action(clock) {
        let auraloader_core::tus::Action::Send(post) = action else {
            panic!("no abort yet")
        };
        assert_eq!(post.method, Method::Post);
        posts.push((key, post));
    }
    assert_eq!(posts.len(), 2, "two at a time");
    for (key, post) in posts {
        let tus_support::Outcome::Answer(response) = server.handle(clock, &post, &[]) else {
            panic!("an answer")
        };
        queue.handle_response(key, post.id, clock, &response);
    }
    queue.cancel_all(clock);
    let mut events = Vec::new();
    run_queue(
        &mut queue,
        &mut server,
        &mut archives,
        &mut clock,
        &mut events,
        STEPS,
    );
    let mut terminated: Vec<(usize, bool)> = events
        .iter()
        .filter_map(|(key, e)| match e {
            TusEvent::Terminated { deleted } => Some((key.0, *deleted)),
            _ => None,
        })
        .collect();
    terminated.sort();
    assert_eq!(terminated, [(0, true), (1, true), (2, false)]);
    assert_eq!(server.seen(Method::Delete).len(), 2);
    assert_eq!(
        server.seen(Method::Post).len(),
        2,
        "the waiting study never starts"
    );
    assert!(server.uploads.values().all(|u| u.terminated));
}
