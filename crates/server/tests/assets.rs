//! Static mounts: the demo page and the npm package from the same server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::Harness;

#[tokio::test]
async fn static_mounts_serve_the_demo_beside_the_api() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dist.path().join("demo")).unwrap();
    std::fs::create_dir_all(dist.path().join("npm")).unwrap();
    std::fs::write(dist.path().join("demo/index.html"), "<p>demo</p>").unwrap();
    std::fs::write(dist.path().join("demo/app.js"), "1").unwrap();
    std::fs::write(dist.path().join("npm/index.js"), "export {}").unwrap();
    let mounts = format!(
        "{},/npm={}",
        dist.path().join("demo").display(),
        dist.path().join("npm").display()
    );
    let h = Harness::with(|c| {
        c.static_mounts = mounts.split(',').map(|m| m.parse().unwrap()).collect();
    });
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();

    let page = h.send(get("/")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.body.as_ref(), b"<p>demo</p>");
    let npm = h.send(get("/npm/index.js")).await;
    assert_eq!(npm.status, StatusCode::OK);
    assert_eq!(npm.body.as_ref(), b"export {}");
    assert_eq!(h.send(get("/app.js")).await.status, StatusCode::OK);
    assert_eq!(
        h.send(get("/missing.js")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.send(get("/npm/..%2F..%2Fetc%2Fpasswd")).await.status,
        StatusCode::FORBIDDEN
    );
    // The API is still the API.
    let dev = h.dev_uploads().await;
    assert!(dev["sessions"].is_array());
}
