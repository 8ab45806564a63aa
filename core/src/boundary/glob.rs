//! Shell-style globs in the last component of a `LIST`, `NLST` or `STAT`
//! path (`*.jpg`, `img_??.png`, `[a-c]*`, `[!.]*`), as vsftpd and pure-ftpd
//! take them: `mget *.jpg` in the classic `ftp` client sends `NLST *.jpg`
//! and expects the server to expand it.
//!
//! Matching is pure (the reactor filters a folder's entries with it as it
//! reads them) and bounded: on a mismatch only the most recent `*` is
//! retried one character further, so a name costs at most
//! O(pattern × name) steps — never the exponential backtracking of a naive
//! recursive matcher (`*a*a*a*a*a*b` against a long run of `a`s). A
//! pattern that needs more characters than the name has fails at once;
//! names are at most 255 bytes on Linux.

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Token {
    /// This character, exactly.
    Char(char),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters, the empty one too.
    Star,
    /// `[...]`: one character in (or, `negated` by `!` or `^`, not in) the
    /// inclusive ranges; a single character is a range of one.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    /// Whether this token, other than `*`, takes the character `c`.
    fn takes(&self, c: char) -> bool {
        match self {
            Token::Char(want) => *want == c,
            Token::Any => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *negated
            }
        }
    }
}

/// A compiled glob pattern for one path component.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Glob {
    text: String,
    tokens: Vec<Token>,
    /// Characters a name needs at least: every token but `*` takes one.
    min_chars: usize,
}

impl Glob {
    /// Compiles `pattern`; `None` when it holds no wildcard (`*`, `?` or a
    /// closed `[...]`), so that a plain name is looked up as it is. An
    /// unclosed `[` is an ordinary character, as in `fnmatch(3)`.
    pub fn new(pattern: &str) -> Option<Glob> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while let Some(&c) = chars.get(i) {
            i += 1;
            let token = match c {
                // `**` is `*`: collapsing keeps the step bound small.
                '*' if tokens.last() == Some(&Token::Star) => continue,
                '*' => Token::Star,
                '?' => Token::Any,
                '[' => match parse_class(&chars[i..]) {
                    Some((class, used)) => {
                        i += used;
                        class
                    }
                    None => Token::Char('['),
                },
                c => Token::Char(c),
            };
            tokens.push(token);
        }
        if tokens.iter().all(|t| matches!(t, Token::Char(_))) {
            return None;
        }
        let min_chars = tokens.iter().filter(|t| **t != Token::Star).count();
        Some(Glob {
            text: pattern.to_owned(),
            tokens,
            min_chars,
        })
    }

    /// The pattern as the client wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `name` (a file name's bytes; invalid UTF-8 is matched as
    /// U+FFFD) matches the whole pattern. Case-sensitive, like the file
    /// system; a leading `.` is not special (listings show dot files too).
    pub fn matches(&self, name: &[u8]) -> bool {
        self.match_counting(name).0
    }

    /// [`Self::matches`], and how many steps it took (for the tests that
    /// hold it to its bound).
    fn match_counting(&self, name: &[u8]) -> (bool, usize) {
        let name = String::from_utf8_lossy(name);
        if name.chars().count() < self.min_chars {
            return (false, 0);
        }
        let name = name.as_ref();
        let next = |at: usize| name[at..].chars().next();
        // Token index, byte offset in the name; and where the last `*`
        // resumes: the token after it, and the offset it has swallowed up to.
        let (mut p, mut n) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        let mut steps = 0;
        loop {
            steps += 1;
            match (self.tokens.get(p), next(n)) {
                (None, None) => return (true, steps),
                (Some(Token::Star), _) => {
                    p += 1;
                    star = Some((p, n));
                    continue;
                }
                (Some(token), Some(c)) if token.takes(c) => {
                    p += 1;
                    n += c.len_utf8();
                    continue;
                }
                _ => {}
            }
            // A mismatch: let the last `*` swallow one more character.
            let Some((after, swallowed)) = star else {
                return (false, steps);
            };
            let Some(c) = next(swallowed) else {
                return (false, steps);
            };
            star = Some((after, swallowed + c.len_utf8()));
            (p, n) = (after, swallowed + c.len_utf8());
        }
    }
}

/// Parses a bracket expression after its `[`: an optional `!` or `^`, then
/// characters and `a-z` ranges up to the closing `]` (a `]` right at the
/// start is a member, and so is a `-` first or last). Returns the class and
/// the characters it used, `]` included; `None` if it never closes.
fn parse_class(chars: &[char]) -> Option<(Token, usize)> {
    let negated = matches!(chars.first(), Some('!' | '^'));
    let start = usize::from(negated);
    let mut i = start;
    let mut ranges = Vec::new();
    loop {
        let c = *chars.get(i)?;
        if c == ']' && i > start {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        match (chars.get(i + 1), chars.get(i + 2)) {
            (Some('-'), Some(&hi)) if hi != ']' => {
                ranges.push((c, hi));
                i += 3;
            }
            _ => {
                ranges.push((c, c));
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(p: &str) -> Glob {
        Glob::new(p).unwrap_or_else(|| panic!("{p:?} is no glob"))
    }

    #[test]
    fn plain_names_are_no_globs() {
        for plain in ["a.txt", "", "[", "a[b", "x]", "[]", "[!]", "ü"] {
            assert_eq!(Glob::new(plain), None, "{plain:?}");
        }
    }

    #[test]
    fn match_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*.jpg", "a.jpg", true),
            ("*.jpg", ".jpg", true),
            ("*.jpg", "a.jpeg", false),
            ("*.jpg", "a.JPG", false),
            ("*", "", true),
            ("*", ".hidden", true),
            ("?", "", false),
            ("?", "ü", true),
            ("??", "ü", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "abcb", false),
            ("a**c", "abc", true),
            ("*a", "bbba", true),
            ("*a", "bbab", false),
            ("[abc]x", "bx", true),
            ("[abc]x", "dx", false),
            ("[a-c]*", "cat", true),
            ("[a-c]*", "dog", false),
            ("[!a-c]*", "dog", true),
            ("[^a-c]*", "cat", false),
            ("[]]", "]", true),
            ("[!]]", "]", false),
            ("[!]]", "a", true),
            ("[a-]", "-", true),
            ("[-a]", "-", true),
            ("[z-a]", "m", false),
            ("[[]*", "[x", true),
            ("a[*", "a[bc", true),
            ("img_??.png", "img_01.png", true),
            ("img_??.png", "img_1.png", false),
            ("*[0-9]", "file7", true),
            ("*[0-9]", "file", false),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(
                glob(pattern).matches(name.as_bytes()),
                *want,
                "{pattern:?} ~ {name:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_names_match_as_replacement_characters() {
        assert!(glob("a?b").matches(b"a\xffb"));
        assert!(!glob("a?b").matches(b"a\xff\xffb"));
        assert!(glob("*").matches(b"\xc3"));
    }

    /// The pathological patterns of naive matchers stay within
    /// O(pattern × name) steps.
    #[test]
    fn pathological_patterns_are_bounded() {
        let long = "a".repeat(255);
        let cases = [
            "*a*a*a*a*a*b".to_owned(),
            "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b".to_owned(),
            format!("*{}b", "a".repeat(100)),
            format!("{}*b", "?".repeat(200)),
            "*[ab]*[ab]*[ab]*[ab]*[ab]*c".to_owned(),
        ];
        for pattern in cases {
            let g = glob(&pattern);
            let (matched, steps) = g.match_counting(long.as_bytes());
            assert!(!matched, "{pattern}");
            let bound = (g.tokens.len() + 1) * (long.len() + 1) + 1;
            assert!(steps <= bound, "{pattern}: {steps} steps, bound {bound}");
        }
        // A pattern that needs more characters than the name has costs nothing.
        let needy = glob(&format!("*{}", "?".repeat(300)));
        assert_eq!(needy.match_counting(long.as_bytes()), (false, 0));
    }
}
