//! How `enrolld run` fails at start when its state directory cannot be
//! written: a clear error naming the path, the exit status the unit does not
//! restart on (73), and no crash loop.

mod common;

use std::time::Duration;

use common::daemon::{Harness, Knobs};
use common::tmpfs::{BindMount, Tmpfs};
use enrolld_standin::Behaviour;

#[test]
fn read_only_state_directory_is_a_clear_error_not_a_crash() {
    let mut h = Harness::new(Behaviour::Ok);
    h.write_config(&Knobs::default());
    // The queue directory is a read-only filesystem, as on a card the kernel
    // remounted read-only after errors.
    let Some(ro) = Tmpfs::mount("ro,size=64k") else {
        return;
    };
    let queue = h.queue_dir();
    let bind = BindMount::new(ro.path(), &queue);

    let mut daemon = h.spawn();
    let status = daemon.wait_exit(Duration::from_secs(20));
    let stderr = daemon.stderr();
    assert_eq!(status.code(), Some(73), "exit status; stderr:\n{stderr}");
    assert!(stderr.contains(&queue.display().to_string()), "{stderr}");
    assert!(stderr.to_lowercase().contains("read-only"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    drop(bind);
}
