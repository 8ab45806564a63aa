//! What the daemon refuses or warns about at start-up, in words that say
//! what to do (issues 23 and 24): the files it reads, folders its writing
//! roles cannot write, options that do nothing together, ports it cannot
//! bind.

use pocketftpd_tests::tls::cert;
use pocketftpd_tests::*;
use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn a_certificate_that_is_a_device_is_refused_at_once() {
    // `/dev/zero` was read whole: a 2 GiB allocation, then an abort.
    let Some(cert) = cert() else { return };
    let start = Instant::now();
    let err = start_fails(&[
        Path::new("--tls-cert"),
        Path::new("/dev/zero"),
        Path::new("--tls-key"),
        &cert.key,
    ]);
    assert!(
        err.contains(
            "cannot read the TLS certificate /dev/zero: a character device, not a regular file"
        ),
        "{err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    let big = cert.dir.join("big.pem");
    std::fs::write(&big, vec![b'#'; 2 << 20]).unwrap();
    let err = start_fails(&[
        Path::new("--tls-cert"),
        &cert.cert,
        Path::new("--tls-key"),
        &big,
    ]);
    assert!(
        err.contains(&format!(
            "cannot read the TLS key {}: 2097152 bytes, more than the 1024 KiB",
            big.display()
        )),
        "{err}"
    );
}
