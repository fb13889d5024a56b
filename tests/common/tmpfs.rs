//! A real tmpfs mounted on a temp dir for the tests that need a small or a
//! read-only filesystem; unmounted on drop (even on panic). Needs root or
//! CAP_SYS_ADMIN: without it the test fails, unless `ENROLLD_SKIP=mount` asks to
//! skip it, outside CI (see [`super::skip`]).

use std::path::Path;
use std::process::Command;

pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `options` as for mount(8), e.g. `size=256k,mode=0700` or `ro,size=64k`.
    pub fn mount(options: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount(8)");
        if status.success() {
            return Some(Tmpfs { dir });
        }
        super::skip::or_fail(
            "mount",
            "cannot mount a tmpfs (needs root or CAP_SYS_ADMIN)",
        );
        None
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// `mount --bind from to`, undone on drop: puts a test filesystem where the
/// daemon's configuration expects a directory.
pub struct BindMount(std::path::PathBuf);

impl BindMount {
    pub fn new(from: &Path, to: &Path) -> BindMount {
        std::fs::create_dir_all(to).unwrap();
        let status = Command::new("mount")
            .arg("--bind")
            .arg(from)
            .arg(to)
            .status()
            .expect("run mount(8)");
        assert!(
            status.success(),
            "mount --bind {} {}",
            from.display(),
            to.display()
        );
        BindMount(to.to_owned())
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
