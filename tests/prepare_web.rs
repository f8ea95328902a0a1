//! Study zips prepared in a real browser (headless Chromium): in Web Workers
//! and on the main thread, read back with the `zip` crate. The files are the
//! core's synthetic DICOM (`synth`), held in memory as `File`s.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::rc::Rc;

use auraloader::browser::prepare::{
    prepare_study, CancelToken, PrepareFile, PrepareProgress, PrepareQueue, PreparedStudy,
    QueueReport, PACK_FILES, PUSH_BYTES, READ_BYTES,
};
use auraloader::browser::scan::{scan_dropped_files, scan_with, DroppedFile};
use auraloader::browser::worker::{Engine, WORKER_SCRIPT};
use auraloader_core::scan::ScanRules;
use auraloader_core::synth::{StudyTree, SynthError, SynthFile, SynthSyntax};
use auraloader_core::zip::{entry_name, Compression, Method};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn file(bytes: &[u8], name: &str) -> web_sys::File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    web_sys::File::new_with_u8_array_sequence(&parts, name).unwrap()
}

async fn blob_bytes(blob: &web_sys::Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer()).await.unwrap();
    Uint8Array::new(&buffer).to_vec()
}

/// One study of CT-like files (deflated under `Auto`), one JPEG file
/// (stored), a file bigger than one read, and an empty file: names, bytes and
/// methods.
fn mixed_study() -> Vec<(String, Vec<u8>, Method)> {
    let mut files = Vec::new();
    let tree = StudyTree {
        studies: 1,
        series: 2,
        instances: 3,
        pixel_bytes: 40 * 1024,
        ..StudyTree::default()
    };
    tree.for_each_file(|_, bytes| {
        files.push(bytes.to_vec());
        Ok::<(), SynthError>(())
    })
    .unwrap();
    let mut out: Vec<(String, Vec<u8>, Method)> = files
        .into_iter()
        .enumerate()
        .map(|(i, bytes)| (format!("1.2/1.2.3/{i}.dcm"), bytes, Method::Deflated))
        .collect();
    let jpeg = SynthFile::new("1.2", "1.2.4", "1.2.4.1")
        .syntax(SynthSyntax::JpegBaseline)
        .pixel_bytes(100 * 1024)
        .to_bytes()
        .unwrap();
    let method = Compression::Auto.method_for(SynthSyntax::JpegBaseline.uid());
    assert_eq!(method, Method::Stored);
    out.push(("1.2/1.2.4/1.2.4.1.dcm".to_owned(), jpeg, method));
    // Bigger than one read and not a multiple of a push.
    let big = SynthFile::new("1.2", "1.2.5", "1.2.5.1")
        .pixel_bytes(READ_BYTES as usize + PUSH_BYTES + 12_345)
        .to_bytes()
        .unwrap();
    out.push((
        "1.2/1.2.5/1.2.5.1.dcm".to_owned(),
        big.clone(),
        Method::Deflated,
    ));
    out.push(("1.2/1.2.5/1.2.5.2.dcm".to_owned(), big, Method::Stored));
    out.push((
        "1.2/1.2.6/empty.dcm".to_owned(),
        Vec::new(),
        Method::Deflated,
    ));
    out
}

fn prepare_files(study: &[(String, Vec<u8>, Method)]) -> Vec<PrepareFile> {
    study
        .iter()
        .map(|(name, bytes, method)| PrepareFile {
            blob: file(bytes, "x").into(),
            name: name.clone(),
            method: *method,
        })
        .collect()
}

async fn prepare(
    files: Vec<PrepareFile>,
    engine: &Engine,
) -> (PreparedStudy, Vec<PrepareProgress>) {
    let mut progress = Vec::new();
    let prepared = prepare_study(
        files,
        engine,
        &mut |p| progress.push(p),
        &CancelToken::new(),
    )
    .await
    .unwrap();
    (prepared, progress)
}

/// Reads `archive` with the zip crate and checks every entry against `study`.
fn check_archive(archive: &[u8], study: &[(String, Vec<u8>, Method)]) {
    let mut zip = zip::ZipArchive::new(Cursor::new(archive)).unwrap();
    assert_eq!(zip.len(), study.len());
    for (i, (name, bytes, method)) in study.iter().enumerate() {
        let mut entry = zip.by_index(i).unwrap();
        assert_eq!(entry.name(), name);
        let expected = match method {
            Method::Stored => zip::CompressionMethod::Stored,
            Method::Deflated => zip::CompressionMethod::Deflated,
        };
        assert_eq!(entry.compression(), expected, "{name}");
        let mut out = Vec::new();
        entry.read_to_end(&mut out).unwrap();
        assert!(out == *bytes, "{name}: the bytes read back differ");
    }
}

#[wasm_bindgen_test]
async fn a_study_prepared_in_workers_reads_back_byte_identical() {
    let engine = Engine::shared().await;
    assert!(engine.pool().is_some(), "workers did not start in Chromium");
    let study = mixed_study();
    let (prepared, progress) = prepare(prepare_files(&study), &engine).await;
    let archive = blob_bytes(&prepared.blob(0, prepared.len()).unwrap()).await;
    assert_eq!(archive.len() as u64, prepared.len(), "predicted length");
    check_archive(&archive, &study);
    assert!(prepared.stats().workers > 0);
    assert!(prepared.stats().worker_peak_memory > 0.0);
    let total: u64 = study.iter().map(|(_, b, _)| b.len() as u64).sum();
    let last = progress.last().unwrap();
    assert_eq!((last.bytes, last.total), (total, total));
    assert!(progress.windows(2).all(|w| w[0].bytes <= w[1].bytes));
}

#[wasm_bindgen_test]
async fn workers_and_the_main_thread_give_the_same_bytes_every_time() {
    let study = mixed_study();
    let workers = Engine::shared().await;
    let (a, _) = prepare(prepare_files(&study), &workers).await;
    let (b, _) = prepare(prepare_files(&study), &workers).await;
    let (c, progress) = prepare(prepare_files(&study), &Engine::MainThread).await;
    assert_eq!(c.stats().workers, 0);
    let a = blob_bytes(&a.blob(0, a.len()).unwrap()).await;
    let b = blob_bytes(&b.blob(0, b.len()).unwrap()).await;
    let c_bytes = blob_bytes(&c.blob(0, c.len()).unwrap()).await;
    assert!(a == b, "two preparations in workers differ");
    assert!(a == c_bytes, "workers and main thread differ");
    check_archive(&c_bytes, &study);
    assert_eq!(
        progress.last().unwrap().bytes,
        progress.last().unwrap().total
    );
}

/// Files whose sizes put their boundaries anywhere in a worker's reads (it
/// reads a group as one `Blob` in reads of [`READ_BYTES`]) and in the
/// compressor's pushes: empty, one byte, around one push, around one read,
/// several reads, all in one group, then a stored file and more after it.
fn files_cut_by_reads() -> Vec<(String, Vec<u8>, Method)> {
    let push = PUSH_BYTES;
    let read = READ_BYTES as usize;
    let sizes = [
        0,
        1,
        push - 1,
        push,
        push + 1,
        read - 3,
        5,
        read + push + 7,
        0,
        2 * read + 1,
        100,
        read,
    ];
    let mut out: Vec<(String, Vec<u8>, Method)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &len)| {
            // Compressible, and different in every file.
            let bytes: Vec<u8> = (0..len)
                .map(|j| ((j / (3 + i)) as u8).wrapping_mul(7) ^ (j % 13) as u8)
                .collect();
            (format!("1.2/1.2.8/{i}.dcm"), bytes, Method::Deflated)
        })
        .collect();
    out.insert(
        6,
        (
            "1.2/1.2.8/stored.dcm".to_owned(),
            vec![9; 3000],
            Method::Stored,
        ),
    );
    out
}

#[wasm_bindgen_test]
async fn entries_cut_anywhere_by_the_reads_give_the_main_threads_bytes() {
    let study = files_cut_by_reads();
    let (workers, progress) = prepare(prepare_files(&study), &Engine::shared().await).await;
    let (main, _) = prepare(prepare_files(&study), &Engine::MainThread).await;
    let a = blob_bytes(&workers.blob(0, workers.len()).unwrap()).await;
    let b = blob_bytes(&main.blob(0, main.len()).unwrap()).await;
    assert_eq!(a.len() as u64, workers.len(), "predicted length");
    assert!(a == b, "workers and main thread differ");
    check_archive(&a, &study);
    let total: u64 = study.iter().map(|(_, b, _)| b.len() as u64).sum();
    assert_eq!(progress.last().map(|p| p.bytes), Some(total));
    assert!(progress.windows(2).all(|w| w[0].bytes <= w[1].bytes));
}

/// More small files than one pack holds, some stored between them.
fn many_small_files() -> Vec<(String, Vec<u8>, Method)> {
    (0..PACK_FILES + 44)
        .map(|i| {
            let bytes: Vec<u8> = (0..1000 + i * 7)
                .map(|j| ((i * 31 + j / 3) % 251) as u8)
                .collect();
            let method = if i % 97 == 5 {
                Method::Stored
            } else {
                Method::Deflated
            };
            (format!("1.2/1.2.9/{i}.dcm"), bytes, method)
        })
        .collect()
}

#[wasm_bindgen_test]
async fn any_range_is_the_same_bytes_as_the_whole_archive() {
    for study in [mixed_study(), many_small_files()] {
        for engine in [Engine::shared().await, Engine::MainThread] {
            let (prepared, _) = prepare(prepare_files(&study), &engine).await;
            let len = prepared.len();
            let whole = blob_bytes(&prepared.blob(0, len).unwrap()).await;
            assert_eq!(whole.len() as u64, len);
            check_archive(&whole, &study);
            let zip = prepared.zip();
            let mut marks = vec![0, zip.central_directory_offset(), len];
            for i in 0..study.len() {
                marks.push(zip.header_offset(i).unwrap());
                marks.push(zip.data_offset(i).unwrap());
            }
            let mut ranges = Vec::new();
            for (k, &mark) in marks.iter().enumerate() {
                let start = mark.saturating_sub(1 + k as u64 % 3);
                ranges.push((start, (mark + 2).min(len)));
                ranges.push((
                    mark.min(len),
                    (mark + 1 + (k as u64 * 7919) % 70_000).min(len),
                ));
            }
            ranges.extend([(len / 3, 2 * len / 3), (len - 1, len), (len, len), (0, len)]);
            for (start, end) in ranges {
                let part = blob_bytes(&prepared.blob(start, end).unwrap()).await;
                assert!(
                    part == whole[start as usize..end as usize],
                    "bytes {start}..{end} of {len} differ"
                );
            }
            assert!(prepared.blob(0, len + 1).is_err());
            assert!(prepared.blob(5, 4).is_err());
        }
    }
}

#[wasm_bindgen_test]
async fn stored_entries_are_read_from_the_original_files() {
    let study = mixed_study();
    let files = prepare_files(&study);
    let originals: Vec<web_sys::Blob> = files.iter().map(|f| f.blob.clone()).collect();
    for engine in [Engine::shared().await, Engine::MainThread] {
        let (prepared, _) = prepare(prepare_files(&study), &engine).await;
        let (prepared_again, _) = prepare(files.clone(), &engine).await;
        for (i, (name, bytes, method)) in study.iter().enumerate() {
            let entry = prepared.zip().entries().nth(i).unwrap();
            assert_eq!(entry.uncompressed_size, bytes.len() as u64);
            match method {
                Method::Stored => {
                    let source = prepared_again.stored_source(i).unwrap();
                    assert!(
                        js_sys::Object::is(source, &originals[i]),
                        "{name}: stored data is not the original file"
                    );
                }
                Method::Deflated => assert!(prepared.stored_source(i).is_none(), "{name}"),
            }
        }
    }
}

#[wasm_bindgen_test]
async fn falls_back_to_the_main_thread_when_workers_cannot_start() {
    let broken = Engine::start(2, "throw new Error('blocked by the test');").await;
    assert!(
        broken.pool().is_none(),
        "a broken worker script gave a pool"
    );
    let study = mixed_study();
    let (fallback, _) = prepare(prepare_files(&study), &broken).await;
    let (workers, _) = prepare(
        prepare_files(&study),
        &Engine::start(2, WORKER_SCRIPT).await,
    )
    .await;
    assert_eq!(workers.stats().workers, 2);
    let a = blob_bytes(&fallback.blob(0, fallback.len()).unwrap()).await;
    let b = blob_bytes(&workers.blob(0, workers.len()).unwrap()).await;
    assert!(a == b);
    check_archive(&a, &study);
}

#[wasm_bindgen_test]
async fn workers_replaced_mid_preparation_give_the_same_archive_and_end() {
    // Every group a worker is sent makes a fresh worker take its place, so
    // requests go to workers that are still loading while the replaced
    // ones finish theirs; the Blobs made in workers that were terminated
    // since must still read back.
    let study = mixed_study();
    let (reference, _) = prepare(prepare_files(&study), &Engine::MainThread).await;
    let engine = Engine::start_recycling(2, WORKER_SCRIPT, 1).await;
    let pool = engine.pool().expect("the workers start").clone();
    for round in 0..2 {
        let (prepared, _) = prepare(prepare_files(&study), &engine).await;
        let archive = blob_bytes(&prepared.blob(0, prepared.len()).unwrap()).await;
        let expected = blob_bytes(&reference.blob(0, reference.len()).unwrap()).await;
        assert!(archive == expected, "round {round}: the archive differs");
        check_archive(&archive, &study);
    }
    assert!(pool.recycled() >= 2, "recycled {}", pool.recycled());
    assert_eq!(pool.failed_starts(), 0);
    assert_eq!(pool.size(), 2);
    assert_eq!(pool.in_flight(), 0);
    assert_eq!(pool.retiring(), 0, "a replaced worker was not terminated");
    assert!(!pool.is_broken());
    // A pool that never reaches its limit replaces none.
    let engine = Engine::start_recycling(2, WORKER_SCRIPT, u64::MAX).await;
    let (prepared, _) = prepare(prepare_files(&study), &engine).await;
    check_archive(
        &blob_bytes(&prepared.blob(0, prepared.len()).unwrap()).await,
        &study,
    );
    assert_eq!(engine.pool().unwrap().recycled(), 0);
}

#[wasm_bindgen_test]
async fn a_fresh_worker_that_cannot_start_leaves_the_old_one_working() {
    // Workers made after `deadline` fail their init: the pool's first two
    // start, every replacement fails, and the preparation goes on in the
    // workers it has.
    let deadline = js_sys::Date::now() + 2_000.0;
    let script = format!(
        "{WORKER_SCRIPT}\nconst lateBorn = Date.now() > {deadline};\nconst realInit = init;\n\
         init = async (m) => {{ if (lateBorn) throw new Error('fresh worker refused by the test'); \
         return realInit(m); }};"
    );
    let engine = Engine::start_recycling(2, &script, 1).await;
    let pool = engine.pool().expect("the first workers start").clone();
    assert!(
        js_sys::Date::now() < deadline,
        "the pool took too long to start"
    );
    let wait = js_sys::Promise::new(&mut |resolve, _| {
        let ms = (deadline - js_sys::Date::now()).max(0.0) + 100.0;
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32)
            .unwrap();
    });
    JsFuture::from(wait).await.unwrap();
    let study = mixed_study();
    for _ in 0..2 {
        let (prepared, _) = prepare(prepare_files(&study), &engine).await;
        check_archive(
            &blob_bytes(&prepared.blob(0, prepared.len()).unwrap()).await,
            &study,
        );
    }
    assert!(pool.failed_starts() >= 1, "no fresh worker was tried");
    assert_eq!(
        pool.recycled(),
        0,
        "a worker that failed to start took a slot"
    );
    assert!(!pool.is_broken());
    assert_eq!(pool.size(), 2);
}

#[wasm_bindgen_test]
async fn a_cancelled_preparation_stops_with_an_abort_error() {
    let study = mixed_study();
    for engine in [Engine::shared().await, Engine::MainThread] {
        let cancel = CancelToken::new();
        let canceller = cancel.clone();
        let mut reports = 0;
        let result = prepare_study(
            prepare_files(&study),
            &engine,
            &mut |p: PrepareProgress| {
                reports += 1;
                if p.bytes > 0 {
                    canceller.cancel();
                }
            },
            &cancel,
        )
        .await;
        let error = result.unwrap_err();
        let name = js_sys::Reflect::get(&error, &"name".into()).unwrap();
        assert_eq!(name.as_string().as_deref(), Some("AbortError"));
        assert!(reports >= 2);
    }
}

#[wasm_bindgen_test]
async fn the_queue_prepares_the_next_study_while_one_is_taken() {
    let studies: Vec<Vec<(String, Vec<u8>, Method)>> = (0..3).map(|_| mixed_study()).collect();
    let seen: Rc<RefCell<Vec<usize>>> = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let queue = PrepareQueue::new(
        studies.iter().map(|s| prepare_files(s)).collect(),
        Engine::shared().await,
        move |k, _: QueueReport| sink.borrow_mut().push(k),
    );
    for (k, study) in studies.iter().enumerate() {
        let prepared = queue.next().await.unwrap().unwrap();
        // While study k is "uploading", study k+1 already prepares.
        let sleep = js_sys::Promise::new(&mut |resolve, _| {
            web_sys::window()
                .unwrap()
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 20)
                .unwrap();
        });
        JsFuture::from(sleep).await.unwrap();
        if k + 1 < studies.len() {
            assert!(
                seen.borrow().contains(&(k + 1)),
                "study {} did not start while {k} was taken",
                k + 1
            );
        }
        let archive = blob_bytes(&prepared.blob(0, prepared.len()).unwrap()).await;
        check_archive(&archive, study);
    }
    assert!(queue.next().await.is_none());
}

#[wasm_bindgen_test]
async fn scanned_studies_become_prepare_lists_named_by_uid() {
    let tree = StudyTree {
        studies: 2,
        series: 2,
        instances: 2,
        pixel_bytes: 4096,
        junk: true,
        ..StudyTree::default()
    };
    let mut dropped = Vec::new();
    let mut by_path = HashMap::new();
    tree.for_each_file(|path, bytes| {
        let blob: web_sys::Blob = file(bytes, "f").into();
        by_path.insert(path.to_owned(), bytes.to_vec());
        dropped.push(DroppedFile {
            blob,
            path: path.to_owned(),
        });
        Ok::<(), SynthError>(())
    })
    .unwrap();
    let rules = ScanRules::default();
    let on_workers = scan_dropped_files(&dropped, &rules, &mut |_| {})
        .await
        .unwrap();
    let on_main = scan_with(&Engine::MainThread, &dropped, &rules, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(on_workers.grouping, on_main.grouping);
    assert_eq!(on_workers.bytes_read, on_main.bytes_read);
    let blobs: HashMap<String, web_sys::Blob> = dropped
        .iter()
        .map(|d| (d.path.clone(), d.blob.clone()))
        .collect();
    assert_eq!(on_workers.grouping.studies.len(), 2);
    for study in &on_workers.grouping.studies {
        let files = PrepareFile::for_study(study, Compression::Auto, |key| {
            blobs.get(&key.path).cloned()
        })
        .unwrap();
        assert_eq!(files.len(), 4);
        let mut expected = Vec::new();
        for series in &study.series {
            for instance in &series.instances {
                expected.push((
                    entry_name(
                        &study.study_instance_uid,
                        &series.series_instance_uid,
                        &instance.meta.sop_instance_uid,
                    ),
                    by_path[&instance.key.path].clone(),
                    Method::Deflated,
                ));
            }
        }
        let (prepared, _) = prepare(files, &Engine::shared().await).await;
        let archive = blob_bytes(&prepared.blob(0, prepared.len()).unwrap()).await;
        check_archive(&archive, &expected);
    }
    let missing =
        PrepareFile::for_study(&on_workers.grouping.studies[0], Compression::Auto, |_| None);
    assert!(missing.is_err());
}

#[wasm_bindgen_test]
async fn the_js_entry_point_prepares_and_serves_ranges() {
    let study = mixed_study();
    let files: Array = study
        .iter()
        .map(|(_, b, _)| JsValue::from(file(b, "x")))
        .collect();
    let names: Array = study.iter().map(|(n, _, _)| JsValue::from_str(n)).collect();
    let methods: Array = study
        .iter()
        .map(|(_, _, m)| {
            JsValue::from_str(if *m == Method::Stored {
                "stored"
            } else {
                "deflated"
            })
        })
        .collect();
    let options = js_sys::Object::new();
    js_sys::Reflect::set(&options, &"workers".into(), &0.into()).unwrap();
    let prepared = auraloader::prepare_study_js(files, names, methods, options.into())
        .await
        .unwrap();
    assert_eq!(prepared.workers(), 0);
    let archive = blob_bytes(&prepared.blob(0.0, prepared.length()).unwrap()).await;
    check_archive(&archive, &study);
    let bad = auraloader::prepare_study_js(
        Array::of1(&JsValue::from(3)),
        Array::of1(&"a".into()),
        Array::of1(&"stored".into()),
        JsValue::UNDEFINED,
    )
    .await
    .unwrap_err();
    let message = js_sys::Reflect::get(&bad, &"message".into()).unwrap();
    assert!(message.as_string().unwrap().contains("files[0]"));
}

#[wasm_bindgen_test]
async fn a_worker_that_dies_fails_the_preparation_instead_of_hanging() {
    // The real worker script, plus a listener that throws outside any
    // handler once a pack arrives: the page sees the worker's `error` event.
    let script = format!(
        "{WORKER_SCRIPT}\nself.addEventListener('message', (e) => {{ if (e.data.type === 'pack') \
         setTimeout(() => {{ throw new Error('boom'); }}); }});"
    );
    let engine = Engine::start(2, &script).await;
    let pool = engine.pool().expect("the workers start").clone();
    let study = mixed_study();
    let mut files = prepare_files(&study);
    // Big enough that the packs are still running when the error arrives.
    for file in &mut files {
        file.blob = file_of(4 << 20).into();
    }
    let error = prepare_study(files, &engine, &mut |_| {}, &CancelToken::new())
        .await
        .unwrap_err();
    let message = js_sys::Reflect::get(&error, &"message".into()).unwrap();
    let message = message.as_string().unwrap();
    assert!(message.contains("a worker stopped"), "{message}");
    assert!(pool.is_broken());
}

/// A `File` of `len` bytes of compressible text.
fn file_of(len: usize) -> web_sys::File {
    let bytes: Vec<u8> = (0..len).map(|i| b"abcdefgh"[i % 8]).collect();
    file(&bytes, "big")
}
