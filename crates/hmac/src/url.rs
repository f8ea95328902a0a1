//! Just enough URL handling to sign what a browser or axios sends: joining a base
//! URL, and splitting an absolute http(s) URL into host, path and query.

use crate::Error;

/// Joins a base URL and a request URL the way axios does (`buildFullPath`).
///
/// An absolute `url` (`scheme://…` or protocol-relative `//…`) wins; otherwise
/// the base's trailing `/` and the url's leading `/`s are dropped and the two
/// are joined with one `/`, so the base URL keeps its own path:
/// `"https://h/api"` + `"/auth/exchange"` → `"https://h/api/auth/exchange"`.
/// A missing or empty base returns `url`; an empty `url` returns the base.
pub fn join_url(base: Option<&str>, url: &str) -> String {
    match base {
        Some(base) if !base.is_empty() && !is_absolute_url(url) => {
            if url.is_empty() {
                return base.to_owned();
            }
            // axios: baseURL.replace(/\/?\/$/, '') + '/' + relativeURL.replace(/^\/+/, '')
            let base = base
                .strip_suffix("//")
                .or_else(|| base.strip_suffix('/'))
                .unwrap_or(base);
            format!("{base}/{}", url.trim_start_matches('/'))
        }
        _ => url.to_owned(),
    }
}

/// axios `isAbsoluteURL`: `/^([a-z][a-z\d+\-.]*:)?\/\//i`.
fn is_absolute_url(url: &str) -> bool {
    let rest = match url.find(':') {
        Some(colon) => {
            let scheme = &url[..colon];
            let mut chars = scheme.chars();
            let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            if valid {
                &url[colon + 1..]
            } else {
                url
            }
        }
        None => url,
    };
    rest.starts_with("//")
}

/// The `host[:port]` a client sends as `Host` for an absolute http(s) URL: the
/// host in lowercase, with the port only when it is not the scheme's default.
///
/// `host_of_url("https://Aura.example.com:443/api")` → `"aura.example.com"`.
pub fn host_of_url(url: &str) -> Result<String, Error> {
    Ok(ParsedUrl::parse(url)?.host)
}

/// Splits a raw query string into `(key, value)` pairs on `&` and the first `=`,
/// keeping order and without percent-decoding. Empty segments are skipped; a
/// segment without `=` has an empty value.
pub fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.split_once('=') {
            Some((key, value)) => (key.to_owned(), value.to_owned()),
            None => (segment.to_owned(), String::new()),
        })
        .collect()
}

/// An absolute http(s) URL taken apart.
pub(crate) struct ParsedUrl {
    /// `host[:port]`, port only when non-default.
    pub(crate) host: String,
    /// The path as sent on the wire, `/` when empty.
    pub(crate) path: String,
    /// The raw query, without `?`, as sent on the wire.
    pub(crate) query: String,
}

impl ParsedUrl {
    /// Parses `scheme://host[:port][/path][?query][#fragment]`.
    ///
    /// Like a browser, it percent-encodes spaces, non-ASCII and the few other
    /// characters the WHATWG URL standard encodes in paths and queries, so the
    /// signed path and query are the ones that go on the wire. It does not
    /// resolve `.`/`..` segments, and rejects user info and control characters.
    pub(crate) fn parse(url: &str) -> Result<ParsedUrl, Error> {
        let url = url.trim_matches(|c: char| c <= ' ');
        if url.chars().any(|c| c.is_control()) {
            return Err(Error::InvalidUrl);
        }
        let (scheme, rest) = url.split_once("://").ok_or(Error::InvalidUrl)?;
        let default_port = if scheme.eq_ignore_ascii_case("https") {
            443
        } else if scheme.eq_ignore_ascii_case("http") {
            80
        } else {
            return Err(Error::InvalidUrl);
        };
        let authority_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if authority.contains('@') {
            return Err(Error::InvalidUrl);
        }
        let (host, port) = split_host_port(authority)?;
        let host = match port {
            Some(port) if port != default_port => format!("{host}:{port}"),
            _ => host,
        };

        let tail = tail.split_once('#').map_or(tail, |(before, _)| before);
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            percent_encode(&path.replace('\\', "/"), in_path_set)
        };
        Ok(ParsedUrl {
            host,
            path,
            query: percent_encode(query, in_query_set),
        })
    }
}

/// Splits an authority into a lowercase host and an optional port.
fn split_host_port(authority: &str) -> Result<(String, Option<u16>), Error> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (inner, after) = bracketed.split_once(']').ok_or(Error::InvalidUrl)?;
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(Error::InvalidUrl);
        }
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(Error::InvalidUrl)?),
        };
        (format!("[{inner}]"), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if !valid {
            return Err(Error::InvalidUrl);
        }
        (host.to_owned(), port)
    };
    let port = match port {
        // "host:" means the default port, as in browsers.
        None | Some("") => None,
        Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            Some(digits.parse::<u16>().map_err(|_| Error::InvalidUrl)?)
        }
        Some(_) => return Err(Error::InvalidUrl),
    };
    Ok((host.to_ascii_lowercase(), port))
}

/// WHATWG path percent-encode set (minus `#` and `?`, which never reach here).
fn in_path_set(b: u8) -> bool {
    b <= b' ' || b >= 0x7f || matches!(b, b'"' | b'<' | b'>' | b'`' | b'{' | b'}')
}

/// WHATWG special-query percent-encode set.
fn in_query_set(b: u8) -> bool {
    b <= b' ' || b >= 0x7f || matches!(b, b'"' | b'#' | b'<' | b'>' | b'\'')
}

/// Percent-encodes (uppercase hex) every byte in the set.
fn percent_encode(s: &str, in_set: fn(u8) -> bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if in_set(b) {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_keeps_the_base_path() {
        assert_eq!(
            join_url(Some("https://h/api"), "/auth/exchange"),
            "https://h/api/auth/exchange"
        );
        assert_eq!(
            join_url(Some("https://h/api/"), "auth/exchange"),
            "https://h/api/auth/exchange"
        );
        assert_eq!(join_url(Some("https://h/api//"), "//x"), "//x");
        assert_eq!(join_url(Some("https://h/api//"), "x"), "https://h/api/x");
    }

    #[test]
    fn join_lets_an_absolute_url_win() {
        assert_eq!(
            join_url(Some("https://h/api"), "http://other/x"),
            "http://other/x"
        );
        assert_eq!(join_url(Some("https://h/api"), "//cdn/x"), "//cdn/x");
    }

    #[test]
    fn join_without_base_or_url() {
        assert_eq!(join_url(None, "/x"), "/x");
        assert_eq!(join_url(Some(""), "/x"), "/x");
        assert_eq!(join_url(Some("https://h/api"), ""), "https://h/api");
    }

    #[test]
    fn host_drops_default_ports_only() {
        assert_eq!(
            host_of_url("https://Aura.Example.com:443/x").unwrap(),
            "aura.example.com"
        );
        assert_eq!(host_of_url("http://h:80").unwrap(), "h");
        assert_eq!(host_of_url("http://h:8080/x").unwrap(), "h:8080");
        assert_eq!(host_of_url("https://h:80/x").unwrap(), "h:80");
        assert_eq!(host_of_url("http://[::1]:3000/").unwrap(), "[::1]:3000");
        assert_eq!(host_of_url("http://127.0.0.1:").unwrap(), "127.0.0.1");
    }

    #[test]
    fn rejects_what_is_not_an_absolute_http_url() {
        for bad in [
            "/relative",
            "ftp://h/x",
            "https://",
            "https://:80/x",
            "https://h:99999/",
            "https://h:8o/",
            "https://user:pw@h/",
            "https://h x/",
            "https://[zz]/",
            "https://h/a\nb",
        ] {
            assert_eq!(
                ParsedUrl::parse(bad).err(),
                Some(Error::InvalidUrl),
                "{bad}"
            );
        }
    }

    #[test]
    fn path_and_query_are_what_goes_on_the_wire() {
        let u = ParsedUrl::parse("https://h/a b/é?q=x y&r='#frag").unwrap();
        assert_eq!(u.path, "/a%20b/%C3%A9");
        assert_eq!(u.query, "q=x%20y&r=%27");
        let u = ParsedUrl::parse("https://h?x=1").unwrap();
        assert_eq!(u.path, "/");
        assert_eq!(u.query, "x=1");
        let u = ParsedUrl::parse("https://h/p%2Fq?a=%20").unwrap();
        assert_eq!(u.path, "/p%2Fq");
        assert_eq!(u.query, "a=%20");
    }

    #[test]
    fn query_splits_raw_in_order() {
        assert_eq!(
            parse_query("b=2&a=1&&flag&c=x=y&a=%20"),
            vec![
                ("b".to_owned(), "2".to_owned()),
                ("a".to_owned(), "1".to_owned()),
                ("flag".to_owned(), String::new()),
                ("c".to_owned(), "x=y".to_owned()),
                ("a".to_owned(), "%20".to_owned()),
            ]
        );
        assert!(parse_query("").is_empty());
    }
}
