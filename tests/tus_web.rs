//! The browser pieces of the tus driver that need no server: PATCH bodies
//! as Blob slices, the `localStorage` fingerprint store (namespacing, quota
//! errors, no storage at all) and the reading of `getAllResponseHeaders()`.
//! The network side runs against real servers in `tests/node/tus.test.mjs`.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use auraloader::browser::body::BodySource;
use auraloader::browser::storage::LocalStorageFingerprintStore;
use auraloader::browser::tus::parse_header_block;
use auraloader_core::tus::{FingerprintStore, TusEvent};
use js_sys::{Array, Uint8Array};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn blob(bytes: &[u8]) -> web_sys::Blob {
    let parts = Array::of1(&Uint8Array::from(bytes));
    web_sys::Blob::new_with_u8_array_sequence(&parts).unwrap()
}

async fn bytes_of(blob: &web_sys::Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer()).await.unwrap();
    Uint8Array::new(&buffer).to_vec()
}

fn local_storage() -> web_sys::Storage {
    web_sys::window().unwrap().local_storage().unwrap().unwrap()
}

#[wasm_bindgen_test]
async fn a_blob_body_hands_out_exact_ranges() {
    let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let source = blob(&data);
    assert_eq!(BodySource::len(&source), 10_000);
    for (start, end) in [(0, 10_000), (0, 1), (4_096, 8_192), (9_999, 10_000), (5, 5)] {
        let slice = source.blob(start, end).unwrap();
        assert_eq!(
            bytes_of(&slice).await,
            data[start as usize..end as usize],
            "{start}..{end}"
        );
    }
    assert!(source.blob(0, 10_001).is_err(), "past the end");
    assert!(source.blob(6, 5).is_err(), "backwards");
}

#[wasm_bindgen_test]
fn the_store_keeps_urls_in_local_storage_under_its_namespace() {
    let storage = local_storage();
    let mut store = LocalStorageFingerprintStore::new("auraloader-web-test");
    assert!(store.is_persistent());
    store.remove("k1");
    assert_eq!(store.get("k1"), None);
    store.record(
        "k1",
        &TusEvent::Created {
            url: "http://127.0.0.1:1/files/abc".to_owned(),
        },
    );
    assert_eq!(
        storage
            .get_item("auraloader-web-test/k1")
            .unwrap()
            .as_deref(),
        Some("http://127.0.0.1:1/files/abc")
    );
    let reloaded = LocalStorageFingerprintStore::new("auraloader-web-test");
    assert_eq!(
        reloaded.get("k1").as_deref(),
        Some("http://127.0.0.1:1/files/abc"),
        "a new store (a reloaded page) finds it"
    );
    let other = LocalStorageFingerprintStore::new("another-namespace");
    assert_eq!(other.get("k1"), None, "namespaces do not mix");
    store.record(
        "k1",
        &TusEvent::Completed {
            url: "http://127.0.0.1:1/files/abc".to_owned(),
        },
    );
    assert_eq!(storage.get_item("auraloader-web-test/k1").unwrap(), None);
    assert_eq!(store.get("k1"), None);
}

#[wasm_bindgen_test]
fn a_full_storage_falls_back_to_memory() {
    let storage = local_storage();
    let mut store = LocalStorageFingerprintStore::new("auraloader-quota-test");
    // Fill localStorage to its quota (5-10 MB in browsers) with one value
    // that grows until a write throws.
    let mut filler = "x".repeat(1 << 20);
    let mut filled = 0;
    for i in 0..64 {
        if storage
            .set_item(&format!("auraloader-quota-filler/{i}"), &filler)
            .is_err()
        {
            filler.truncate(filler.len() / 2);
            if filler.len() < 16 {
                break;
            }
            continue;
        }
        filled += 1;
    }
    assert!(filled > 0);
    let long_url = format!("http://127.0.0.1:1/files/{}", "a".repeat(4_096));
    store.set("k", &long_url);
    let got = store.get("k");
    let in_storage = storage.get_item("auraloader-quota-test/k").unwrap();
    for i in 0..64 {
        storage
            .remove_item(&format!("auraloader-quota-filler/{i}"))
            .unwrap();
    }
    assert_eq!(
        got.as_deref(),
        Some(long_url.as_str()),
        "kept in memory when storage is full"
    );
    assert_eq!(in_storage, None, "the storage really was full");
    store.remove("k");
    assert_eq!(store.get("k"), None);
}

#[wasm_bindgen_test]
fn a_store_without_storage_works_in_memory() {
    let mut store = LocalStorageFingerprintStore::in_memory("auraloader-web-test");
    assert!(!store.is_persistent());
    store.set("k2", "http://127.0.0.1:1/files/x");
    assert_eq!(
        store.get("k2").as_deref(),
        Some("http://127.0.0.1:1/files/x")
    );
    assert_eq!(
        local_storage().get_item("auraloader-web-test/k2").unwrap(),
        None,
        "nothing written to localStorage"
    );
    store.remove("k2");
    assert_eq!(store.get("k2"), None);
}

#[wasm_bindgen_test]
fn response_header_blocks_are_split_into_pairs() {
    let headers = parse_header_block(
        "upload-offset: 262144\r\ntus-resumable: 1.0.0\r\nretry-after:  3 \r\nlocation: http://h/files/a:b\r\n\r\n",
    );
    assert_eq!(
        headers,
        [
            ("upload-offset", "262144"),
            ("tus-resumable", "1.0.0"),
            ("retry-after", "3"),
            ("location", "http://h/files/a:b"),
        ]
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
    );
}
