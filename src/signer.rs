//! The wasm side of the JS `HmacSigner`: signs an axios-style request config in
//! place with AURA-HMAC-SHA256 (`shared/spec/HMAC.md`).

use aura_hmac::{Credentials, Request};
use js_sys::{Object, Reflect, JSON};
use wasm_bindgen::prelude::*;

use crate::browser::random_uuid_v4;

/// Signs `config` (`{method, url, baseURL, headers, data, params}`) in place: adds
/// `X-Aura-Timestamp`, `X-Aura-Nonce`, `Authorization` and, for a body without
/// one, `Content-Type: application/json` to `config.headers`.
///
/// `options` may carry a fixed `timestamp` (Unix seconds) and `nonce`, for
/// tests and reproducible examples; by default the current time and a fresh
/// UUID v4 are used. The body signed is `data` as sent: a string as is,
/// anything else as `JSON.stringify(data)`, which is what axios and the
/// documented `fetch` call send.
#[wasm_bindgen(js_name = signRequest)]
pub fn sign_request(
    app_id: &str,
    app_secret: &str,
    config: &JsValue,
    options: &JsValue,
) -> Result<(), JsError> {
    if !config.is_object() {
        return Err(JsError::new("sign(config): config must be an object"));
    }
    let method = string_field(config, "method")?
        .unwrap_or_else(|| "GET".to_owned())
        .to_ascii_uppercase();
    let url = string_field(config, "url")?.unwrap_or_default();
    let base = string_field(config, "baseURL")?;
    let mut full_url = aura_hmac::join_url(base.as_deref(), &url);
    let params = params_query(&get(config, "params")?)?;
    if !params.is_empty() {
        full_url.push(if full_url.contains('?') { '&' } else { '?' });
        full_url.push_str(&params);
    }
    let body = body_bytes(&get(config, "data")?)?;
    let mut request = Request::from_url(&method, &full_url, body)
        .map_err(|e| JsError::new(&format!("sign(config): {e}")))?;

    let mut headers = get(config, "headers")?;
    if !headers.is_object() {
        headers = Object::new().into();
        set(config, "headers", &headers)?;
    }
    for key in Object::keys(headers.unchecked_ref::<Object>()).iter() {
        let Some(name) = key.as_string() else {
            continue;
        };
        let value = get(&headers, &name)?;
        if let Some(value) = value.as_string() {
            request.set_header(&name, &value);
        } else if let Some(number) = value.as_f64() {
            request.set_header(&name, &number.to_string());
        }
    }
    if request.header("host").is_none() {
        let host = aura_hmac::host_of_url(&full_url)
            .map_err(|e| JsError::new(&format!("sign(config): {e}")))?;
        request.set_header("Host", &host);
    }

    let timestamp = match get(options, "timestamp")?.as_f64() {
        Some(t) if t >= 0.0 && t.fract() == 0.0 => t as u64,
        Some(_) => {
            return Err(JsError::new(
                "sign(config): timestamp must be whole Unix seconds",
            ))
        }
        None => (js_sys::Date::now() / 1000.0).floor() as u64,
    };
    let nonce = match get(options, "nonce")?.as_string() {
        Some(nonce) => nonce,
        None => random_uuid_v4()?,
    };
    let credentials = Credentials {
        app_id: app_id.to_owned(),
        app_secret: app_secret.to_owned(),
    };
    let added = aura_hmac::sign(&credentials, &mut request, timestamp, &nonce)
        .map_err(|e| JsError::new(&format!("sign(config): {e}")))?;
    set_str(&headers, "X-Aura-Timestamp", &added.timestamp)?;
    set_str(&headers, "X-Aura-Nonce", &added.nonce)?;
    set_str(&headers, "Authorization", &added.authorization)?;
    if let Some(content_type) = &added.content_type {
        set_str(&headers, "Content-Type", content_type)?;
    }
    Ok(())
}

/// The query string of an axios-style `params` object (`key=value` pairs,
/// each part as `encodeURIComponent` writes it; `null` and `undefined`
/// values left out), as the published signer signs it: the canonical
/// request then sorts it with the URL's own query.
fn params_query(params: &JsValue) -> Result<String, JsError> {
    if params.is_undefined() || params.is_null() {
        return Ok(String::new());
    }
    if !params.is_object() {
        return Err(JsError::new("sign(config): params must be an object"));
    }
    let mut pairs = Vec::new();
    for entry in Object::entries(params.unchecked_ref::<Object>()).iter() {
        let entry: js_sys::Array = entry.unchecked_into();
        let (key, value) = (entry.get(0), entry.get(1));
        if value.is_undefined() || value.is_null() {
            continue;
        }
        let key = key.as_string().unwrap_or_default();
        let value = if let Some(text) = value.as_string() {
            text
        } else if let Some(flag) = value.as_bool() {
            flag.to_string()
        } else if let Some(number) = value.as_f64() {
            String::from(
                js_sys::Number::from(number)
                    .to_string_with_radix(10)
                    .unwrap_or_default(),
            )
        } else {
            return Err(JsError::new(
                "sign(config): params values must be strings, numbers or booleans",
            ));
        };
        pairs.push(format!(
            "{}={}",
            js_sys::encode_uri_component(&key),
            js_sys::encode_uri_component(&value)
        ));
    }
    Ok(pairs.join("&"))
}

/// The exact body bytes a request config sends.
fn body_bytes(data: &JsValue) -> Result<Vec<u8>, JsError> {
    if data.is_undefined() || data.is_null() {
        return Ok(Vec::new());
    }
    if let Some(text) = data.as_string() {
        return Ok(text.into_bytes());
    }
    let json = JSON::stringify(data)
        .map_err(|_| JsError::new("sign(config): data cannot be serialised as JSON"))?;
    Ok(String::from(json).into_bytes())
}

fn get(target: &JsValue, key: &str) -> Result<JsValue, JsError> {
    if !target.is_object() {
        return Ok(JsValue::UNDEFINED);
    }
    Reflect::get(target, &JsValue::from_str(key))
        .map_err(|_| JsError::new(&format!("sign(config): cannot read {key}")))
}

fn string_field(target: &JsValue, key: &str) -> Result<Option<String>, JsError> {
    let value = get(target, key)?;
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    value
        .as_string()
        .map(Some)
        .ok_or_else(|| JsError::new(&format!("sign(config): {key} must be a string")))
}

fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), JsError> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|_| JsError::new(&format!("sign(config): cannot set {key}")))
}

fn set_str(target: &JsValue, key: &str, value: &str) -> Result<(), JsError> {
    set(target, key, &JsValue::from_str(value))
}
