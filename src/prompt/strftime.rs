//! `strftime_now(format)` for chat templates that print today's date (Llama 3.x
//! writes "Today Date: 26 Jul 2024" into its system header). Time is UTC: saar
//! carries no time-zone database, and a date is all templates ask for.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::calendar::{MONTH_NAMES as MONTHS, WEEKDAY_NAMES as WEEKDAYS};

/// A moment broken into calendar fields (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Monday
    pub weekday: u32,
    /// 1..=366
    pub day_of_year: u32,
}

impl DateTime {
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let jan1 = days_from_civil(year, 1, 1);
        Self {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
            // 1970-01-01 was a Thursday (3 with Monday = 0).
            weekday: (days + 3).rem_euclid(7) as u32,
            day_of_year: (days - jan1 + 1) as u32,
        }
    }
}

/// The current UTC time formatted like Python's `datetime.now().strftime(format)`.
pub(crate) fn strftime_now(format: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    strftime(&DateTime::from_unix(secs), format)
}

/// C `strftime` for the common directives; `%-d` style drops the padding (glibc).
pub(crate) fn strftime(t: &DateTime, format: &str) -> String {
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut directive = chars.next();
        let unpadded = directive == Some('-');
        if unpadded {
            directive = chars.next();
        }
        let num = |n: u32, width: usize| {
            if unpadded {
                n.to_string()
            } else {
                format!("{n:0width$}")
            }
        };
        let month = MONTHS[(t.month as usize).saturating_sub(1) % 12];
        let weekday = WEEKDAYS[t.weekday as usize % 7];
        let hour12 = if t.hour.is_multiple_of(12) {
            12
        } else {
            t.hour % 12
        };
        match directive {
            Some('Y') => out.push_str(&t.year.to_string()),
            Some('y') => out.push_str(&num(t.year.rem_euclid(100) as u32, 2)),
            Some('m') => out.push_str(&num(t.month, 2)),
            Some('d') => out.push_str(&num(t.day, 2)),
            Some('e') => out.push_str(&format!("{:>2}", t.day)),
            Some('j') => out.push_str(&num(t.day_of_year, 3)),
            Some('H') => out.push_str(&num(t.hour, 2)),
            Some('I') => out.push_str(&num(hour12, 2)),
            Some('M') => out.push_str(&num(t.minute, 2)),
            Some('S') => out.push_str(&num(t.second, 2)),
            Some('p') => out.push_str(if t.hour < 12 { "AM" } else { "PM" }),
            Some('B') => out.push_str(month),
            Some('b') | Some('h') => out.push_str(&month[..3]),
            Some('A') => out.push_str(weekday),
            Some('a') => out.push_str(&weekday[..3]),
            Some('u') => out.push_str(&(t.weekday + 1).to_string()),
            Some('w') => out.push_str(&((t.weekday + 1) % 7).to_string()),
            Some('Z') => out.push_str("UTC"),
            Some('z') => out.push_str("+0000"),
            Some('F') => out.push_str(&format!("{}-{:02}-{:02}", t.year, t.month, t.day)),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                if unpadded {
                    out.push('-');
                }
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_format_like_python() {
        // 2024-07-26 13:05:09 UTC, a Friday.
        let t = DateTime::from_unix(1_721_999_109);
        assert_eq!(strftime(&t, "%d %b %Y"), "26 Jul 2024");
        assert_eq!(
            strftime(&t, "%A, %B %-d, %Y %H:%M:%S %p"),
            "Friday, July 26, 2024 13:05:09 PM"
        );
        assert_eq!(strftime(&t, "%j %y %I %%"), "208 24 01 %");
        let leap = DateTime::from_unix(951_782_400); // 2000-02-29
        assert_eq!(strftime(&leap, "%Y-%m-%d %a"), "2000-02-29 Tue");
        assert_eq!(DateTime::from_unix(0).weekday, 3);
    }
}
