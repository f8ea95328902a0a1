//! The `Authorization` header: written by [`crate::sign`], parsed strictly by
//! [`crate::verify`].

use std::fmt;
use std::str::FromStr;

use crate::{Error, ALGORITHM};

/// A parsed `Authorization: AURA-HMAC-SHA256 Credential=<app id>,SignedHeaders=<a;b>,Signature=<hex>`
/// header.
///
/// Parsing is strict: exactly that order and punctuation, no extra spaces, a
/// non-empty app id without whitespace, `,` or `/`, signed header names in
/// lowercase, sorted and unique, and a signature of 64 lowercase hex digits.
/// `Display` writes the same form back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The app id from `Credential=`.
    pub app_id: String,
    /// The lowercase header names from `SignedHeaders=`, in order.
    pub signed_headers: Vec<String>,
    /// The lowercase hex signature from `Signature=`.
    pub signature: String,
}

/// Whether `app_id` can stand in `Credential=` and in the credential scope.
pub(crate) fn is_valid_app_id(app_id: &str) -> bool {
    !app_id.is_empty()
        && app_id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b',' && b != b'/')
}

/// A lowercase HTTP token (RFC 9110 `tchar`s without uppercase letters).
fn is_lowercase_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

fn malformed(reason: &str) -> Error {
    Error::MalformedAuthorization(reason.to_owned())
}

impl FromStr for Authorization {
    type Err = Error;

    fn from_str(header: &str) -> Result<Self, Error> {
        let Some((algorithm, params)) = header.split_once(' ') else {
            return Err(if header == ALGORITHM {
                malformed("missing Credential, SignedHeaders and Signature after the algorithm")
            } else {
                Error::WrongAlgorithm
            });
        };
        if algorithm != ALGORITHM {
            return Err(Error::WrongAlgorithm);
        }
        let mut parts = params.split(',');
        let (Some(credential), Some(signed), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(
                "expected exactly Credential=..,SignedHeaders=..,Signature=.. separated by ','",
            ));
        };

        let app_id = credential
            .strip_prefix("Credential=")
            .ok_or_else(|| malformed("first parameter must be Credential=<app id>"))?;
        if !is_valid_app_id(app_id) {
            return Err(malformed(
                "credential must be a non-empty app id without spaces, ',' or '/'",
            ));
        }

        let signed = signed
            .strip_prefix("SignedHeaders=")
            .ok_or_else(|| malformed("second parameter must be SignedHeaders=<names>"))?;
        let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
        if !signed_headers.iter().all(|n| is_lowercase_header_name(n)) {
            return Err(malformed(
                "signed headers must be lowercase header names separated by ';'",
            ));
        }
        if !signed_headers.windows(2).all(|w| w[0] < w[1]) {
            return Err(malformed("signed headers must be sorted and unique"));
        }

        let signature = signature
            .strip_prefix("Signature=")
            .ok_or_else(|| malformed("third parameter must be Signature=<hex>"))?;
        if signature.len() != 64
            || !signature
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(malformed("signature must be 64 lowercase hex digits"));
        }

        Ok(Authorization {
            app_id: app_id.to_owned(),
            signed_headers,
            signature: signature.to_owned(),
        })
    }
}

impl fmt::Display for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ALGORITHM} Credential={},SignedHeaders={},Signature={}",
            self.app_id,
            self.signed_headers.join(";"),
            self.signature
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "4e865169c280c238e93ea51681fdf9e5977ecbf0dc60fbbf0b6b7ccba2005093";

    fn header(app: &str, signed: &str, sig: &str) -> String {
        format!("{ALGORITHM} Credential={app},SignedHeaders={signed},Signature={sig}")
    }

    #[test]
    fn parses_and_writes_back_the_same_header() {
        let text = header("test-app-id", "content-type;host;x-aura-nonce", SIG);
        let auth: Authorization = text.parse().unwrap();
        assert_eq!(auth.app_id, "test-app-id");
        assert_eq!(
            auth.signed_headers,
            ["content-type", "host", "x-aura-nonce"]
        );
        assert_eq!(auth.signature, SIG);
        assert_eq!(auth.to_string(), text);
    }

    #[test]
    fn rejects_other_schemes_as_wrong_algorithm() {
        for text in [
            "Bearer abc".to_owned(),
            "AWS4-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=x".to_owned(),
            "aura-hmac-sha256 Credential=a,SignedHeaders=host,Signature=x".to_owned(),
            "Basic".to_owned(),
        ] {
            assert_eq!(
                text.parse::<Authorization>(),
                Err(Error::WrongAlgorithm),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_every_malformed_form() {
        let upper = SIG.to_uppercase();
        let short = &SIG[..63];
        let non_hex = format!("{}g", &SIG[..63]);
        let cases = [
            ALGORITHM.to_owned(),
            format!("{ALGORITHM}  Credential=a,SignedHeaders=host,Signature={SIG}"),
            format!("{ALGORITHM} Credential=a, SignedHeaders=host,Signature={SIG}"),
            format!("{ALGORITHM} SignedHeaders=host,Credential=a,Signature={SIG}"),
            format!("{ALGORITHM} Credential=a,SignedHeaders=host"),
            format!("{ALGORITHM} Credential=a,SignedHeaders=host,Signature={SIG},Extra=1"),
            header("", "host", SIG),
            header("a/b", "host", SIG),
            header("a b", "host", SIG),
            header("a", "", SIG),
            header("a", "Host", SIG),
            header("a", "host;;x", SIG),
            header("a", "x-aura-nonce;host", SIG),
            header("a", "host;host", SIG),
            header("a", "host", &upper),
            header("a", "host", short),
            header("a", "host", &non_hex),
            header("a", "host", ""),
        ];
        for text in cases {
            assert!(
                matches!(
                    text.parse::<Authorization>(),
                    Err(Error::MalformedAuthorization(_))
                ),
                "{text}"
            );
        }
    }
}
