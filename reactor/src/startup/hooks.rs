//! The upload hooks the options ask for (`crate::hooks`), made once at
//! start-up, before `--run-as`: the program is checked, the webhook's URL
//! parsed and its host resolved, its CA certificates and header file read
//! (a header file with a secret may be readable by root alone). A restart
//! changes them; SIGHUP says so.

use std::net::ToSocketAddrs;
use std::path::Path;

use rustls::pki_types::ServerName;

use crate::hooks::{Hooks, Programs, Webhook, WebhookConfig};
use crate::http::connection::TlsTarget;
use crate::http::url::Url;
use crate::http::write::request_head;
use crate::net::client_tls::client_config;
use crate::startup::options::{HookOptions, Options};

/// The hooks `options` configure (none, without `--on-upload` or
/// `--on-upload-url`). Errors say which option is wrong.
pub fn from_options(options: &Options) -> Result<Hooks, String> {
    let hooks = &options.hooks;
    let program = match &hooks.program {
        Some(path) => Some(Programs::new(path.clone(), hooks.workers, hooks.timeout)?),
        None => None,
    };
    let webhook = match &hooks.url {
        Some(url) => Some(Webhook::new(webhook(url, hooks)?)),
        None => None,
    };
    // Real paths are the served folder's as the kernel names it.
    let root = std::fs::canonicalize(&options.root).unwrap_or_else(|_| options.root.clone());
    Ok(Hooks::new(root, program, webhook))
}

fn webhook(url: &str, hooks: &HookOptions) -> Result<WebhookConfig, String> {
    let url = Url::parse(url).map_err(|e| format!("on-upload-url: {e}"))?;
    let addresses: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("on-upload-url: cannot resolve {}: {e}", url.host))?
        .collect();
    let tls = if url.https {
        let config =
            client_config(hooks.ca.as_deref()).map_err(|e| format!("on-upload-ca: {e}"))?;
        let name = ServerName::try_from(url.host.clone())
            .map_err(|e| format!("on-upload-url: {}: {e}", url.host))?;
        Some(TlsTarget { config, name })
    } else {
        None
    };
    let header = match &hooks.header_file {
        Some(path) => Some(header_line(path)?),
        None => None,
    };
    Ok(WebhookConfig {
        url,
        addresses,
        tls,
        header,
        timeout: hooks.url_timeout,
    })
}

/// `--on-upload-header-file`: its one line, `Name: value`, checked as it
/// will be written.
fn header_line(path: &Path) -> Result<(String, String), String> {
    let named =
        |e: &dyn std::fmt::Display| format!("on-upload-header-file {}: {e}", path.display());
    let text = crate::small_file::read_to_string(path).map_err(|e| named(&e))?;
    let line = text.trim_end_matches(['\r', '\n']);
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| named(&"one line `Name: value` expected"))?;
    let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
    request_head(&mut Vec::new(), "POST", "/", &[(&name, &value)])
        .map_err(|_| named(&"one line `Name: value` expected (a token, a colon, a value)"))?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::testing::TempDir;

    #[test]
    fn header_files() {
        let dir = TempDir::new("header-file");
        let file = dir.0.join("h");
        std::fs::write(&file, "Authorization: Bearer abc def\n").unwrap();
        let header = header_line(&file).unwrap();
        assert_eq!(
            header,
            ("Authorization".to_owned(), "Bearer abc def".to_owned())
        );
        for bad in ["no colon\n", "A: b\nC: d\n", "A b: c\n", ""] {
            std::fs::write(&file, bad).unwrap();
            assert!(header_line(&file).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_hook_options_are_start_up_errors() {
        let dir = TempDir::new("hook-options");
        let script = dir.0.join("not-executable");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let mut options = Options::default();
        options.hooks.program = Some(script);
        let err = from_options(&options).err().unwrap();
        assert!(err.contains("is not an executable file"), "{err}");
        options.hooks.program = Some(dir.0.join("missing"));
        let err = from_options(&options).err().unwrap();
        assert!(
            err.starts_with("on-upload: ") && err.contains("missing"),
            "{err}"
        );
        options.hooks.program = None;
        options.hooks.url = Some("ftp://x/".to_owned());
        let err = from_options(&options).err().unwrap();
        assert!(err.starts_with("on-upload-url: "), "{err}");
    }
}
