//! Random identifiers and secrets from the operating system's generator.

use crate::Error;

/// The 64 URL-safe characters; 256 is a multiple of 64, so `byte % 64` is uniform.
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `len` random bytes.
pub fn bytes(len: usize) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; len];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Internal(format!("the system random generator failed: {e}")))?;
    Ok(buf)
}

/// `len` random URL-safe characters (`A-Z a-z 0-9 - _`), 6 bits each.
pub fn url_safe(len: usize) -> Result<String, Error> {
    Ok(bytes(len)?
        .into_iter()
        .map(|b| char::from(URL_SAFE[usize::from(b % 64)]))
        .collect())
}

/// `len` random lowercase hex digits.
pub fn hex(len: usize) -> Result<String, Error> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    Ok(bytes(len)?
        .into_iter()
        .map(|b| char::from(HEX[usize::from(b % 16)]))
        .collect())
}

/// A 4-digit PIN, `0000`–`9999`.
pub fn pin() -> Result<String, Error> {
    let b = bytes(4)?;
    let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) % 10_000;
    Ok(format!("{n:04}"))
}

/// A new upload token: `aubt_` and 64 URL-safe characters.
pub fn upload_token() -> Result<String, Error> {
    Ok(format!("aubt_{}", url_safe(64)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_tokens_have_the_prefix_and_64_url_safe_chars() {
        let token = upload_token().unwrap();
        let rest = token.strip_prefix("aubt_").unwrap();
        assert_eq!(rest.len(), 64);
        assert!(rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(token, upload_token().unwrap());
    }

    #[test]
    fn pins_are_four_digits() {
        for _ in 0..20 {
            let pin = pin().unwrap();
            assert_eq!(pin.len(), 4);
            assert!(pin.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
