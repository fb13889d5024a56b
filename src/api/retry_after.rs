//! `Retry-After`: delay-seconds, or an HTTP-date (RFC 9110 IMF-fixdate,
//! `Sun, 06 Nov 1994 08:49:37 GMT`), turned into seconds from now.

/// Seconds to wait, or `None` when the value is neither form. A date in the
/// past means "now" (0).
pub fn parse_retry_after(value: &str, now_unix: u64) -> Option<u64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    imf_fixdate_to_unix(value).map(|at| at.saturating_sub(now_unix))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` → Unix seconds.
fn imf_fixdate_to_unix(s: &str) -> Option<u64> {
    let (_weekday, rest) = s.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m == month)? as u64 + 1;
    let day: u64 = day.parse().ok()?;
    let year: u64 = year.parse().ok()?;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some()
        || !(1..=31).contains(&day)
        || year < 1970
        || h > 23
        || m > 59
        || sec > 60
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm, years >= 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_dates() {
        assert_eq!(parse_retry_after(" 120 ", 0), Some(120));
        // 2025-07-30T09:15:00Z is 1_753_866_900.
        let now = 1_753_866_900;
        assert_eq!(
            parse_retry_after("Wed, 30 Jul 2025 09:16:30 GMT", now),
            Some(90)
        );
        assert_eq!(
            parse_retry_after("Wed, 30 Jul 2025 09:00:00 GMT", now),
            Some(0)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 0),
            Some(784_111_777)
        );
        assert_eq!(
            crate::time::rfc3339(imf_fixdate_to_unix("Tue, 29 Feb 2000 23:59:59 GMT").unwrap()),
            "2000-02-29T23:59:59Z"
        );
    }

    #[test]
    fn garbage_is_none() {
        for bad in [
            "",
            "-5",
            "soon",
            "Wed, 30 Foo 2025 09:16:30 GMT",
            "Wed, 30 Jul 2025 25:00:00 GMT",
            "Wed, 30 Jul 2025 09:16:30 CET",
        ] {
            assert_eq!(parse_retry_after(bad, 0), None, "{bad}");
        }
    }
}
