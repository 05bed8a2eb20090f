//! Moments as people read them: the date and minute on this device's clock, in its
//! time zone (the CLI's listings, the app's backup list).

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// `2026-12-07 09:15 CET` for `ms` milliseconds since 1970 (UTC when the system's
/// zone cannot be read; the raw number when it is out of range).
pub fn local_time_label(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(moment) => moment
            .to_zoned(TimeZone::try_system().unwrap_or(TimeZone::UTC))
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
        Err(_) => format!("{ms} ms after 1970"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_reads_as_its_date_and_minute_in_the_zone() {
        let moment = Timestamp::from_millisecond(1_796_608_500_000).unwrap_or_default();
        let in_utc = moment.to_zoned(TimeZone::UTC).strftime("%Y-%m-%d %H:%M %Z");
        assert_eq!(in_utc.to_string(), "2026-12-07 01:55 UTC");
        let label = local_time_label(1_796_608_500_000);
        assert!(label.starts_with("2026-12-0"), "{label}");
        assert_eq!(
            local_time_label(i64::MAX),
            format!("{} ms after 1970", i64::MAX)
        );
    }
}
