//! The values options take: addresses, numbers with their bounds, rates,
//! umasks. Each error says what was expected, for the caller to prefix with
//! the option's name.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use log::LevelFilter;
use pocketftp_core::Access;

use crate::rate;
use crate::storage::durable::Durability;
use crate::storage::space::MinFree;

/// `ADDR:PORT`, with the hint people need when it is not: IPv6 addresses
/// go in brackets, a port alone (`2121`, `:2121`) needs an address, and a
/// host name is not taken. Names are refused rather than looked up: a board
/// may start before its network and name service, and an address says
/// which family and interface without a doubt.
pub fn address(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    let why = format!("{value:?} is not ADDR:PORT");
    let (host, port) = match value.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().ok()),
        None => ("", value.parse::<u16>().ok()),
    };
    let Some(port) = port else {
        return Err(why);
    };
    let hint = if host.is_empty() || host == "*" {
        format!("give an address too, 0.0.0.0:{port} (or [::]:{port} for IPv6 and IPv4)")
    } else if host.parse::<std::net::Ipv6Addr>().is_ok() {
        format!("an IPv6 address goes in brackets, [{host}]:{port}")
    } else if host.eq_ignore_ascii_case("localhost") {
        format!("host names are not taken: 127.0.0.1:{port} (or [::1]:{port} for IPv6)")
    } else {
        format!("host names are not taken: give an address of this machine (ip -brief address lists them), or 0.0.0.0:{port} for all of them")
    };
    Err(format!("{why}: {hint}"))
}

/// `true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`, in any case
/// (`write = YES` in a config file works).
pub fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(format!(
            "{value:?} is not true or false (or yes/no, on/off, 1/0)"
        )),
    }
}

pub fn number<T: std::str::FromStr>(value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))
}

pub fn positive<T: std::str::FromStr + Default + PartialEq>(value: &str) -> Result<T, String> {
    let n: T = number(value)?;
    if n == T::default() {
        return Err("must be at least 1".to_owned());
    }
    Ok(n)
}

/// The longest timeout or shutdown grace, in seconds: a day. Longer is of
/// no use, and a huge one overflowed `Instant + Duration`, a panic at the
/// first connection.
const MAX_SECONDS: u64 = 24 * 3600;

/// The longest pause before answering a failed login, in milliseconds.
pub const MAX_LOGIN_DELAY_MS: u64 = 60_000;

/// A duration option given in seconds, at most [`MAX_SECONDS`].
pub fn seconds(n: u64) -> Result<Duration, String> {
    at_most(n, MAX_SECONDS, "seconds (a day)").map(Duration::from_secs)
}

/// The longest `--sweep-foreign-after`, in seconds: a year. No upload
/// runs that long; the bound keeps the clock arithmetic far from overflow.
const MAX_AGE_SECONDS: u64 = 365 * 24 * 3600;

/// An age in seconds (0 allowed), at most [`MAX_AGE_SECONDS`].
pub fn age(value: &str) -> Result<Duration, String> {
    at_most(number(value)?, MAX_AGE_SECONDS, "seconds (a year)").map(Duration::from_secs)
}

/// A pause given in milliseconds, at most `max`.
pub fn milliseconds(value: &str, max: u64) -> Result<Duration, String> {
    at_most(number(value)?, max, "milliseconds").map(Duration::from_millis)
}

fn at_most(n: u64, max: u64, unit: &str) -> Result<u64, String> {
    if n > max {
        return Err(format!("{n} is too long: at most {max} {unit}"));
    }
    Ok(n)
}

/// An octal umask of permission bits only (`022`, `0077`, `7`).
pub fn umask(value: &str) -> Result<u32, String> {
    pocketftp_core::parse_mode(value)
        .ok_or_else(|| format!("{value:?} is not an octal umask of at most 777 (such as 022)"))
}

/// A bandwidth in bytes/s: digits with an optional `K`, `M` or `G`
/// (1024-based, as `10M` means to people who count files); `0` is no limit,
/// so the command line can lift a limit the config file sets.
pub fn rate(value: &str) -> Result<Option<u64>, String> {
    let bad = || format!("{value:?} is not a rate in bytes/s such as 500K, 10M or 1G");
    let (digits, shift) = binary_suffix(value);
    let n: u64 = digits.trim().parse().map_err(|_| bad())?;
    if n == 0 {
        return Ok(None);
    }
    let bytes = n
        .checked_mul(1 << shift)
        .filter(|b| *b <= rate::MAX_RATE)
        .ok_or_else(|| format!("{value:?} is too fast: at most 1024G"))?;
    if bytes < rate::MIN_RATE {
        return Err(format!(
            "{value:?} is too slow: at least 1K (0 for no limit)"
        ));
    }
    Ok(Some(bytes))
}

/// A number's digits and the power of two its `K`, `M`, `G` or `T` (any
/// case, 1024-based) multiplies them by.
fn binary_suffix(value: &str) -> (&str, u32) {
    let shift = match value.as_bytes().last().map(u8::to_ascii_uppercase) {
        Some(b'K') => 10,
        Some(b'M') => 20,
        Some(b'G') => 30,
        Some(b'T') => 40,
        _ => return (value, 0),
    };
    (&value[..value.len() - 1], shift)
}

/// `--min-free`: `0` (off), a size with an optional `K`, `M`, `G` or `T`
/// (1024-based), or a whole percent of the file system (`1%` to `99%`).
pub fn min_free(value: &str) -> Result<MinFree, String> {
    let bad = || format!("{value:?} is not a size such as 200M or 2G, or a percent such as 5%");
    if let Some(digits) = value.strip_suffix('%') {
        return match digits.trim().parse::<u8>() {
            Ok(0) => Ok(MinFree::Off),
            Ok(p @ 1..=99) => Ok(MinFree::Percent(p)),
            _ => Err(bad()),
        };
    }
    match bytes(value) {
        Ok(0) => Ok(MinFree::Off),
        Ok(bytes) => Ok(MinFree::Bytes(bytes)),
        Err(NotASize::Malformed) => Err(bad()),
        Err(too_big) => Err(too_big.words(value)),
    }
}

/// A size in bytes: digits with an optional `K`, `M`, `G` or `T`
/// (1024-based), as `--min-free` and a users file's `quota=` take it.
pub fn size(value: &str) -> Result<u64, String> {
    bytes(value).map_err(|why| why.words(value))
}

/// Why a word is not a size: callers that take other forms too (a
/// percent) word the first case themselves.
enum NotASize {
    Malformed,
    TooBig,
}

impl NotASize {
    fn words(&self, value: &str) -> String {
        match self {
            NotASize::Malformed => format!("{value:?} is not a size such as 200M or 2G"),
            NotASize::TooBig => format!("{value:?} is more than any file system holds"),
        }
    }
}

fn bytes(value: &str) -> Result<u64, NotASize> {
    let (digits, shift) = binary_suffix(value);
    let n: u64 = digits.trim().parse().map_err(|_| NotASize::Malformed)?;
    n.checked_mul(1 << shift).ok_or(NotASize::TooBig)
}

/// `--sync`: `uploads`, `all` or `off`.
pub fn durability(value: &str) -> Result<Durability, String> {
    Durability::parse(value).ok_or_else(|| format!("{value:?} is not uploads, all or off"))
}

/// A rule that is on (`required`, the default) or relaxed (`off`).
pub fn required(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "required" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{value:?} is not required or off")),
    }
}

/// What anonymous sessions may do: `super`, `user` or `upload`.
pub fn role(value: &str) -> Result<Access, String> {
    Access::from_role(value).ok_or_else(|| format!("{value:?} is not super, user or upload"))
}

/// A log level, in any case (`off` too, though `--help` does not offer it).
pub fn log_level(value: &str) -> Result<LevelFilter, String> {
    match value.to_ascii_lowercase().as_str() {
        "off" => Ok(LevelFilter::Off),
        "error" => Ok(LevelFilter::Error),
        "warn" => Ok(LevelFilter::Warn),
        "info" => Ok(LevelFilter::Info),
        "debug" => Ok(LevelFilter::Debug),
        "trace" => Ok(LevelFilter::Trace),
        _ => Err(format!(
            "{value:?} is not one of error, warn, info, debug, trace"
        )),
    }
}

pub fn port_range(value: &str) -> Result<RangeInclusive<u16>, String> {
    let bad = || format!("{value:?} is not LO-HI with 1 <= LO <= HI <= 65535");
    let (lo, hi) = value.split_once('-').ok_or_else(bad)?;
    let (lo, hi): (u16, u16) = (
        lo.trim().parse().map_err(|_| bad())?,
        hi.trim().parse().map_err(|_| bad())?,
    );
    if lo == 0 || lo > hi {
        return Err(bad());
    }
    Ok(lo..=hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::startup::command_line::tests::run;
    use crate::storage::testing::TempDir;

    #[test]
    fn min_free_is_a_size_or_a_percent() {
        let cases = [
            ("0", MinFree::Off),
            ("0%", MinFree::Off),
            ("1%", MinFree::Percent(1)),
            ("99%", MinFree::Percent(99)),
            ("4096", MinFree::Bytes(4096)),
            ("200M", MinFree::Bytes(200 << 20)),
            ("2g", MinFree::Bytes(2 << 30)),
            ("1T", MinFree::Bytes(1 << 40)),
        ];
        for (value, want) in cases {
            assert_eq!(
                run(&["--min-free", value]).unwrap().min_free,
                want,
                "{value}"
            );
        }
        assert_eq!(run(&[]).unwrap().min_free, MinFree::Percent(1));
        for value in ["100%", "-1%", "1.5%", "x", "5X", "", "99999999999T"] {
            let got = run(&["--min-free", value]).unwrap_err();
            assert!(got.starts_with("--min-free: "), "{got}");
        }
        let got = run(&["--min-free", "99999999999T"]).unwrap_err();
        assert!(got.ends_with("is more than any file system holds"), "{got}");
    }

    #[test]
    fn rates_take_1024_based_suffixes() {
        let o = run(&[
            "--max-rate-down",
            "10M",
            "--max-rate-up",
            "512k",
            "--max-rate",
            "1G",
        ])
        .unwrap();
        assert_eq!(o.max_rate_down, Some(10 * 1024 * 1024));
        assert_eq!(o.max_rate_up, Some(512 * 1024));
        assert_eq!(o.max_rate, Some(1024 * 1024 * 1024));
        assert_eq!(run(&["--max-rate", "4096"]).unwrap().max_rate, Some(4096));
        // 0 lifts a limit the config file set.
        let o = run(&["--max-rate-down", "1M", "--max-rate-down", "0"]).unwrap();
        assert_eq!(o.max_rate_down, None);
        assert_eq!(run(&[]).unwrap().max_rate, None);
        let errors = [
            ("10X", "is not a rate in bytes/s"),
            ("M", "is not a rate in bytes/s"),
            ("-1M", "is not a rate in bytes/s"),
            ("1.5M", "is not a rate in bytes/s"),
            ("1000", "is too slow: at least 1K"),
            ("2048G", "is too fast: at most 1024G"),
            ("18446744073709551615K", "is too fast"),
        ];
        for (value, want) in errors {
            let got = run(&["--max-rate-up", value]).unwrap_err();
            assert!(got.starts_with("--max-rate-up: "), "{got}");
            assert!(got.contains(want), "{value}: {got}");
        }
    }

    #[test]
    fn booleans_in_any_case_and_as_digits() {
        for (value, want) in [
            ("YES", true),
            ("Yes", true),
            ("1", true),
            ("ON", true),
            ("True", true),
            ("No", false),
            ("0", false),
            ("OFF", false),
            ("FALSE", false),
        ] {
            assert_eq!(boolean(value), Ok(want), "{value}");
        }
        assert!(boolean("maybe")
            .unwrap_err()
            .contains("is not true or false"));
        let dir = TempDir::new("cli-bool");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(&file, "write = YES\nanonymous = No\n").unwrap();
        let o = run(&["--config", file.to_str().unwrap()]).unwrap();
        assert!(o.anonymous_access == Access::Super && !o.anonymous);
    }

    /// `--tls-session-reuse` and `--tls-close-notify`: required by
    /// default, `off` relaxes them, from the command line or the file.
    #[test]
    fn tls_rules_are_required_or_off() {
        let o = run(&[]).unwrap();
        assert!(o.tls_session_reuse && o.tls_close_notify);
        let o = run(&["--tls-session-reuse", "off", "--tls-close-notify", "OFF"]).unwrap();
        assert!(!o.tls_session_reuse && !o.tls_close_notify);
        let got = run(&["--tls-session-reuse", "no"]).unwrap_err();
        assert!(got.contains("\"no\" is not required or off"), "{got}");
        let dir = TempDir::new("cli-tls-rules");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(
            &file,
            "tls-session-reuse = off\ntls-close-notify = required\n",
        )
        .unwrap();
        let o = run(&["--config", file.to_str().unwrap()]).unwrap();
        assert!(!o.tls_session_reuse && o.tls_close_notify);
    }

    #[test]
    fn umask_is_octal_permission_bits() {
        assert_eq!(run(&[]).unwrap().umask, 0o022);
        for (value, want) in [("077", 0o077), ("0027", 0o027), ("0", 0), ("777", 0o777)] {
            assert_eq!(run(&["--umask", value]).unwrap().umask, want, "{value}");
        }
        for bad in ["999", "1000", "0o22", "-22", "22 ", "", "u=rwx", "00022"] {
            let got = run(&["--umask", bad]).unwrap_err();
            let want = format!("--umask: {bad:?} is not an octal umask of at most 777");
            assert!(got.starts_with(&want), "{bad:?}: {got}");
        }
        let dir = TempDir::new("cli-umask");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(&file, "umask = 077\n").unwrap();
        let path = file.to_str().unwrap();
        assert_eq!(run(&["--config", path]).unwrap().umask, 0o077);
        std::fs::write(&file, "umask = 8\n").unwrap();
        let got = run(&["--config", path]).unwrap_err();
        assert!(
            got.starts_with(&format!("{path}:1: umask: \"8\" is not")),
            "{got}"
        );
    }

    #[test]
    fn durations_are_bounded() {
        let errors = [
            (
                "idle-timeout",
                "18446744073709551615",
                "at most 86400 seconds",
            ),
            ("idle-timeout", "86401", "at most 86400 seconds"),
            ("data-timeout", "86401", "at most 86400 seconds"),
            ("shutdown-grace", "86401", "at most 86400 seconds"),
            ("login-delay", "60001", "at most 60000 milliseconds"),
        ];
        for (name, value, want) in errors {
            let flag = format!("--{name}");
            let got = run(&[&flag, value]).unwrap_err();
            assert!(got.starts_with(&format!("{flag}: ")), "{got}");
            assert!(got.contains(want), "{got}");
        }
        let o = run(&[
            "--idle-timeout",
            "86400",
            "--data-timeout",
            "86400",
            "--shutdown-grace",
            "86400",
            "--login-delay",
            "60000",
        ])
        .unwrap();
        let day = Duration::from_secs(86_400);
        assert_eq!(
            (o.idle_timeout, o.data_timeout, o.shutdown_grace),
            (day, day, day)
        );
        assert_eq!(o.login_delay, Duration::from_secs(60));

        let dir = TempDir::new("cli-bounds");
        let file = dir.0.join("pocketftpd.conf");
        std::fs::write(&file, "idle-timeout = 18446744073709551615\n").unwrap();
        let path = file.to_str().unwrap();
        let got = run(&["--config", path]).unwrap_err();
        assert!(
            got.starts_with(&format!("{path}:1: idle-timeout: ")),
            "{got}"
        );
        assert!(got.contains("at most 86400 seconds"), "{got}");
    }
}
