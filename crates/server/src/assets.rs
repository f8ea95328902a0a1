//! Static files (the demo page, the npm package) mounted under URL prefixes,
//! so that one server runs the API, the tus endpoint and the demo.

use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::Error;

/// A directory served under a URL prefix, e.g. `/npm` → `dist/npm`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticMount {
    /// The URL prefix, starting with `/` and without a trailing `/` (`/` for the root).
    pub prefix: String,
    /// The directory whose files are served.
    pub dir: PathBuf,
}

impl FromStr for StaticMount {
    type Err = String;

    /// `PREFIX=DIR` (e.g. `/npm=dist/npm`) or just `DIR` for the root.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (prefix, dir) = match text.split_once('=') {
            Some((prefix, dir)) => (prefix.trim(), dir.trim()),
            None => ("/", text.trim()),
        };
        if !prefix.starts_with('/') || dir.is_empty() {
            return Err(format!(
                "static mount {text:?} must be DIR or /PREFIX=DIR, e.g. /npm=dist/npm"
            ));
        }
        let prefix = match prefix.trim_end_matches('/') {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        Ok(StaticMount {
            prefix,
            dir: PathBuf::from(dir),
        })
    }
}

/// The file a URL path names under the longest matching mount; `None` when
/// no mount matches, the path escapes (`..`, absolute parts) or nothing is there.
fn resolve(mounts: &[StaticMount], url_path: &str) -> Option<PathBuf> {
    let mount = mounts
        .iter()
        .filter(|m| {
            m.prefix == "/"
                || url_path == m.prefix
                || url_path.starts_with(&format!("{}/", m.prefix))
        })
        .max_by_key(|m| m.prefix.len())?;
    let rest = if mount.prefix == "/" {
        url_path
    } else {
        &url_path[mount.prefix.len()..]
    };
    let relative = Path::new(rest.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let mut file = mount.dir.join(relative);
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
        Some("json" | "map") => "application/json",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Answers a GET or HEAD from the static mounts, if one holds the file.
pub(crate) async fn try_serve(
    mounts: &[StaticMount],
    method: &Method,
    uri: &Uri,
) -> Result<Option<Response>, Error> {
    if method != Method::GET && method != Method::HEAD {
        return Ok(None);
    }
    let Some(file) = resolve(mounts, uri.path()) else {
        return Ok(None);
    };
    let bytes = tokio::fs::read(&file).await?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&file)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(Some(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_parse_from_prefix_and_dir() {
        let m: StaticMount = "/npm/=dist/npm".parse().unwrap();
        assert_eq!(m.prefix, "/npm");
        assert_eq!(m.dir, PathBuf::from("dist/npm"));
        let root: StaticMount = "dist/demo".parse().unwrap();
        assert_eq!(root.prefix, "/");
        assert!("npm=dist".parse::<StaticMount>().is_err());
    }

    #[test]
    fn paths_resolve_under_the_longest_prefix_and_never_escape() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("demo")).unwrap();
        std::fs::create_dir_all(dir.path().join("npm")).unwrap();
        std::fs::write(dir.path().join("demo/index.html"), "demo").unwrap();
        std::fs::write(dir.path().join("npm/index.js"), "npm").unwrap();
        std::fs::write(dir.path().join("secret"), "no").unwrap();
        let mounts = [
            StaticMount {
                prefix: "/".into(),
                dir: dir.path().join("demo"),
            },
            StaticMount {
                prefix: "/npm".into(),
                dir: dir.path().join("npm"),
            },
        ];
        assert_eq!(
            resolve(&mounts, "/"),
            Some(dir.path().join("demo/index.html"))
        );
        assert_eq!(
            resolve(&mounts, "/npm/index.js"),
            Some(dir.path().join("npm/index.js"))
        );
        assert_eq!(resolve(&mounts, "/../secret"), None);
        assert_eq!(resolve(&mounts, "/npm/../../secret"), None);
        assert_eq!(resolve(&mounts, "/missing.js"), None);
    }
}
