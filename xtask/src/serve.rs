//! `cargo xtask demo`: builds and serves the demo page.
//!
//! Until the dev server (`crates/server`) lands, this is a small static file
//! server over `dist/`, plus one placeholder answer for
//! `GET /api/uploader/config` so the widget can initialise and mount. It binds
//! to loopback only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use crate::build::{self, Options};

/// Builds, then serves `dist/demo` at `/` and `dist/npm` at `/npm/` until interrupted.
pub fn demo(args: &[String]) -> Result<(), String> {
    let addr = args
        .windows(2)
        .find(|w| w[0] == "--addr")
        .map(|w| w[1].clone())
        .or_else(|| std::env::var("AURALOADER_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let dev = args.iter().any(|a| a == "--dev");
    build::run(&Options { dev })?;
    let listener = TcpListener::bind(&addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("\nauraloader demo: http://{addr}/  (Ctrl-C to stop)");
    serve(listener, crate::util::root().join("dist"));
    Ok(())
}

/// Serves `dist` on `listener` until the process ends, one thread per connection.
pub fn serve(listener: TcpListener, dist: PathBuf) {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    for stream in listener.incoming().flatten() {
        let dist = dist.clone();
        let addr = addr.clone();
        std::thread::spawn(move || {
            if let Err(e) = handle(stream, &dist, &addr) {
                eprintln!("demo server: {e}");
            }
        });
    }
}

fn handle(mut stream: TcpStream, dist: &Path, addr: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Headers are read and ignored, up to a bound.
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let path = target.split(['?', '#']).next().unwrap_or("/");

    if method == "OPTIONS" {
        return respond(&mut stream, 204, "text/plain", b"");
    }
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, 405, "text/plain", b"method not allowed\n");
    }
    if path == "/api/uploader/config" {
        let body = format!(
            r#"{{"lift":{{"endpoint":"http://{addr}/files/","token":"demo-placeholder","bucket":"demo"}},"mode":"bulk"}}"#
        );
        return respond(&mut stream, 200, "application/json", body.as_bytes());
    }
    match resolve(dist, path) {
        Some(file) => {
            let mut body = Vec::new();
            std::fs::File::open(&file)?.read_to_end(&mut body)?;
            respond(&mut stream, 200, content_type(&file), &body)
        }
        None => respond(&mut stream, 404, "text/plain", b"not found\n"),
    }
}

/// Maps a URL path to a file under `dist`: `/npm/…` to `dist/npm`, anything
/// else to `dist/demo`; `..` and other escapes are refused.
fn resolve(dist: &Path, url_path: &str) -> Option<PathBuf> {
    let (base, rest) = match url_path.strip_prefix("/npm/") {
        Some(rest) => (dist.join("npm"), rest),
        None => (dist.join("demo"), url_path.trim_start_matches('/')),
    };
    let relative = Path::new(rest);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let mut file = base.join(relative);
    if file.is_dir() {
        file = file.join("index.html");
    }
    file.is_file().then_some(file)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        204 => "No Content",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_refuses_paths_that_leave_dist() {
        let dist = std::env::temp_dir().join(format!("xtask-serve-{}", std::process::id()));
        std::fs::create_dir_all(dist.join("demo")).unwrap();
        std::fs::write(dist.join("demo/index.html"), "x").unwrap();
        std::fs::write(dist.join("secret"), "x").unwrap();
        assert_eq!(resolve(&dist, "/"), Some(dist.join("demo/index.html")));
        assert_eq!(resolve(&dist, "/../secret"), None);
        assert_eq!(resolve(&dist, "/npm/../../secret"), None);
        assert_eq!(resolve(&dist, "/missing.js"), None);
        std::fs::remove_dir_all(&dist).unwrap();
    }
}
