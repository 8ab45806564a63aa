//! Argon2 hashes, made and checked in memory of their own.
//!
//! An argon2id check with the default parameters (m = 19 MiB) needs 19 MiB
//! of blocks. `argon2`'s own `verify_password` allocates them with the
//! global allocator and frees them afterwards; glibc served the first from
//! a fresh mapping, and, once that was freed, raised its mapping threshold
//! past 19 MiB, so every later block came from the checking thread's arena,
//! which kept it: ~19.5 MiB more resident memory a login, 217 MB after
//! eleven (issue 24), on boards with 512 MB.
//!
//! So each computation maps its blocks itself ([`Blocks`], an anonymous
//! `mmap`) and unmaps them when it ends, whatever the allocator would do:
//! between logins the daemon holds none of it. The other way, one block
//! kept for every check, would cost 19 MiB for good after the first login
//! (and more after a hash with a higher cost), for a few seconds of use a
//! day; the mapping costs the kernel zeroing 19 MiB of pages per check,
//! a few milliseconds beside argon2's ~70 ms here (a second or two on a
//! Pi Zero). A hash may ask for [`MAX_MEMORY_KIB`] at most.

use std::io;
use std::ptr::NonNull;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The most memory a hash in the users file may ask for per check, in KiB
/// (argon2's `m`): 256 MiB, thirteen times the default, and what a board
/// can spare for a moment; a larger one is refused when the file is read.
pub const MAX_MEMORY_KIB: u32 = 256 * 1024;

/// Argon2's working memory for one computation: an anonymous mapping,
/// zero-filled by the kernel, unmapped when dropped.
struct Blocks {
    start: NonNull<Block>,
    count: usize,
}

// A `Block` is 1 KiB of `u64`s (all-zero is a valid one) aligned to 64
// bytes: a page-aligned zeroed mapping holds whole, valid blocks.
const _: () =
    assert!(std::mem::size_of::<Block>() == Block::SIZE && std::mem::align_of::<Block>() <= 4096);

impl Blocks {
    fn map(count: usize) -> io::Result<Blocks> {
        let len = count
            .checked_mul(Block::SIZE)
            .filter(|len| *len > 0)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a new private anonymous mapping; nothing else refers to it.
        let start = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if start == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let start = NonNull::new(start.cast()).ok_or_else(io::Error::last_os_error)?;
        Ok(Blocks { start, count })
    }
}

impl AsMut<[Block]> for Blocks {
    fn as_mut(&mut self) -> &mut [Block] {
        // SAFETY: `count` zeroed, page-aligned blocks, mapped until `drop`
        // and borrowed through `&mut self` only.
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.count) }
    }
}

impl Drop for Blocks {
    fn drop(&mut self) {
        // SAFETY: the mapping `map` made, of this length, unused from now on.
        unsafe { libc::munmap(self.start.as_ptr().cast(), self.count * Block::SIZE) };
    }
}

/// The computation a PHC string describes: its algorithm, version and
/// parameters; an error for anything else or a cost over [`MAX_MEMORY_KIB`].
fn context(hash: &PasswordHash) -> Result<Argon2<'static>, String> {
    let algorithm = Algorithm::try_from(hash.algorithm).map_err(|e| e.to_string())?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).map_err(|e| e.to_string())?,
        None => Version::default(),
    };
    let params = Params::try_from(hash).map_err(|e| e.to_string())?;
    if params.m_cost() > MAX_MEMORY_KIB {
        return Err(format!(
            "it asks for {} KiB of memory per check, at most {MAX_MEMORY_KIB}",
            params.m_cost()
        ));
    }
    Ok(Argon2::new(algorithm, version, params))
}

/// Whether `hash` is a PHC string this daemon can check (see [`context`]).
pub fn check_usable(hash: &PasswordHash) -> Result<(), String> {
    context(hash).map(drop)
}

/// Argon2 of `password` and `salt` into `out`, in blocks mapped for it.
fn compute(argon2: &Argon2, password: &[u8], salt: &[u8], out: &mut [u8]) -> io::Result<()> {
    let mut blocks = Blocks::map(argon2.params().block_count())?;
    argon2
        .hash_password_into_with_memory(password, salt, out, &mut blocks)
        .map_err(io::Error::other)
}

/// Whether `password` is the one `hash` was made from (the comparison takes
/// the same time however much of it matches).
pub fn verify(hash: &PasswordHash, password: &[u8]) -> bool {
    let (Ok(argon2), Some(salt), Some(expected)) = (context(hash), hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = [0u8; Output::MAX_LENGTH];
    let out = &mut out[..expected.len()];
    compute(&argon2, password, salt, out).is_ok() && Output::new(out).is_ok_and(|o| o == expected)
}

/// Hashes a password with argon2id, the default parameters and a random
/// salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    let argon2 = Argon2::default();
    let why = |e: &dyn std::fmt::Display| format!("cannot hash the password: {e}");
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| why(&e))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(&argon2, password.as_bytes(), salt_raw, &mut out).map_err(|e| why(&e))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| why(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| why(&e))?),
    };
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    /// Ours and argon2's own agree both ways: a hash of ours verifies with
    /// the crate's verifier and the reverse, for every argon2 variant.
    #[test]
    fn hashes_agree_with_the_argon2_crate() {
        let ours = hash_password("pw").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
        assert!(verify(&parsed, b"pw") && !verify(&parsed, b"pW") && !verify(&parsed, b""));
        let salt = SaltString::generate(&mut OsRng);
        for algorithm in [Algorithm::Argon2id, Algorithm::Argon2i, Algorithm::Argon2d] {
            let params = Params::new(64, 1, 2, Some(40)).unwrap();
            let theirs = Argon2::new(algorithm, Version::V0x10, params)
                .hash_password(b"secret", &salt)
                .unwrap();
            assert!(verify(&theirs, b"secret"), "{theirs}");
            assert!(!verify(&theirs, b"Secret"), "{theirs}");
        }
    }

    #[test]
    fn costs_beyond_the_cap_and_strangers_are_refused() {
        let huge = format!(
            "$argon2id$v=19$m={},t=1,p=1$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA",
            MAX_MEMORY_KIB + 1
        );
        let why = check_usable(&PasswordHash::new(&huge).unwrap()).unwrap_err();
        assert!(why.contains("KiB of memory"), "{why}");
        assert!(!verify(&PasswordHash::new(&huge).unwrap(), b"x"));
        let scrypt = "$scrypt$ln=4,r=8,p=1$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA";
        assert!(check_usable(&PasswordHash::new(scrypt).unwrap()).is_err());
    }
}
