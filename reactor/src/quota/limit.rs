//! A user's limits as the users file gives them: a leaf, so the users
//! file's parser and the counting read one type without importing each
//! other.

/// A user's limits: `quota=BYTES[,FILES]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub max_bytes: u64,
    pub max_files: Option<u64>,
}

impl Quota {
    /// `BYTES[,FILES]`: a size with an optional `K`, `M`, `G` or `T`
    /// (1024-based, as `--min-free`'s), and a number of files.
    pub fn parse(value: &str) -> Result<Quota, String> {
        let (bytes, files) = match value.split_once(',') {
            Some((bytes, files)) => (bytes, Some(files)),
            None => (value, None),
        };
        let max_bytes = crate::startup::values::size(bytes)?;
        let max_files = files
            .map(|f| f.trim().parse::<u64>())
            .transpose()
            .map_err(|_| format!("{value:?}: the files after the comma must be a number"))?;
        Ok(Quota {
            max_bytes,
            max_files,
        })
    }
}
