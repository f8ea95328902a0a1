//! One HTTP request of the tus driver, sent with `XMLHttpRequest` (PATCH)
//! or `fetch` + `AbortController` (POST, HEAD, DELETE); see the parent
//! module for why. Every outcome comes back through one callback, once;
//! [`InFlight::abort`] silences it.

use std::cell::Cell;
use std::rc::Rc;

use auraloader_core::tus::{FailureKind, HttpRequest, HttpResponse, Method};
use js_sys::Promise;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::body::BodySource;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (windows and workers alike).
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &web_sys::Request) -> Promise;
}

/// The response headers the tus client reads. Cross-origin, a browser shows
/// only those the server lists in `Access-Control-Expose-Headers`.
pub const READ_HEADERS: [&str; 10] = [
    "Upload-Offset",
    "Upload-Length",
    "Location",
    "Upload-Expires",
    "Retry-After",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Max-Size",
    "Tus-Extension",
    "Upload-Metadata",
];

/// What became of a request.
#[derive(Debug)]
pub enum Outcome {
    /// `sent` body bytes are on the wire so far (PATCH only).
    Progress(u64),
    /// The server answered.
    Response(HttpResponse),
    /// No answer.
    Failure(FailureKind),
}

/// Where outcomes go. Called at most once with a final outcome
/// (`Response` or `Failure`), and never after [`InFlight::abort`].
pub type Report = Rc<dyn Fn(Outcome)>;

/// A request on its way; dropping it does not abort it (call
/// [`abort`](Self::abort)), but every handler stays alive until it ends.
pub struct InFlight {
    kind: Kind,
    /// Set once the outcome is reported or the request aborted.
    done: Rc<Cell<bool>>,
}

enum Kind {
    Xhr {
        xhr: web_sys::XmlHttpRequest,
        _handlers: Vec<Closure<dyn FnMut(web_sys::ProgressEvent)>>,
    },
    Fetch {
        controller: web_sys::AbortController,
    },
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Xhr { .. } => "XMLHttpRequest",
            Kind::Fetch { .. } => "fetch",
        })
    }
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InFlight")
            .field("kind", &self.kind)
            .field("done", &self.done.get())
            .finish()
    }
}

impl InFlight {
    /// Aborts the request; its outcome is never reported.
    pub fn abort(&self) {
        if self.done.replace(true) {
            return;
        }
        match &self.kind {
            Kind::Xhr { xhr, .. } => {
                // Detach first: `abort()` fires its events synchronously.
                detach(xhr);
                let _ = xhr.abort();
            }
            Kind::Fetch { controller } => controller.abort(),
        }
    }
}

/// Removes the handlers of `xhr`, so that no event reaches a dropped
/// closure (Chromium can deliver a throttled upload `progress` after
/// `load`).
fn detach(xhr: &web_sys::XmlHttpRequest) {
    xhr.set_onload(None);
    xhr.set_onerror(None);
    xhr.set_onabort(None);
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(None);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Kind::Xhr { xhr, .. } = &self.kind {
            detach(xhr);
        }
    }
}

/// A short description of a JS error for a [`FailureKind`].
pub fn describe(error: &JsValue) -> String {
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        let message: String = error.message().into();
        if !message.is_empty() {
            return message;
        }
    }
    error
        .as_string()
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// Sends `request` (its body read from `body` for a PATCH) and reports to
/// `report`. An error here means nothing was sent.
pub fn send(
    request: &HttpRequest,
    body: &dyn BodySource,
    report: Report,
) -> Result<InFlight, FailureKind> {
    match request.method {
        Method::Patch => send_xhr(request, body, report),
        Method::Post | Method::Head | Method::Delete => send_fetch(request, report),
    }
}

/// The guarded reporter: a final outcome once, nothing after abort.
fn reporter(done: &Rc<Cell<bool>>, report: &Report) -> impl Fn(Outcome) + Clone + 'static {
    let done = Rc::clone(done);
    let report = Rc::clone(report);
    move |outcome: Outcome| {
        if done.get() {
            return;
        }
        if !matches!(outcome, Outcome::Progress(_)) {
            done.set(true);
        }
        report(outcome);
    }
}

fn send_xhr(
    request: &HttpRequest,
    body: &dyn BodySource,
    report: Report,
) -> Result<InFlight, FailureKind> {
    let blob = match &request.body {
        Some(range) => Some(
            body.blob(range.start, range.end)
                .map_err(|e| FailureKind::Source(describe(&e)))?,
        ),
        None => None,
    };
    let network = |e: JsValue| FailureKind::Network(describe(&e));
    let xhr = web_sys::XmlHttpRequest::new().map_err(network)?;
    xhr.open_with_async(request.method.as_str(), &request.url, true)
        .map_err(network)?;
    for (name, value) in &request.headers {
        xhr.set_request_header(name, value).map_err(network)?;
    }
    let done = Rc::new(Cell::new(false));
    let emit = reporter(&done, &report);

    let on_progress = {
        let emit = emit.clone();
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |event: web_sys::ProgressEvent| {
            emit(Outcome::Progress(event.loaded().max(0.0) as u64));
        })
    };
    let on_load = {
        let emit = emit.clone();
        let xhr = xhr.clone();
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |_| {
            let status = xhr.status().unwrap_or(0);
            if status == 0 {
                emit(Outcome::Failure(FailureKind::Network(
                    "the request ended without an answer".to_owned(),
                )));
                return;
            }
            let mut response = HttpResponse::new(status);
            if let Ok(all) = xhr.get_all_response_headers() {
                response.headers = parse_header_block(&all);
            }
            emit(Outcome::Response(response));
        })
    };
    let on_error = {
        let emit = emit.clone();
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |_| {
            emit(Outcome::Failure(FailureKind::Network(
                "the connection failed, or the server does not allow this page's origin (CORS)"
                    .to_owned(),
            )));
        })
    };
    let on_abort = {
        let emit = emit.clone();
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |_| {
            emit(Outcome::Failure(FailureKind::Aborted));
        })
    };
    let upload = xhr.upload().map_err(network)?;
    upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    xhr.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
    xhr.send_with_opt_blob(blob.as_ref()).map_err(network)?;
    Ok(InFlight {
        kind: Kind::Xhr {
            xhr,
            _handlers: vec![on_progress, on_load, on_error, on_abort],
        },
        done,
    })
}

/// `getAllResponseHeaders()`: `name: value` lines separated by CRLF.
pub fn parse_header_block(block: &str) -> Vec<(String, String)> {
    block
        .split(['\r', '\n'])
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            let name = name.trim();
            (!name.is_empty()).then(|| (name.to_owned(), value.trim().to_owned()))
        })
        .collect()
}

fn send_fetch(request: &HttpRequest, report: Report) -> Result<InFlight, FailureKind> {
    let network = |e: JsValue| FailureKind::Network(describe(&e));
    let headers = web_sys::Headers::new().map_err(network)?;
    for (name, value) in &request.headers {
        headers.set(name, value).map_err(network)?;
    }
    let controller = web_sys::AbortController::new().map_err(network)?;
    let init = web_sys::RequestInit::new();
    init.set_method(request.method.as_str());
    init.set_headers(&headers);
    init.set_signal(Some(&controller.signal()));
    init.set_mode(web_sys::RequestMode::Cors);
    init.set_cache(web_sys::RequestCache::NoStore);
    let fetch_request =
        web_sys::Request::new_with_str_and_init(&request.url, &init).map_err(network)?;
    let done = Rc::new(Cell::new(false));
    let emit = reporter(&done, &report);
    let promise = global_fetch(&fetch_request);
    wasm_bindgen_futures::spawn_local(async move {
        let outcome = match wasm_bindgen_futures::JsFuture::from(promise).await {
            Ok(value) => match value.dyn_into::<web_sys::Response>() {
                Ok(response) => {
                    let mut answer = HttpResponse::new(response.status());
                    let found = response.headers();
                    for name in READ_HEADERS {
                        if let Ok(Some(value)) = found.get(name) {
                            answer.headers.push((name.to_owned(), value));
                        }
                    }
                    // The body is not needed; let the connection go.
                    if let Some(body) = response.body() {
                        let _ = body.cancel();
                    }
                    Outcome::Response(answer)
                }
                Err(_) => Outcome::Failure(FailureKind::Network(
                    "fetch resolved to something other than a Response".to_owned(),
                )),
            },
            Err(error) => {
                let aborted = error
                    .dyn_ref::<js_sys::Error>()
                    .is_some_and(|e| e.name() == "AbortError");
                if aborted {
                    Outcome::Failure(FailureKind::Aborted)
                } else {
                    Outcome::Failure(FailureKind::Network(format!(
                        "{}: the connection failed, or the server does not allow this \
                         page's origin (CORS)",
                        describe(&error)
                    )))
                }
            }
        };
        emit(outcome);
    });
    Ok(InFlight {
        kind: Kind::Fetch { controller },
        done,
    })
}
