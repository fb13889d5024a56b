//! `[metrics] textfile`: the daemon as a process writes the file that
//! node_exporter's textfile collector reads; Prometheus's own `promtool`
//! (Debian's `prometheus` package) checks it, a reader racing the daemon's
//! rewrites never sees half of it, it is written only when a figure in it
//! changes, and it goes when the daemon stops.

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::daemon::{Harness, Knobs, wait_for};
use enrolld_standin::Behaviour;
use enrolld_standin::documented::FACE_QUALITY;

/// `promtool check metrics < file`: its verdict and what it said.
fn promtool_check(text: &str) -> (bool, String) {
    let mut child = match Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!(
            "promtool not found ({e}): install Debian's `prometheus` package (`bash \
             .ci/prereqs`)"
        ),
    };
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

#[test]
fn the_textfile_passes_promtool_and_is_never_seen_half_written() {
    let mut h = Harness::new(Behaviour::Retake(FACE_QUALITY[0]));
    let prom = h.path("node-exporter/enrolld.prom");
    std::fs::create_dir_all(prom.parent().unwrap()).unwrap();
    h.write_config(&Knobs {
        extra: format!("\n[metrics]\ntextfile = \"{}\"\n", prom.display()),
        ..Knobs::default()
    });
    let d = h.start();

    // A reader racing every rewrite: each read is a whole file.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (stop, prom) = (stop.clone(), prom.clone());
        std::thread::spawn(move || {
            let mut reads = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(text) = std::fs::read_to_string(&prom) {
                    assert!(
                        text.starts_with("# HELP enrolld_build_info")
                            && (text.ends_with("enrolld_mqtt_dropped_messages_total 0\n")
                                || text.lines().count() == 3),
                        "a reader saw a partial file:\n{text}"
                    );
                    reads += 1;
                }
            }
            reads
        })
    };

    d.press_until("retake", 1);
    h.standin.set_behaviour(Behaviour::Ok);
    d.press_until("registered", 1);
    d.press_until("registered", 2);
    let want = "enrolld_enrollments_total{outcome=\"registered\"} 2";
    let text = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&prom)
            .ok()
            .filter(|t| t.contains(want))
    })
    .unwrap_or_else(|| {
        panic!(
            "{want} never in the file: {:?}",
            std::fs::read_to_string(&prom)
        )
    });
    // The result's end (registered, then idle) moves no figure: the file is not written again
    // (the finished enrollment's event, which came with the count, has had a second to land).
    std::thread::sleep(Duration::from_secs(1));
    let before_idle = version(&prom);
    d.wait_status("idle again", Duration::from_secs(10), |s| {
        s["state"] == "idle"
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        version(&prom),
        before_idle,
        "the file was written again though no figure in it changed"
    );
    stop.store(true, Ordering::Relaxed);
    let reads = reader.join().expect("no partial file was read");
    assert!(reads > 0, "the reader never read the file");

    let (ok, said) = promtool_check(&text);
    assert!(
        ok,
        "promtool check metrics refused the file: {said}\n{text}"
    );
    for line in [
        "enrolld_face_rejections_total{reason=\"no_face\"} 1",
        "enrolld_enrollments_total{outcome=\"retake\"} 1",
        "enrolld_queue_entries 0",
        "enrolld_paused 0",
        "enrolld_fault{kind=\"camera\"} 0",
        "# TYPE enrolld_enrollments_total counter",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    assert!(text.contains(&format!(
        "enrolld_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    )));
    assert!(text.contains("enrolld_last_registered_timestamp_seconds "));
    assert!(text.contains("enrolld_last_enrollment_stage_seconds{stage=\"total\"} "));
    // No usernames ("t-1", ...) or ids as labels.
    assert!(!text.contains("t-"), "{text}");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&prom).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o644, "node_exporter must be able to read it");
    // The temporary files are gone, and none ends in .prom.
    let names: Vec<_> = std::fs::read_dir(prom.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["enrolld.prom"]);
    d.terminate(Duration::from_secs(15));
    assert!(
        !prom.exists(),
        "a stopped daemon's figures were left for node_exporter"
    );
}

/// Which version of the file is there: each write replaces it with a new inode.
fn version(path: &std::path::Path) -> (u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.ino(), m.mtime(), m.mtime_nsec())
}

#[test]
fn promtool_refuses_what_it_should() {
    // The check above can fail: OpenMetrics' end marker is refused.
    let (ok, _) = promtool_check("# TYPE a counter\na 1\n# EOF\nb{ 2\n");
    assert!(!ok);
}
