//! Who holds a DRM device: the processes that have it open, read from `/proc/<pid>/fd`, so the
//! message for a screen that cannot be driven names the program to stop (`Xorg (pid 812)`).
//! Under the hardened unit other users' processes may be hidden (`ProcSubset=`, `hidepid`):
//! then the message says so instead of naming nobody.

use std::path::{Path, PathBuf};

/// The holders of `device` in words.
pub fn describe(device: &Path) -> String {
    let found = holders(Path::new("/proc"), device);
    if found.is_empty() {
        "another program (not visible from here; a desktop session?)".to_owned()
    } else {
        found.join(", ")
    }
}

/// `name (pid N)` for every process under `proc` (other than this one) with `device` open.
pub fn holders(proc: &Path, device: &Path) -> Vec<String> {
    let device = device.canonicalize().unwrap_or_else(|_| device.to_owned());
    let own = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, String)> = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid.to_string() == own {
            continue;
        }
        if opens(&entry.path().join("fd"), &device) {
            let comm = std::fs::read_to_string(entry.path().join("comm"))
                .map(|c| c.trim().to_owned())
                .unwrap_or_else(|_| "?".to_owned());
            found.push((pid, format!("{comm} (pid {pid})")));
        }
    }
    found.sort();
    found.into_iter().map(|(_, d)| d).collect()
}

fn opens(fd_dir: &Path, device: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(fd_dir) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .any(|target: PathBuf| target == device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_holding_the_device_is_named() {
        // A made-up /proc: pid 812 (Xorg) has the card open, pid 9 something else.
        let proc = tempfile::tempdir().unwrap();
        let dev = tempfile::tempdir().unwrap();
        let card = dev.path().join("card0");
        std::fs::write(&card, b"").unwrap();
        let other = dev.path().join("tty0");
        std::fs::write(&other, b"").unwrap();
        for (pid, comm, target) in [("812", "Xorg\n", &card), ("9", "getty\n", &other)] {
            let fd = proc.path().join(pid).join("fd");
            std::fs::create_dir_all(&fd).unwrap();
            std::os::unix::fs::symlink(target, fd.join("3")).unwrap();
            std::fs::write(proc.path().join(pid).join("comm"), comm).unwrap();
        }
        std::fs::create_dir_all(proc.path().join("self")).unwrap();
        assert_eq!(holders(proc.path(), &card), vec!["Xorg (pid 812)"]);
        assert!(holders(proc.path(), &dev.path().join("card1")).is_empty());
    }
}
