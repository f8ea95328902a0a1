//! The widget's tests in a real browser (headless Chromium through
//! `wasm-bindgen-test-runner`; `cargo xtask test` sets it up).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use auraloader::{sign_request, StandaloneAuraloader};
use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap()
}

fn vector_config() -> JsValue {
    js_sys::JSON::parse(
        r#"{"method":"post","url":"/auth/exchange","baseURL":"https://aura.example.com/api",
            "headers":{"Content-Type":"application/json"},
            "data":{"ttl":3600,"scopes":["upload:init","upload:manage"]}}"#,
    )
    .unwrap()
}

#[wasm_bindgen_test]
fn signs_the_spec_vector_in_the_browser() {
    let config = vector_config();
    let options = js_sys::JSON::parse(
        r#"{"timestamp":1706140800,"nonce":"550e8400-e29b-41d4-a716-446655440000"}"#,
    )
    .unwrap();
    sign_request("test-app-id", "test-secret-key", &config, &options).unwrap();
    let headers = get(&config, "headers");
    assert_eq!(
        get(&headers, "Authorization").as_string().unwrap(),
        "AURA-HMAC-SHA256 Credential=test-app-id,SignedHeaders=content-type;host;x-aura-nonce;x-aura-timestamp,Signature=4e865169c280c238e93ea51681fdf9e5977ecbf0dc60fbbf0b6b7ccba2005093"
    );
    assert_eq!(
        get(&headers, "X-Aura-Timestamp").as_string().unwrap(),
        "1706140800"
    );
    assert!(
        get(&headers, "Host").is_undefined(),
        "Host is signed but not set: browsers forbid it"
    );
}

#[wasm_bindgen_test]
fn signing_uses_the_clock_and_a_fresh_uuid_v4_nonce() {
    let first = vector_config();
    let second = vector_config();
    sign_request("id", "secret", &first, &JsValue::UNDEFINED).unwrap();
    sign_request("id", "secret", &second, &JsValue::UNDEFINED).unwrap();
    let nonce = |c: &JsValue| get(&get(c, "headers"), "X-Aura-Nonce").as_string().unwrap();
    let (a, b) = (nonce(&first), nonce(&second));
    assert_ne!(a, b);
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "4", "version nibble of a UUID v4: {a}");
    let timestamp: f64 = get(&get(&first, "headers"), "X-Aura-Timestamp")
        .as_string()
        .unwrap()
        .parse()
        .unwrap();
    assert!((timestamp - js_sys::Date::now() / 1000.0).abs() < 60.0);
}

#[wasm_bindgen_test]
fn signing_adds_content_type_only_for_bodies() {
    let with_body =
        js_sys::JSON::parse(r#"{"method":"POST","url":"https://h/api/x","data":{"a":1}}"#).unwrap();
    sign_request("id", "secret", &with_body, &JsValue::UNDEFINED).unwrap();
    assert_eq!(
        get(&get(&with_body, "headers"), "Content-Type")
            .as_string()
            .as_deref(),
        Some("application/json")
    );
    let without = js_sys::JSON::parse(r#"{"method":"GET","url":"https://h/api/x"}"#).unwrap();
    sign_request("id", "secret", &without, &JsValue::UNDEFINED).unwrap();
    assert!(get(&get(&without, "headers"), "Content-Type").is_undefined());
}

fn widget_config(container: &str) -> JsValue {
    let config = Object::new();
    for (k, v) in [
        ("apiToken", "key"),
        ("apiBaseUrl", "http://127.0.0.1:9/api"),
        ("uploadToken", "aubt_test"),
        ("containerId", container),
    ] {
        Reflect::set(&config, &k.into(), &v.into()).unwrap();
    }
    config.into()
}

#[wasm_bindgen_test]
fn mount_is_refused_before_init() {
    let widget = StandaloneAuraloader::new(widget_config("nowhere")).unwrap();
    let error = widget.mount().unwrap_err();
    assert_eq!(
        get(&error, "code").as_string().as_deref(),
        Some("not_initialized")
    );
    assert!(!widget.is_mounted());
}

#[wasm_bindgen_test]
async fn init_reports_a_missing_container() {
    let widget = StandaloneAuraloader::new(widget_config("no-such-element")).unwrap();
    let error = wasm_bindgen_futures::JsFuture::from(widget.init())
        .await
        .unwrap_err();
    assert_eq!(
        get(&error, "code").as_string().as_deref(),
        Some("container_not_found")
    );
    let message = error.unchecked_into::<js_sys::Error>().message();
    assert!(String::from(message).contains("no-such-element"));
}

#[wasm_bindgen_test]
async fn init_reports_an_unreachable_api_as_a_network_error() {
    let document = web_sys::window().unwrap().document().unwrap();
    let container = document.create_element("div").unwrap();
    container.set_id("unreachable-api");
    document.body().unwrap().append_child(&container).unwrap();
    let widget = StandaloneAuraloader::new(widget_config("unreachable-api")).unwrap();
    let error = wasm_bindgen_futures::JsFuture::from(widget.init())
        .await
        .unwrap_err();
    assert_eq!(
        get(&error, "code").as_string().as_deref(),
        Some("network_error")
    );
    container.remove();
}

/// Replaces `window.fetch` with one answering `status` and `body` to every
/// request, and returns the original so the test can put it back.
fn fake_fetch(status: u16, body: &str) -> JsValue {
    let window = web_sys::window().unwrap();
    let original = get(&window, "fetch");
    let fake = js_sys::Function::new_with_args(
        "input, init",
        &format!(
            "return Promise.resolve(new Response({}, {{status: {status}, headers: {{'Content-Type': 'application/json'}}}}));",
            js_sys::JSON::stringify(&body.into()).unwrap()
        ),
    );
    Reflect::set(&window, &"fetch".into(), &fake).unwrap();
    original
}

fn restore_fetch(original: JsValue) {
    Reflect::set(&web_sys::window().unwrap(), &"fetch".into(), &original).unwrap();
}

async fn next_tick() {
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 20)
            .unwrap();
    }))
    .await
    .unwrap();
}

fn container(id: &str) -> web_sys::Element {
    let document = web_sys::window().unwrap().document().unwrap();
    let element = document.create_element("div").unwrap();
    element.set_id(id);
    document.body().unwrap().append_child(&element).unwrap();
    element
}

#[wasm_bindgen_test]
async fn init_reports_a_rejected_token_with_its_status() {
    let element = container("rejected-token");
    let original = fake_fetch(
        401,
        r#"{"error":{"code":"token_expired","message":"upload token expired"}}"#,
    );
    let widget = StandaloneAuraloader::new(widget_config("rejected-token")).unwrap();
    let result = wasm_bindgen_futures::JsFuture::from(widget.init()).await;
    restore_fetch(original);
    let error = result.unwrap_err();
    assert_eq!(
        get(&error, "code").as_string().as_deref(),
        Some("auth_failed")
    );
    assert_eq!(get(&error, "statusCode").as_f64(), Some(401.0));
    assert_eq!(
        String::from(error.unchecked_into::<js_sys::Error>().message()),
        "upload token expired"
    );
    element.remove();
}

#[wasm_bindgen_test]
async fn mounts_after_init_and_destroy_empties_the_container() {
    let element = container("mount-here");
    let original = fake_fetch(
        200,
        r#"{"lift":{"endpoint":"http://127.0.0.1:9/files/","token":"t.s","bucket":"b"},"mode":"bulk"}"#,
    );
    let widget = StandaloneAuraloader::new(widget_config("mount-here")).unwrap();
    let result = wasm_bindgen_futures::JsFuture::from(widget.init()).await;
    restore_fetch(original);
    result.unwrap();
    widget.mount().unwrap();
    assert!(widget.is_mounted());
    // Yew renders and unmounts on its scheduler, after the current task.
    next_tick().await;
    // The UI lives in a shadow root on a host element inside the container.
    let host = element.first_element_child().unwrap();
    let text = host
        .shadow_root()
        .unwrap()
        .text_content()
        .unwrap_or_default();
    assert!(
        text.contains("Upload imaging studies"),
        "rendered: {text:?}"
    );
    widget.destroy();
    assert!(!widget.is_mounted());
    next_tick().await;
    assert_eq!(element.child_element_count(), 0);
    element.remove();
}

#[wasm_bindgen_test]
async fn init_rejects_an_unusable_server_config() {
    let element = container("bad-config");
    let original = fake_fetch(
        200,
        r#"{"lift":{"endpoint":"/relative","token":"t"},"mode":"bulk"}"#,
    );
    let widget = StandaloneAuraloader::new(widget_config("bad-config")).unwrap();
    let result = wasm_bindgen_futures::JsFuture::from(widget.init()).await;
    restore_fetch(original);
    let error = result.unwrap_err();
    assert_eq!(
        get(&error, "code").as_string().as_deref(),
        Some("config_invalid")
    );
    element.remove();
}
