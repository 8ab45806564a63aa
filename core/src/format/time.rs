//! UTC calendar arithmetic for LIST dates, MDTM/MLST timestamps and MFMT.
//! The core has no clock: every instant here arrives as Unix seconds.

/// English month abbreviations, as `ls -l` and xferlog write them.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A UTC calendar time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CivilTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl CivilTime {
    /// Unix seconds to a UTC date (Howard Hinnant's days-to-civil algorithm,
    /// valid for the whole proleptic Gregorian calendar).
    pub fn from_unix(unix: i64) -> Self {
        let days = unix.div_euclid(86_400);
        let secs = unix.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        CivilTime {
            year: yoe + era * 400 + i64::from(month <= 2),
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }

    /// The inverse of [`from_unix`](Self::from_unix) (days-from-civil).
    pub fn to_unix(self) -> i64 {
        let year = self.year - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let month = i64::from(self.month);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// Parses `YYYYMMDDHHMMSS` with optional `.fraction` (ignored), as MFMT
    /// and MDTM send it. Rejects out-of-range fields.
    pub fn parse(text: &str) -> Option<Self> {
        let digits = text.split_once('.').map_or(text, |(whole, _)| whole);
        if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let field = |range: std::ops::Range<usize>| digits[range].parse::<u32>().ok();
        let t = CivilTime {
            year: i64::from(field(0..4)?),
            month: field(4..6)?,
            day: field(6..8)?,
            hour: field(8..10)?,
            minute: field(10..12)?,
            second: field(12..14)?,
        };
        let valid = (1..=12).contains(&t.month)
            && (1..=31).contains(&t.day)
            && t.hour < 24
            && t.minute < 60
            && t.second < 61;
        // Reject days that do not exist in that month (Feb 30, Apr 31).
        (valid && CivilTime::from_unix(t.to_unix()).day == t.day).then_some(t)
    }

    /// The month as `Jan` ... `Dec`.
    pub fn month_abbr(self) -> &'static str {
        // `month` is 1 to 12 in every CivilTime from_unix or parse makes.
        MONTHS[self.month.clamp(1, 12) as usize - 1]
    }

    /// `YYYYMMDDHHMMSS`.
    pub fn timestamp(self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cases = [
            (0, "19700101000000"),
            (951_782_400, "20000229000000"),
            (1_795_575_600, "20261125030000"),
            (-1, "19691231235959"),
            (4_102_444_799, "20991231235959"),
        ];
        for (unix, stamp) in cases {
            let t = CivilTime::from_unix(unix);
            assert_eq!(t.timestamp(), stamp);
            assert_eq!(t.to_unix(), unix);
            assert_eq!(CivilTime::parse(stamp), Some(t));
        }
    }

    #[test]
    fn month_abbreviations() {
        assert_eq!(CivilTime::from_unix(0).month_abbr(), "Jan");
        assert_eq!(CivilTime::from_unix(951_782_400).month_abbr(), "Feb");
        assert_eq!(CivilTime::from_unix(4_102_444_799).month_abbr(), "Dec");
    }

    #[test]
    fn parse_rejects_nonsense() {
        for bad in [
            "",
            "2026112503000",
            "202611250300000",
            "20261325030000",
            "20260230000000",
            "20261125250000",
            "2026112503000x",
            "+2026112503000",
        ] {
            assert_eq!(CivilTime::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            CivilTime::parse("20261125030000.123").map(|t| t.to_unix()),
            Some(1_795_575_600)
        );
    }
}
