//! TLS as a client (the upload webhook, the S3 back-end): which servers'
//! certificates are trusted. Either the system's CA certificates (the
//! bundle distributions keep in `/etc/ssl/certs`, or failing it every PEM
//! file there) or the certificates of one PEM file the administrator
//! names (a private CA, a self-signed server). Read once, at start-up:
//! the loop never reads them.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// Where distributions keep their bundle of every trusted CA certificate:
/// Debian, Ubuntu, Alpine, Arch; Fedora, RHEL; openSUSE; Alpine, BSDs.
const SYSTEM_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The folder of single CA certificates, read when no bundle exists.
const SYSTEM_FOLDER: &str = "/etc/ssl/certs";

/// CA certificate files read from [`SYSTEM_FOLDER`], at most.
const MAX_FOLDER_FILES: usize = 1000;

/// A client configuration trusting the certificates in `ca_file` (PEM),
/// or the system's. Errors name the file.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let roots = match ca_file {
        Some(path) => roots_of(&[path])?,
        None => system_roots()?,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn system_roots() -> Result<RootCertStore, String> {
    if let Some(bundle) = SYSTEM_BUNDLES.iter().map(Path::new).find(|p| p.is_file()) {
        return roots_of(&[bundle]);
    }
    let entries = std::fs::read_dir(SYSTEM_FOLDER)
        .map_err(|e| format!("no CA certificates: cannot read {SYSTEM_FOLDER}: {e}"))?;
    let files: Vec<_> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pem" || e == "crt"))
        .take(MAX_FOLDER_FILES)
        .collect();
    let paths: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    roots_of(&paths)
}

/// The certificates of PEM files; an error if none is usable.
fn roots_of(paths: &[&Path]) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for path in paths {
        // Bounded: a FIFO or /dev/zero here must not hang or fill memory.
        let pem = crate::small_file::read(path)
            .map_err(|e| format!("cannot read the CA certificates {}: {e}", path.display()))?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read the CA certificates {}: {e}", path.display()))?;
        roots.add_parsable_certificates(certs);
    }
    if roots.is_empty() {
        let named: Vec<_> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(format!("no CA certificate in {}", named.join(", ")));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::TempDir;

    #[test]
    fn ca_files_must_hold_certificates() {
        let dir = TempDir::new("client-tls");
        let empty = dir.0.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(Some(&empty)).err().unwrap();
        assert!(
            err.contains("no CA certificate in") && err.contains("empty.pem"),
            "{err}"
        );
        let missing = dir.0.join("missing.pem");
        let err = client_config(Some(&missing)).err().unwrap();
        assert!(err.contains("cannot read the CA certificates"), "{err}");
    }

    #[test]
    fn the_system_certificates_are_found() {
        if Path::new(SYSTEM_FOLDER).is_dir() {
            assert!(client_config(None).is_ok());
        }
    }
}
