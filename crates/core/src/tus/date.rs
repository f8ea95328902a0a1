//! HTTP dates (`Upload-Expires`, `Retry-After`) into Unix milliseconds,
//! without a date-time dependency.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn month_number(name: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let lower = name.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| *m == lower)
        .and_then(|i| u32::try_from(i + 1).ok())
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

fn number<T: std::str::FromStr>(digits: &str, max_len: usize) -> Option<T> {
    if digits.is_empty() || digits.len() > max_len || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Parses an HTTP date in the IMF-fixdate form of RFC 7231/9110
/// (`Sun, 06 Nov 1994 08:49:37 GMT`, what tusd and `@tus/server` send) into
/// milliseconds since the Unix epoch. The weekday is not checked; the
/// obsolete RFC 850 and asctime forms are not accepted (`None`).
pub fn parse_http_date(value: &str) -> Option<u64> {
    let (_weekday, rest) = value.trim().split_once(',')?;
    let mut parts = rest.split_whitespace();
    let day: u32 = number(parts.next()?, 2)?;
    let month = month_number(parts.next()?)?;
    let year: i64 = number(parts.next()?, 4)?;
    let mut time = parts.next()?.split(':');
    let hour: u64 = number(time.next()?, 2)?;
    let minute: u64 = number(time.next()?, 2)?;
    let second: u64 = number(time.next()?, 2)?;
    let zone = parts.next()?;
    if time.next().is_some()
        || parts.next().is_some()
        || !(zone.eq_ignore_ascii_case("GMT") || zone.eq_ignore_ascii_case("UTC"))
        || year < 1970
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let days = u64::try_from(days_from_civil(year, month, day)).ok()?;
    let secs = days * 86_400 + hour * 3_600 + minute * 60 + second;
    secs.checked_mul(1_000)
}

/// How long a `Retry-After` value asks to wait, in milliseconds, at `now`
/// (Unix milliseconds): delay-seconds (`120`) or an HTTP date (a date in the
/// past means no wait). `None` when the value is neither.
pub fn parse_retry_after(value: &str, now: u64) -> Option<u64> {
    let value = value.trim();
    if let Some(secs) = number::<u64>(value, 19) {
        return Some(secs.saturating_mul(1_000));
    }
    parse_http_date(value).map(|at| at.saturating_sub(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imf_fixdates_parse_to_unix_millis() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2000 11:59:59 GMT"),
            Some(951_825_599_000)
        );
        assert_eq!(
            parse_http_date("Fri, 24 Jan 2025 12:00:00 GMT"),
            Some(1_737_720_000_000)
        );
    }

    #[test]
    fn malformed_dates_are_refused() {
        for bad in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 29 Feb 2100 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("7", 0), Some(7_000));
        assert_eq!(parse_retry_after(" 0 ", 0), Some(0));
        let now = 784_111_770_000;
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(7_000)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now + 60_000),
            Some(0)
        );
        assert_eq!(parse_retry_after("-3", 0), None);
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
