//! The HTTP requests the client asks for and the answers it is given: plain
//! data, no IO.

use std::ops::Range;

/// Identifies one request the client asked for, so that answers to an
/// aborted or superseded request are recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// The HTTP methods tus uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Creation: a new upload of `Upload-Length` bytes.
    Post,
    /// The server's offset of an upload.
    Head,
    /// Bytes at `Upload-Offset`.
    Patch,
    /// Termination.
    Delete,
}

impl Method {
    /// The method as it goes on the wire: `POST`, `HEAD`, `PATCH`, `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request for the shell to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Pass it back with the answer.
    pub id: RequestId,
    /// The method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// Headers, names as tus spells them (`Tus-Resumable`, `Upload-Offset`).
    pub headers: Vec<(&'static str, String)>,
    /// For a PATCH, the bytes of the study archive to send as the body
    /// (`start` is the `Upload-Offset`); read them with
    /// [`crate::zip::StudyZip::read_at`]. `None` for requests without a body.
    pub body: Option<Range<u64>>,
}

impl HttpRequest {
    /// The value of header `name` (case-insensitive), if the request has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many body bytes the request carries.
    pub fn body_len(&self) -> u64 {
        self.body.as_ref().map_or(0, |r| r.end - r.start)
    }
}

/// What the server answered: the status and the headers the shell could
/// read (in a browser, only those the server exposes through CORS).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// Response headers, any case.
    pub headers: Vec<(String, String)>,
}

impl HttpResponse {
    /// An answer with `status` and no headers yet.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The value of header `name` (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Resolves a `Location` header against the creation endpoint, as a browser
/// resolves a relative URL: absolute URLs stay, `//host/…` takes the
/// endpoint's scheme, `/path` its origin, anything else its directory. Dot
/// segments are left as they are (servers do not send them).
pub fn resolve_location(endpoint: &str, location: &str) -> String {
    let location = location.trim();
    let Some(scheme_end) = endpoint.find("://") else {
        return location.to_owned();
    };
    let lower = location.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return location.to_owned();
    }
    let host_start = scheme_end + 3;
    let origin_end = endpoint[host_start..]
        .find(['/', '?', '#'])
        .map_or(endpoint.len(), |i| host_start + i);
    if location.starts_with("//") {
        return format!("{}{location}", &endpoint[..scheme_end + 1]);
    }
    if location.starts_with('/') {
        return format!("{}{location}", &endpoint[..origin_end]);
    }
    let path_end = endpoint[origin_end..]
        .find(['?', '#'])
        .map_or(endpoint.len(), |i| origin_end + i);
    let path = &endpoint[origin_end..path_end];
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{}{dir}{location}", &endpoint[..origin_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_like_a_browser() {
        let endpoint = "https://up.example.org:8443/api/files/?x=1";
        assert_eq!(
            resolve_location(endpoint, "https://other.example/files/abc"),
            "https://other.example/files/abc"
        );
        assert_eq!(
            resolve_location(endpoint, "/files/abc"),
            "https://up.example.org:8443/files/abc"
        );
        assert_eq!(
            resolve_location(endpoint, "//cdn.example/files/abc"),
            "https://cdn.example/files/abc"
        );
        assert_eq!(
            resolve_location(endpoint, "abc"),
            "https://up.example.org:8443/api/files/abc"
        );
        assert_eq!(
            resolve_location("http://h", "abc"),
            "http://h/abc",
            "an endpoint without a path resolves against /"
        );
    }

    #[test]
    fn response_headers_are_found_in_any_case() {
        let response = HttpResponse::new(204).with_header("upload-offset", " 42 ");
        assert_eq!(response.header("Upload-Offset"), Some("42"));
        assert_eq!(response.header("Location"), None);
        assert!(response.is_success());
        assert!(!HttpResponse::new(409).is_success());
    }
}
