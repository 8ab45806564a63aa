//! The admin's counters of other parts (issue 29): bans and the upload
//! hooks in `/metrics`, read by Prometheus' own Python parser.

use pocketftpd_tests::*;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

#[path = "shared/admin.rs"]
mod shared;
use shared::*;

#[test]
fn bans_are_counted_in_the_metrics() {
    let Some(python) = prometheus_python() else {
        return;
    };
    let users = TempDir::new("admin-bans");
    let file = users.join("users");
    fs::write(&file, format!("alice:{}:user\n", password_hash("pw"))).unwrap();
    let file = file.to_string_lossy().into_owned();
    let (d, admin) = admin_daemon(&[
        "--users",
        &file,
        "--login-delay",
        "0",
        "--ban-after",
        "2",
        "--ban-window",
        "60",
        "--ban-time",
        "600",
        "--ban-safelist",
        "127.0.0.0/24",
    ]);
    let before = parsed_metrics(&python, admin);
    assert_eq!(sample(&before, "pocketftpd_bans_active"), 0.0);
    assert_eq!(sample(&before, "pocketftpd_bans_total"), 0.0);
    for n in [7, 8] {
        let from = Ipv4Addr::new(127, 0, 1, n);
        let mut c = Ctrl::over(connect_from(from, d.addr()).expect("connect"));
        c.expect_reply(220);
        for _ in 0..2 {
            c.cmd_ok("USER alice", 331);
            c.cmd_ok("PASS wrong", 530);
        }
        d.wait_logged(
            &format!("{from}: banned for 600 s"),
            1,
            Duration::from_secs(5),
        );
    }
    let after = parsed_metrics(&python, admin);
    assert_eq!(sample(&after, "pocketftpd_bans_active"), 2.0);
    assert_eq!(sample(&after, "pocketftpd_bans_total"), 2.0);
    // The status page and the JSON list them.
    let (status, page) = get(admin, "/");
    assert_eq!(status, 200);
    for n in [7, 8] {
        let cell = format!("<td data-label=\"Address\" class=\"address\">127.0.1.{n}</td>");
        assert!(page.contains(&cell), "{page}");
        assert!(page.contains("<td data-label=\"Banned for\">9m "), "{page}");
    }
    assert!(page.contains("id=\"banned\">banned<b>2</b>"), "{page}");
    let (_, json) = get(admin, "/sessions.json");
    assert!(
        json.contains("\"bans_active\":2,\"bans\":[{\"address\":\"127.0.1."),
        "{json}"
    );
    assert!(
        !after.iter().any(|l| l.contains("upload_hook")),
        "no hook, no hook families: {after:#?}"
    );
}

#[test]
fn the_upload_hooks_queue_and_failures_are_counted() {
    let Some(python) = prometheus_python() else {
        return;
    };
    let dir = TempDir::new("admin-hooks");
    let hook = dir.join("hook");
    fs::write(&hook, "#!/bin/sh\nexit 3\n").unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    // A webhook to a port nobody listens on: its first attempt fails, the
    // event waits for the retry.
    let nobody = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let url = format!("http://{nobody}/event");
    let (d, admin) = admin_daemon(&[
        "--on-upload",
        hook.to_str().unwrap(),
        "--on-upload-url",
        &url,
    ]);
    let before = parsed_metrics(&python, admin);
    for hook in ["program", "webhook"] {
        let labels = format!("{{hook=\"{hook}\"}}");
        for name in ["queued", "dropped_total", "failures_total"] {
            let name = format!("pocketftpd_upload_hook_{name}{labels}");
            assert_eq!(sample(&before, &name), 0.0, "{name}");
        }
    }
    let mut c = d.login();
    c.upload("STOR a.txt", b"one");
    c.upload("STOR b.txt", b"two");
    d.wait_logged(
        "upload hook for /b.txt: exit status 3",
        1,
        Duration::from_secs(10),
    );
    let after = parsed_metrics(&python, admin);
    let failures = |hook: &str| {
        sample(
            &after,
            &format!("pocketftpd_upload_hook_failures_total{{hook=\"{hook}\"}}"),
        )
    };
    assert_eq!(failures("program"), 2.0);
    assert_eq!(failures("webhook"), 0.0, "not given up yet");
    // Both events wait for the webhook's retry, one of them maybe on its
    // way again (a retry comes a second after the first failure).
    let queued = sample(&after, "pocketftpd_upload_hook_queued{hook=\"webhook\"}");
    assert!((1.0..=2.0).contains(&queued), "{queued}");
    assert_eq!(
        sample(
            &after,
            "pocketftpd_upload_hook_dropped_total{hook=\"program\"}"
        ),
        0.0
    );
}
