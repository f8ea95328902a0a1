//! Timers: the one place that calls `setTimeout`. [`Timer`] runs a callback
//! once unless dropped first; [`sleep`] and [`rejects_after`] are promises
//! for `await` and `Promise.race`. They work on the page and in workers (the
//! global `setTimeout` of either).

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(handler: &Function, ms: i32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// Milliseconds as `setTimeout` takes them (capped at ~24 days).
fn clamp(ms: u64) -> i32 {
    i32::try_from(ms).unwrap_or(i32::MAX)
}

/// A pending `setTimeout`, cleared when dropped.
pub struct Timer {
    handle: JsValue,
    _callback: Closure<dyn FnMut()>,
}

impl Timer {
    /// Calls `callback` once after `ms` milliseconds, unless the timer is
    /// dropped first.
    pub fn new(ms: u64, callback: impl FnOnce() + 'static) -> Result<Self, JsValue> {
        let callback = Closure::once(callback);
        let handle = set_timeout(callback.as_ref().unchecked_ref(), clamp(ms))?;
        Ok(Self {
            handle,
            _callback: callback,
        })
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.handle);
    }
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Timer")
    }
}

/// A promise resolving to `undefined` after `ms` milliseconds (at once if
/// the platform has no `setTimeout`).
pub fn sleep(ms: u64) -> Promise {
    Promise::new(&mut |resolve, _| {
        if set_timeout(&resolve, clamp(ms)).is_err() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    })
}

/// A promise rejecting with `error` after `ms` milliseconds: the losing
/// side of a `Promise.race` that bounds a wait.
pub fn rejects_after(ms: u64, error: JsValue) -> Promise {
    Promise::new(&mut |_, reject| {
        let later: Function = reject.bind1(&JsValue::NULL, &error).unchecked_into();
        let _ = set_timeout(&later, clamp(ms));
    })
}
