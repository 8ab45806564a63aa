//! Parsing one control line (CRLF and TELNET bytes already removed) into a
//! [`Command`]. Arguments borrow from the line; nothing is allocated.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::format::time::CivilTime;

/// Representation type of file transfers (`TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferType {
    /// `TYPE A`: LF in files is CRLF on the wire.
    Ascii,
    /// `TYPE I` or `TYPE L 8`: bytes as they are.
    Binary,
}

/// Address family named by `EPSV 1` / `EPSV 2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    V4,
    V6,
}

/// The argument of `EPSV`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EpsvArg {
    /// `EPSV`: any family, the control connection's.
    Any,
    /// `EPSV ALL`: only EPSV from now on.
    All,
    /// `EPSV 1` / `EPSV 2`.
    Only(Family),
}

/// A parsed command. Path arguments are raw (not yet normalised).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    User(&'a str),
    Pass(&'a str),
    Quit,
    Port(SocketAddr),
    Eprt(SocketAddr),
    Pasv,
    Epsv(EpsvArg),
    Type(TransferType),
    /// `MODE S`, the only mode there is.
    ModeStream,
    /// `STRU F`, the only structure there is.
    StruFile,
    Retr(&'a str),
    Stor(&'a str),
    Appe(&'a str),
    Stou,
    Rest(u64),
    Abor,
    Size(&'a str),
    Mdtm(&'a str),
    /// MFMT: new modification time (Unix seconds) and path.
    Mfmt(i64, &'a str),
    List(Option<&'a str>),
    Nlst(Option<&'a str>),
    Mlsd(Option<&'a str>),
    Mlst(Option<&'a str>),
    Cwd(&'a str),
    Cdup,
    Pwd,
    Mkd(&'a str),
    Rmd(&'a str),
    Dele(&'a str),
    Rnfr(&'a str),
    Rnto(&'a str),
    Syst,
    Feat,
    /// `OPTS UTF8 ON` (and plain `OPTS UTF8`).
    OptsUtf8,
    /// `OPTS MLST facts`: we always send every fact, which RFC 3659 allows.
    OptsMlst,
    Help,
    Stat(Option<&'a str>),
    Noop,
    Allo,
    /// `AUTH TLS` (or `SSL`, `TLS-C`): true; another mechanism: false.
    Auth(bool),
    /// `PBSZ n`: the protection buffer size, always 0 for TLS.
    Pbsz,
    /// `PROT` with its level.
    Prot(ProtectionLevel),
    /// `SITE CHMOD MODE PATH`: permission bits (at most `0o777`) and path.
    SiteChmod(u32, &'a str),
    /// `SITE HELP`.
    SiteHelp,
    /// `SITE QUOTA`: the account's use of its quota.
    SiteQuota,
}

/// The data channel protection level of `PROT` (RFC 2228, 4217).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProtectionLevel {
    /// `C`: data in clear.
    Clear,
    /// `P`: data over TLS.
    Private,
    /// `S` or `E`: not available with TLS.
    Unsupported,
}

/// Why a line is not a command we can carry out; each maps to one reply code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// `500`: no such command.
    Unknown,
    /// `501`: the arguments are wrong.
    Syntax(&'static str),
    /// `502`: a known command this server does not implement.
    NotImplemented,
    /// `504`: a parameter value this server does not support.
    Unsupported(&'static str),
    /// `522`: EPRT/EPSV with a network protocol other than 1 or 2.
    Protocol,
}

impl<'a> Command<'a> {
    /// The path a command names, if it names one.
    pub(crate) fn path_arg(&self) -> Option<&'a str> {
        use Command as C;
        match *self {
            C::Retr(p) | C::Stor(p) | C::Appe(p) | C::Size(p) | C::Mdtm(p) | C::Mfmt(_, p) => {
                Some(p)
            }
            C::Cwd(p) | C::Mkd(p) | C::Rmd(p) | C::Dele(p) | C::Rnfr(p) | C::Rnto(p) => Some(p),
            C::SiteChmod(_, p) => Some(p),
            C::List(p) | C::Nlst(p) | C::Mlsd(p) | C::Mlst(p) | C::Stat(p) => p,
            _ => None,
        }
    }

    /// Commands allowed before login (PROTOCOL.md "Sessions").
    pub(crate) fn allowed_before_login(&self) -> bool {
        matches!(
            self,
            Command::User(_)
                | Command::Pass(_)
                | Command::Quit
                | Command::Feat
                | Command::Syst
                | Command::Help
                | Command::Noop
                | Command::OptsUtf8
                | Command::OptsMlst
                | Command::Auth(_)
                | Command::Pbsz
                | Command::Prot(_)
        )
    }
}

/// Commands we know of but do not implement (`502`).
const NOT_IMPLEMENTED: &[&[u8]] = &[
    b"ACCT", b"ADAT", b"CCC", b"CONF", b"ENC", b"HOST", b"LANG", b"MIC", b"REIN", b"SMNT", b"XRSQ",
    b"XSEM", b"XSEN",
];

/// Parses one line without its CRLF.
pub(crate) fn parse(line: &[u8]) -> Result<Command<'_>, ParseError> {
    let (verb, arg) = match memchr::memchr(b' ', line) {
        Some(i) => (&line[..i], &line[i + 1..]),
        None => (line, &b""[..]),
    };
    if verb.is_empty() || verb.len() > 4 {
        return Err(ParseError::Unknown);
    }
    let mut upper = [0u8; 4];
    upper[..verb.len()].copy_from_slice(verb);
    upper.make_ascii_uppercase();
    let verb = &upper[..verb.len()];
    let arg =
        std::str::from_utf8(arg).map_err(|_| ParseError::Syntax("Arguments must be UTF-8."))?;

    use Command as C;
    let command = match verb {
        b"USER" => C::User(required(arg)?),
        b"PASS" => C::Pass(arg),
        b"QUIT" => none(arg, C::Quit)?,
        b"PORT" => C::Port(parse_port(arg)?),
        b"EPRT" => C::Eprt(parse_eprt(arg)?),
        b"PASV" => none(arg, C::Pasv)?,
        b"EPSV" => C::Epsv(parse_epsv(arg)?),
        b"TYPE" => C::Type(parse_type(arg)?),
        b"MODE" => one_of(arg, "S", C::ModeStream)?,
        b"STRU" => one_of(arg, "F", C::StruFile)?,
        b"RETR" => C::Retr(required(arg)?),
        b"STOR" => C::Stor(required(arg)?),
        b"APPE" => C::Appe(required(arg)?),
        b"STOU" => C::Stou,
        b"REST" => C::Rest(
            arg.trim()
                .parse()
                .map_err(|_| ParseError::Syntax("REST needs a byte offset."))?,
        ),
        b"ABOR" => none(arg, C::Abor)?,
        b"SIZE" => C::Size(required(arg)?),
        b"MDTM" => C::Mdtm(required(arg)?),
        b"MFMT" => parse_mfmt(arg)?,
        b"LIST" => C::List(list_target(arg)),
        b"NLST" => C::Nlst(list_target(arg)),
        b"MLSD" => C::Mlsd(optional(arg)),
        b"MLST" => C::Mlst(optional(arg)),
        b"CWD" | b"XCWD" => C::Cwd(required(arg)?),
        b"CDUP" | b"XCUP" => C::Cdup,
        b"PWD" | b"XPWD" => C::Pwd,
        b"MKD" | b"XMKD" => C::Mkd(required(arg)?),
        b"RMD" | b"XRMD" => C::Rmd(required(arg)?),
        b"DELE" => C::Dele(required(arg)?),
        b"RNFR" => C::Rnfr(required(arg)?),
        b"RNTO" => C::Rnto(required(arg)?),
        b"SYST" => C::Syst,
        b"FEAT" => C::Feat,
        b"OPTS" => parse_opts(arg)?,
        b"HELP" => C::Help,
        b"STAT" => C::Stat(optional(arg)),
        b"NOOP" => C::Noop,
        b"ALLO" => C::Allo,
        b"AUTH" => C::Auth(matches!(
            required(arg)?.to_ascii_uppercase().as_str(),
            "TLS" | "SSL" | "TLS-C"
        )),
        b"PBSZ" => match required(arg)?.parse::<u32>() {
            Ok(_) => C::Pbsz,
            Err(_) => return Err(ParseError::Syntax("PBSZ needs a number.")),
        },
        b"PROT" => C::Prot(match required(arg)?.to_ascii_uppercase().as_str() {
            "C" => ProtectionLevel::Clear,
            "P" => ProtectionLevel::Private,
            "S" | "E" => ProtectionLevel::Unsupported,
            _ => return Err(ParseError::Unsupported("PROT takes C or P.")),
        }),
        b"SITE" => parse_site(arg)?,
        other if NOT_IMPLEMENTED.contains(&other) => return Err(ParseError::NotImplemented),
        _ => return Err(ParseError::Unknown),
    };
    Ok(command)
}

fn required(arg: &str) -> Result<&str, ParseError> {
    if arg.is_empty() {
        Err(ParseError::Syntax("This command needs an argument."))
    } else {
        Ok(arg)
    }
}

fn optional(arg: &str) -> Option<&str> {
    (!arg.is_empty()).then_some(arg)
}

fn none<'a>(arg: &str, command: Command<'a>) -> Result<Command<'a>, ParseError> {
    if arg.trim().is_empty() {
        Ok(command)
    } else {
        Err(ParseError::Syntax("This command takes no argument."))
    }
}

/// For MODE and STRU: exactly one supported value.
fn one_of<'a>(arg: &str, supported: &str, command: Command<'a>) -> Result<Command<'a>, ParseError> {
    match arg.trim() {
        "" => Err(ParseError::Syntax("This command needs an argument.")),
        value if value.eq_ignore_ascii_case(supported) => Ok(command),
        value if value.len() == 1 => Err(ParseError::Unsupported("Only the default is supported.")),
        _ => Err(ParseError::Syntax("Unrecognised value.")),
    }
}

/// LIST and NLST: `ls`-style options (`-a`, `-la`, ...) come before the path
/// and are ignored; what is left, if anything, is the path.
fn list_target(arg: &str) -> Option<&str> {
    let mut rest = arg.trim_start();
    while rest.starts_with('-') {
        match rest.split_once(' ') {
            Some((_, tail)) => rest = tail.trim_start(),
            None => rest = "",
        }
    }
    optional(rest)
}

fn parse_type(arg: &str) -> Result<TransferType, ParseError> {
    let mut words = arg.split_ascii_whitespace();
    let kind = words.next().unwrap_or("");
    let format = words.next();
    if words.next().is_some() {
        return Err(ParseError::Syntax("Unrecognised TYPE."));
    }
    let upper = |s: &str| s.to_ascii_uppercase();
    match (upper(kind).as_str(), format.map(upper).as_deref()) {
        ("A", None | Some("N")) => Ok(TransferType::Ascii),
        ("I", None) | ("L", Some("8")) | ("L8", None) => Ok(TransferType::Binary),
        ("A" | "E", Some("T" | "C")) | ("E", None | Some("N")) | ("L", Some(_)) => Err(
            ParseError::Unsupported("Only TYPE A, I and L 8 are supported."),
        ),
        _ => Err(ParseError::Syntax("Unrecognised TYPE.")),
    }
}

const BAD_PORT: ParseError = ParseError::Syntax("PORT needs h1,h2,h3,h4,p1,p2.");

fn parse_port(arg: &str) -> Result<SocketAddr, ParseError> {
    let mut bytes = [0u8; 6];
    let mut fields = arg.trim().split(',');
    for byte in &mut bytes {
        let field = fields.next().ok_or(BAD_PORT)?;
        *byte = parse_decimal(field).ok_or(BAD_PORT)?;
    }
    if fields.next().is_some() {
        return Err(BAD_PORT);
    }
    let ip = Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]);
    let port = u16::from_be_bytes([bytes[4], bytes[5]]);
    Ok(SocketAddr::new(IpAddr::V4(ip), port))
}

/// A decimal number of at most a few digits, without sign or spaces.
fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

const BAD_EPRT: ParseError = ParseError::Syntax("EPRT needs |proto|address|port|.");

/// `EPRT |1|132.235.1.2|6275|` or `EPRT |2|::1|6275|` (RFC 2428); the
/// delimiter is whatever the first character is.
fn parse_eprt(arg: &str) -> Result<SocketAddr, ParseError> {
    let arg = arg.trim();
    let delimiter = arg.chars().next().ok_or(BAD_EPRT)?;
    if !delimiter.is_ascii_graphic() || delimiter.is_ascii_alphanumeric() {
        return Err(BAD_EPRT);
    }
    let fields: Vec<&str> = arg.split(delimiter).collect();
    let ["", protocol, address, port, ""] = fields[..] else {
        return Err(BAD_EPRT);
    };
    let ip = match protocol {
        "1" => IpAddr::V4(address.parse::<Ipv4Addr>().map_err(|_| BAD_EPRT)?),
        "2" => IpAddr::V6(address.parse::<Ipv6Addr>().map_err(|_| BAD_EPRT)?),
        p if parse_decimal::<u32>(p).is_some() => return Err(ParseError::Protocol),
        _ => return Err(BAD_EPRT),
    };
    let port: u16 = parse_decimal(port).ok_or(BAD_EPRT)?;
    Ok(SocketAddr::new(ip, port))
}

fn parse_epsv(arg: &str) -> Result<EpsvArg, ParseError> {
    match arg.trim() {
        "" => Ok(EpsvArg::Any),
        a if a.eq_ignore_ascii_case("ALL") => Ok(EpsvArg::All),
        "1" => Ok(EpsvArg::Only(Family::V4)),
        "2" => Ok(EpsvArg::Only(Family::V6)),
        a if parse_decimal::<u32>(a).is_some() => Err(ParseError::Protocol),
        _ => Err(ParseError::Syntax("EPSV takes ALL, 1 or 2.")),
    }
}

fn parse_mfmt(arg: &str) -> Result<Command<'_>, ParseError> {
    const BAD: ParseError = ParseError::Syntax("MFMT needs YYYYMMDDHHMMSS and a path.");
    let (stamp, path) = arg.split_once(' ').ok_or(BAD)?;
    let time = CivilTime::parse(stamp).ok_or(BAD)?;
    Ok(Command::Mfmt(time.to_unix(), required(path)?))
}

/// `SITE CHMOD MODE PATH`, `SITE HELP` and `SITE QUOTA`; other `SITE` commands are
/// known but not implemented (`502`).
fn parse_site(arg: &str) -> Result<Command<'_>, ParseError> {
    const BAD_CHMOD: ParseError =
        ParseError::Syntax("SITE CHMOD needs an octal mode of at most 777 and a path.");
    let arg = arg.trim_start();
    let (verb, rest) = arg.split_once(' ').unwrap_or((arg, ""));
    if verb.is_empty() {
        Err(ParseError::Syntax("SITE needs a command (see SITE HELP)."))
    } else if verb.eq_ignore_ascii_case("HELP") {
        Ok(Command::SiteHelp)
    } else if verb.eq_ignore_ascii_case("QUOTA") {
        Ok(Command::SiteQuota)
    } else if verb.eq_ignore_ascii_case("CHMOD") {
        let (mode, path) = rest.trim_start().split_once(' ').ok_or(BAD_CHMOD)?;
        let mode = parse_mode(mode).ok_or(BAD_CHMOD)?;
        Ok(Command::SiteChmod(
            mode,
            required(path).map_err(|_| BAD_CHMOD)?,
        ))
    } else {
        Err(ParseError::NotImplemented)
    }
}

/// Permission bits in octal (`644`, `0755`): at most four digits and
/// `0o777`. Set-id and sticky bits, and symbolic modes (`u+x`), are refused.
/// SITE CHMOD's modes, and the daemon's `--umask`.
pub fn parse_mode(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(s, 8).ok().filter(|mode| *mode <= 0o777)
}

fn parse_opts(arg: &str) -> Result<Command<'_>, ParseError> {
    let (option, value) = arg.trim().split_once(' ').unwrap_or((arg.trim(), ""));
    if option.eq_ignore_ascii_case("UTF8") && (value.is_empty() || value.eq_ignore_ascii_case("ON"))
    {
        Ok(Command::OptsUtf8)
    } else if option.eq_ignore_ascii_case("MLST") {
        Ok(Command::OptsMlst)
    } else {
        Err(ParseError::Syntax("Option not understood."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Command as C;
    use ParseError as E;

    const BAD_CHMOD: ParseError =
        E::Syntax("SITE CHMOD needs an octal mode of at most 777 and a path.");

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(a)), port)
    }

    #[test]
    fn valid_commands() {
        let cases: &[(&[u8], Command)] = &[
            (b"USER anonymous", C::User("anonymous")),
            (b"user Bob", C::User("Bob")),
            (b"PASS ", C::Pass("")),
            (b"PASS", C::Pass("")),
            (b"PASS a b ", C::Pass("a b ")),
            (b"QUIT", C::Quit),
            (b"PORT 127,0,0,1,4,1", C::Port(v4([127, 0, 0, 1], 1025))),
            (
                b"EPRT |1|127.0.0.1|6275|",
                C::Eprt(v4([127, 0, 0, 1], 6275)),
            ),
            (b"EPRT !2!::1!6275!", C::Eprt("[::1]:6275".parse().unwrap())),
            (b"PASV", C::Pasv),
            (b"EPSV", C::Epsv(EpsvArg::Any)),
            (b"EPSV all", C::Epsv(EpsvArg::All)),
            (b"EPSV 2", C::Epsv(EpsvArg::Only(Family::V6))),
            (b"TYPE A", C::Type(TransferType::Ascii)),
            (b"TYPE A N", C::Type(TransferType::Ascii)),
            (b"type i", C::Type(TransferType::Binary)),
            (b"TYPE L 8", C::Type(TransferType::Binary)),
            (b"MODE S", C::ModeStream),
            (b"STRU f", C::StruFile),
            (b"RETR a b.txt", C::Retr("a b.txt")),
            (b"STOR \xc3\xbc", C::Stor("\u{fc}")),
            (b"APPE x", C::Appe("x")),
            (b"STOU", C::Stou),
            (b"REST 100", C::Rest(100)),
            (b"REST 18446744073709551615", C::Rest(u64::MAX)),
            (b"ABOR", C::Abor),
            (b"SIZE f", C::Size("f")),
            (b"MDTM f", C::Mdtm("f")),
            (b"MFMT 20261125030000 a b", C::Mfmt(1_795_575_600, "a b")),
            (b"LIST", C::List(None)),
            (b"LIST -a", C::List(None)),
            (b"LIST -la sub dir", C::List(Some("sub dir"))),
            (b"LIST -l -a x", C::List(Some("x"))),
            (b"NLST x", C::Nlst(Some("x"))),
            (b"MLSD", C::Mlsd(None)),
            (b"MLST x", C::Mlst(Some("x"))),
            (b"CWD /", C::Cwd("/")),
            (b"XCWD a", C::Cwd("a")),
            (b"CDUP", C::Cdup),
            (b"XCUP", C::Cdup),
            (b"PWD", C::Pwd),
            (b"XPWD", C::Pwd),
            (b"MKD d", C::Mkd("d")),
            (b"XMKD d", C::Mkd("d")),
            (b"RMD d", C::Rmd("d")),
            (b"XRMD d", C::Rmd("d")),
            (b"DELE f", C::Dele("f")),
            (b"RNFR a", C::Rnfr("a")),
            (b"RNTO b", C::Rnto("b")),
            (b"SYST", C::Syst),
            (b"FEAT", C::Feat),
            (b"OPTS UTF8 ON", C::OptsUtf8),
            (b"opts utf8", C::OptsUtf8),
            (b"OPTS MLST type;size;", C::OptsMlst),
            (b"HELP", C::Help),
            (b"HELP RETR", C::Help),
            (b"STAT", C::Stat(None)),
            (b"STAT /x", C::Stat(Some("/x"))),
            (b"NOOP", C::Noop),
            (b"ALLO 100", C::Allo),
            (b"AUTH TLS", C::Auth(true)),
            (b"auth ssl", C::Auth(true)),
            (b"AUTH TLS-C", C::Auth(true)),
            (b"AUTH KERBEROS", C::Auth(false)),
            (b"PBSZ 0", C::Pbsz),
            (b"PBSZ 16384", C::Pbsz),
            (b"PROT P", C::Prot(ProtectionLevel::Private)),
            (b"prot c", C::Prot(ProtectionLevel::Clear)),
            (b"PROT S", C::Prot(ProtectionLevel::Unsupported)),
            (b"PROT E", C::Prot(ProtectionLevel::Unsupported)),
            (b"SITE CHMOD 644 a b", C::SiteChmod(0o644, "a b")),
            (b"site chmod 0755 /d", C::SiteChmod(0o755, "/d")),
            (b"SITE  CHMOD  0 x", C::SiteChmod(0, "x")),
            (b"SITE HELP", C::SiteHelp),
            (b"site quota", C::SiteQuota),
            (b"site help chmod", C::SiteHelp),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse(line),
                Ok(*want),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn malformed_and_edge_cases() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"", E::Unknown),
            (b" USER x", E::Unknown),
            (b"FOOBAR", E::Unknown),
            (b"XYZ", E::Unknown),
            (b"USER", E::Syntax("This command needs an argument.")),
            (b"RETR", E::Syntax("This command needs an argument.")),
            (b"RETR \xff", E::Syntax("Arguments must be UTF-8.")),
            (b"QUIT now", E::Syntax("This command takes no argument.")),
            (b"PORT 1,2,3,4,5", BAD_PORT),
            (b"PORT 1,2,3,4,5,6,7", BAD_PORT),
            (b"PORT 256,0,0,1,4,1", BAD_PORT),
            (b"PORT 1,2,3,4,5,-6", BAD_PORT),
            (b"PORT a,b,c,d,e,f", BAD_PORT),
            (b"PORT", BAD_PORT),
            (b"EPRT |3|1.2.3.4|5|", E::Protocol),
            (b"EPRT |1|::1|5|", BAD_EPRT),
            (b"EPRT |1|1.2.3.4|70000|", BAD_EPRT),
            (b"EPRT |1|1.2.3.4|5", BAD_EPRT),
            (b"EPRT a1a1.2.3.4a5a", BAD_EPRT),
            (b"EPRT", BAD_EPRT),
            (b"EPSV 3", E::Protocol),
            (b"EPSV x", E::Syntax("EPSV takes ALL, 1 or 2.")),
            (b"TYPE X", E::Syntax("Unrecognised TYPE.")),
            (
                b"TYPE E",
                E::Unsupported("Only TYPE A, I and L 8 are supported."),
            ),
            (
                b"TYPE L 7",
                E::Unsupported("Only TYPE A, I and L 8 are supported."),
            ),
            (b"TYPE", E::Syntax("Unrecognised TYPE.")),
            (b"MODE B", E::Unsupported("Only the default is supported.")),
            (b"STRU R", E::Unsupported("Only the default is supported.")),
            (b"MODE", E::Syntax("This command needs an argument.")),
            (b"REST abc", E::Syntax("REST needs a byte offset.")),
            (b"REST -1", E::Syntax("REST needs a byte offset.")),
            (
                b"REST 18446744073709551616",
                E::Syntax("REST needs a byte offset."),
            ),
            (
                b"MFMT 2026 x",
                E::Syntax("MFMT needs YYYYMMDDHHMMSS and a path."),
            ),
            (b"OPTS FOO", E::Syntax("Option not understood.")),
            (b"OPTS UTF8 OFF", E::Syntax("Option not understood.")),
            (b"AUTH", E::Syntax("This command needs an argument.")),
            (b"PBSZ x", E::Syntax("PBSZ needs a number.")),
            (b"PROT X", E::Unsupported("PROT takes C or P.")),
            (b"CCC", E::NotImplemented),
            (b"SITE UMASK 022", E::NotImplemented),
            (b"SITE EXEC rm", E::NotImplemented),
            (b"SITE", E::Syntax("SITE needs a command (see SITE HELP).")),
            (b"SITE CHMOD 1777 x", BAD_CHMOD),
            (b"SITE CHMOD 4755 x", BAD_CHMOD),
            (b"SITE CHMOD 00644 x", BAD_CHMOD),
            (b"SITE CHMOD 8 x", BAD_CHMOD),
            (b"SITE CHMOD u+x x", BAD_CHMOD),
            (b"SITE CHMOD -644 x", BAD_CHMOD),
            (b"SITE CHMOD 99999999999999999999 x", BAD_CHMOD),
            (b"SITE CHMOD 644", BAD_CHMOD),
            (b"SITE CHMOD 644 ", BAD_CHMOD),
        ];
        for (line, want) in cases {
            assert_eq!(
                parse(line),
                Err(*want),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn login_gate() {
        assert!(parse(b"FEAT").unwrap().allowed_before_login());
        assert!(parse(b"OPTS UTF8 ON").unwrap().allowed_before_login());
        assert!(!parse(b"RETR x").unwrap().allowed_before_login());
        assert!(!parse(b"PASV").unwrap().allowed_before_login());
    }
}
