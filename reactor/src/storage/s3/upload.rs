//! A STOR's bytes cut into what S3 takes: the whole file in one PUT when it
//! ends within a part, else a multipart upload of [`PART_SIZE`] parts.
//! The client's size is never known beforehand (FTP has no
//! Content-Length), so the first part decides: full, it becomes part 1.
//!
//! Memory is two parts at most: one on its way to the store, one filling
//! from the client. When both are held, [`Parts::take`] takes nothing and
//! the loop stops reading the data socket until [`Parts::sent`]: TCP's
//! own window then slows the client, as a full disk-write queue would.

use std::io;

/// The bytes of a part: S3's smallest is 5 MiB (all but the last), and 8
/// MiB is what its own tools use. 10,000 parts of it make the largest
/// STOR, 78 GiB; past it the upload fails with "storage full" (552).
pub const PART_SIZE: usize = 8 << 20;

/// S3's most parts in one upload.
pub const MAX_PARTS: u16 = 10_000;

/// What the loop does next with an upload's bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Read more from the client.
    Read,
    /// Send this part (numbered from 1); a multipart upload is created
    /// first if none is.
    Send { number: u16, bytes: Vec<u8> },
    /// Two parts are held: read nothing until the one on its way is sent.
    Wait,
}

/// What the end of the client's bytes leaves to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Finish {
    /// No part was full: the whole file as one PUT.
    Single(Vec<u8>),
    /// Send this last part (if it has bytes) and complete with every ETag.
    Last { number: u16, bytes: Vec<u8> },
}

/// An upload's parts.
#[derive(Debug, Default)]
pub struct Parts {
    filling: Vec<u8>,
    /// A part is on its way to the store.
    in_flight: bool,
    /// The parts handed out so far.
    handed: u16,
    /// The stored parts' ETags, in order (at most [`MAX_PARTS`]).
    etags: Vec<String>,
}

impl Parts {
    /// Takes what fits of `bytes` in the filling part; how many it took
    /// (0 when two parts are held).
    pub fn take(&mut self, bytes: &[u8]) -> usize {
        let room = PART_SIZE - self.filling.len();
        let count = room.min(bytes.len());
        if self.filling.capacity() < PART_SIZE && count > 0 {
            // At once and exactly: grown by doubling, a part could take 12 MiB.
            self.filling.reserve_exact(PART_SIZE - self.filling.len());
        }
        self.filling.extend_from_slice(&bytes[..count]);
        count
    }

    /// What to do now: send the filling part once it is full and nothing
    /// else is on its way.
    pub fn step(&mut self) -> io::Result<Step> {
        if self.filling.len() < PART_SIZE {
            return Ok(Step::Read);
        }
        if self.in_flight {
            return Ok(Step::Wait);
        }
        let number = self.hand_out()?;
        let bytes = std::mem::take(&mut self.filling);
        Ok(Step::Send { number, bytes })
    }

    /// The part on its way was stored as `etag`.
    pub fn sent(&mut self, etag: String) {
        self.in_flight = false;
        self.etags.push(etag);
    }

    /// The client's bytes ended.
    pub fn finish(&mut self) -> io::Result<Finish> {
        let bytes = std::mem::take(&mut self.filling);
        if self.handed == 0 {
            return Ok(Finish::Single(bytes));
        }
        let number = if bytes.is_empty() {
            0
        } else {
            self.hand_out()?
        };
        Ok(Finish::Last { number, bytes })
    }

    /// A full part can be handed out now (none is on its way).
    pub fn can_hand_out(&self) -> bool {
        !self.in_flight
    }

    /// Every stored part's ETag, for CompleteMultipartUpload.
    pub fn etags(&self) -> &[String] {
        &self.etags
    }

    /// Bytes [`take`](Self::take) would take now.
    pub fn room(&self) -> usize {
        PART_SIZE - self.filling.len()
    }

    /// Every part handed out is stored.
    pub fn all_stored(&self) -> bool {
        self.etags.len() == usize::from(self.handed)
    }

    fn hand_out(&mut self) -> io::Result<u16> {
        if self.handed >= MAX_PARTS {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        self.handed += 1;
        self.in_flight = true;
        Ok(self.handed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_file_is_one_put() {
        let mut parts = Parts::default();
        assert_eq!(parts.take(b"hello"), 5);
        assert_eq!(parts.step().unwrap(), Step::Read);
        assert_eq!(parts.finish().unwrap(), Finish::Single(b"hello".to_vec()));
    }

    #[test]
    fn a_large_file_holds_two_parts_at_most() {
        let mut parts = Parts::default();
        let chunk = vec![7u8; PART_SIZE / 2 + 1];
        assert_eq!(parts.take(&chunk), chunk.len());
        assert_eq!(parts.take(&chunk), PART_SIZE - chunk.len());
        let Step::Send { number: 1, bytes } = parts.step().unwrap() else {
            panic!("part 1 goes");
        };
        assert_eq!(bytes.len(), PART_SIZE);
        // Part 1 on its way: part 2 fills, then nothing more is taken.
        assert_eq!(parts.take(&vec![1u8; PART_SIZE]), PART_SIZE);
        assert_eq!(parts.step().unwrap(), Step::Wait);
        assert_eq!(parts.take(b"more"), 0);
        parts.sent("\"e1\"".into());
        assert!(matches!(
            parts.step().unwrap(),
            Step::Send { number: 2, .. }
        ));
        assert_eq!(parts.take(b"tail"), 4);
        parts.sent("\"e2\"".into());
        let end = parts.finish().unwrap();
        assert_eq!(
            end,
            Finish::Last {
                number: 3,
                bytes: b"tail".to_vec()
            }
        );
        parts.sent("\"e3\"".into());
        assert_eq!(parts.etags(), ["\"e1\"", "\"e2\"", "\"e3\""]);
    }

    #[test]
    fn an_exact_multiple_ends_without_an_empty_part() {
        let mut parts = Parts::default();
        parts.take(&vec![0u8; PART_SIZE]);
        assert!(matches!(
            parts.step().unwrap(),
            Step::Send { number: 1, .. }
        ));
        parts.sent("\"e1\"".into());
        let end = parts.finish().unwrap();
        assert_eq!(
            end,
            Finish::Last {
                number: 0,
                bytes: Vec::new()
            }
        );
    }

    #[test]
    fn more_than_the_largest_object_is_storage_full() {
        let mut parts = Parts {
            handed: MAX_PARTS,
            ..Parts::default()
        };
        parts.take(&vec![0u8; PART_SIZE]);
        assert_eq!(parts.step().unwrap_err().kind(), io::ErrorKind::StorageFull);
    }
}
