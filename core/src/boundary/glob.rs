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
//!
//! A step must cost O(1) too, whatever the client wrote: a `[...]` class
//! is compiled to a bitmap of its ASCII members and sorted, merged ranges
//! of the others, so a character costs one bit test or a binary search.
//! Compared member by member, `*[!bbb…]b` with 250 members cost ~35 µs a
//! name, and eight sessions listing a 20,000-name folder with it held
//! every other session for 5.6 s (issue 23).

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Token {
    /// This character, exactly.
    Char(char),
    /// `?`: any one character.
    Any,
    /// `*`: any run of characters, the empty one too.
    Star,
    /// `[...]`: one character of the class.
    Class(Class),
}

impl Token {
    /// Whether this token, other than `*`, takes the character `c`, and
    /// the comparisons that took (one, but for a class beyond ASCII).
    fn takes(&self, c: char) -> (bool, usize) {
        match self {
            Token::Char(want) => (*want == c, 1),
            Token::Any => (true, 1),
            Token::Star => (false, 1),
            Token::Class(class) => class.find(c),
        }
    }
}

/// Inclusive ranges of characters; a single character is a range of one.
type Ranges = Vec<(char, char)>;

/// A bracket expression: the characters in (or, `negated` by `!` or `^`,
/// not in) its inclusive ranges; a single character is a range of one.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Class {
    negated: bool,
    /// The ASCII members, a bit each.
    ascii: [u64; 2],
    /// The members beyond ASCII: sorted, disjoint ranges, none touching
    /// the next.
    wide: Ranges,
}

impl Class {
    /// Compiles the ranges as written (`z-a`, backwards, holds nothing).
    fn new(negated: bool, mut ranges: Ranges) -> Class {
        let mut ascii = [0u64; 2];
        for &(lo, hi) in &ranges {
            for c in u32::from(lo)..=u32::from(hi).min(0x7f) {
                ascii[(c / 64) as usize] |= 1 << (c % 64);
            }
        }
        ranges.retain_mut(|(lo, hi)| {
            *lo = (*lo).max('\u{80}');
            lo <= hi
        });
        ranges.sort_unstable();
        let mut wide: Ranges = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match wide.last_mut() {
                Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
                _ => wide.push((lo, hi)),
            }
        }
        Class {
            negated,
            ascii,
            wide,
        }
    }

    /// Whether the class takes `c`, and the comparisons that took: one
    /// bit test for ASCII, a binary search (at most ⌈log₂(n + 1)⌉ range
    /// probes) beyond.
    fn find(&self, c: char) -> (bool, usize) {
        let (member, probes) = if c.is_ascii() {
            let c = u32::from(c);
            (self.ascii[(c / 64) as usize] & (1 << (c % 64)) != 0, 1)
        } else {
            let (mut lo, mut hi, mut probes) = (0, self.wide.len(), 0);
            let mut member = false;
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                probes += 1;
                let (first, last) = self.wide[mid];
                if c < first {
                    hi = mid;
                } else if c > last {
                    lo = mid + 1;
                } else {
                    member = true;
                    break;
                }
            }
            (member, probes.max(1))
        };
        (member != self.negated, probes)
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
                    Some((negated, ranges, used)) => {
                        i += used;
                        Token::Class(Class::new(negated, ranges))
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

    /// [`Self::matches`], and how many steps it took, a step being one
    /// comparison of a character (for the tests that hold it to its bound).
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
                (Some(token), Some(c)) => {
                    let (taken, comparisons) = token.takes(c);
                    steps += comparisons - 1;
                    if taken {
                        p += 1;
                        n += c.len_utf8();
                        continue;
                    }
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
/// start is a member, and so is a `-` first or last). Returns whether it is
/// negated, its ranges as written, and the characters it used, `]`
/// included; `None` if it never closes.
fn parse_class(chars: &[char]) -> Option<(bool, Ranges, usize)> {
    let negated = matches!(chars.first(), Some('!' | '^'));
    let start = usize::from(negated);
    let mut i = start;
    let mut ranges = Vec::new();
    loop {
        let c = *chars.get(i)?;
        if c == ']' && i > start {
            return Some((negated, ranges, i + 1));
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
            // Issue 23's pattern: a class of 250 members costs one step.
            format!("*[!{}]b", "b".repeat(250)),
            format!("*[!{}]b", "a-z".repeat(250)),
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

    /// The class of `[...]` (the pattern is one class).
    fn class(pattern: &str) -> Class {
        match glob(pattern).tokens.as_slice() {
            [Token::Class(class)] => class.clone(),
            other => panic!("{pattern:?} is {other:?}, not one class"),
        }
    }

    /// Membership costs one comparison for ASCII and a binary search
    /// beyond, however many members the class has; and it is what the
    /// member-by-member definition says.
    #[test]
    fn a_class_costs_a_bit_test_or_a_binary_search() {
        // 250 members beyond ASCII, none adjacent (every other character of
        // Cyrillic and Greek and beyond), plus ranges and ASCII members.
        let members: Vec<char> = (0..250u32)
            .filter_map(|i| char::from_u32(0x400 + 2 * i))
            .collect();
        let written: String = members.iter().collect();
        let cases = [
            format!("[!{}]", "b".repeat(250)),
            format!("[{written}]"),
            format!("[!a-z0-9{written}\u{1F600}-\u{1F64F}]"),
            "[z-a\u{3000}-\u{2000}x]".to_owned(),
        ];
        for pattern in &cases {
            let class = class(pattern);
            let chars: Vec<char> = pattern.chars().skip(1).collect();
            let (negated, naive, _) = parse_class(&chars).unwrap();
            let bound = usize::BITS - class.wide.len().leading_zeros(); // ⌈log₂(n + 1)⌉
            let probes = ('\0'..='\u{3000}')
                .chain('\u{1f5ff}'..='\u{1f650}')
                .chain(['\u{10ffff}']);
            let mut worst = 0;
            for c in probes {
                let (member, comparisons) = class.find(c);
                let want = naive.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != negated;
                assert_eq!(member, want, "{pattern:?} ~ {c:?}");
                let most = if c.is_ascii() {
                    1
                } else {
                    bound.max(1) as usize
                };
                assert!(comparisons <= most, "{pattern:?} ~ {c:?}: {comparisons}");
                worst = worst.max(comparisons);
            }
            assert!(worst <= 8, "{pattern:?}: {worst} comparisons");
        }
        assert_eq!(class(&format!("[{written}]")).wide.len(), 250);
        assert_eq!(class("[a-cb-dx-zé-ëê]").wide, [('é', 'ë')]);
    }
}
