//! Small, dependency-free helpers: timestamps, form/query decoding, Basic auth
//! and the email shape check.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, from the system clock.
pub(crate) fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) for days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats epoch milliseconds as `2024-05-01T10:00:00.123Z`, the way HubSpot does.
pub(crate) fn format_iso_ms(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, mo, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// Parses a timestamp given as epoch milliseconds (`"1714557600000"`) or as
/// ISO 8601 (`2024-05-01`, `2024-05-01T10:00:00Z`, `2024-05-01T10:00:00.123+02:00`).
/// A date-time without an offset is read as UTC.
pub(crate) fn parse_timestamp_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(i64::from(y), mo, d) * 86_400_000;
    let mut rest = &s[10..];
    if !rest.is_empty() {
        if !(rest.starts_with('T') || rest.starts_with(' ')) || rest.len() < 6 {
            return None;
        }
        let r = rest.as_bytes();
        if r[3] != b':' {
            return None;
        }
        let h = num(11..13)?;
        let mi = num(14..16)?;
        let mut sec = 0;
        let mut frac_ms = 0;
        rest = &rest[6..];
        if let Some(after) = rest.strip_prefix(':') {
            let digits = after.get(..2)?;
            if !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            sec = digits.parse::<u32>().ok()?;
            rest = &after[2..];
            if let Some(frac) = rest.strip_prefix('.') {
                let n = frac.bytes().take_while(u8::is_ascii_digit).count();
                if n == 0 {
                    return None;
                }
                let padded = format!("{:0<3}", &frac[..n.min(3)]);
                frac_ms = padded.parse::<u32>().ok()?;
                rest = &frac[n..];
            }
        }
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        ms += i64::from(h) * 3_600_000
            + i64::from(mi) * 60_000
            + i64::from(sec) * 1000
            + i64::from(frac_ms);
        match rest {
            "" | "Z" | "z" => {}
            _ => {
                let sign = match rest.as_bytes()[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let off = rest[1..].replace(':', "");
                if off.len() != 4 || !off.bytes().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                let oh: i64 = off[..2].parse().ok()?;
                let om: i64 = off[2..].parse().ok()?;
                ms -= sign * (oh * 3_600_000 + om * 60_000);
            }
        }
    }
    u64::try_from(ms).ok()
}

/// Decodes `application/x-www-form-urlencoded` text (also used for query strings).
pub(crate) fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters pass).
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes standard base64 (with or without padding).
pub(crate) fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in s.trim().trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).unwrap_or(0));
        }
    }
    Some(out)
}

/// The simulator's email rule: exactly one `@`, something before it, and a
/// domain after it that contains a dot that is neither its first nor its last
/// character; no whitespace.
pub(crate) fn looks_like_email(s: &str) -> bool {
    if s.chars().any(char::is_whitespace) {
        return false;
    }
    let mut parts = s.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        for ms in [0, 1_714_557_600_123, 951_782_400_000, 4_102_444_799_999] {
            let s = format_iso_ms(ms);
            assert_eq!(parse_timestamp_ms(&s), Some(ms), "{s}");
        }
        assert_eq!(format_iso_ms(1_714_557_600_123), "2024-05-01T10:00:00.123Z");
    }

    #[test]
    fn timestamp_forms() {
        let base = 1_714_557_600_000;
        assert_eq!(parse_timestamp_ms("1714557600000"), Some(base));
        assert_eq!(parse_timestamp_ms("2024-05-01T10:00:00Z"), Some(base));
        assert_eq!(parse_timestamp_ms("2024-05-01T10:00Z"), Some(base));
        assert_eq!(parse_timestamp_ms("2024-05-01T12:00:00+02:00"), Some(base));
        assert_eq!(
            parse_timestamp_ms("2024-05-01T10:00:00.5Z"),
            Some(base + 500)
        );
        assert_eq!(parse_timestamp_ms("2024-05-01"), Some(base - 36_000_000));
        for bad in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-05-01T25:00:00Z",
            "2024-05-01Tx",
        ] {
            assert_eq!(parse_timestamp_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn form_and_base64() {
        assert_eq!(
            parse_form("a=1&b=x+y%2Fz&c&d=%zz"),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y/z".into()),
                ("c".into(), String::new()),
                ("d".into(), "%zz".into())
            ]
        );
        assert_eq!(parse_form("e=%4"), vec![("e".into(), "%4".into())]);
        assert_eq!(
            base64_decode("aWQ6c2VjcmV0").as_deref(),
            Some(&b"id:secret"[..])
        );
        assert_eq!(base64_decode("YQ==").as_deref(), Some(&b"a"[..]));
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn email_shape() {
        assert!(looks_like_email("ada@example.com"));
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a@b@c.com",
            "ada@example",
            "ada@.com",
            "a da@x.io",
            "ada@x.",
        ] {
            assert!(!looks_like_email(bad), "{bad}");
        }
    }
}
