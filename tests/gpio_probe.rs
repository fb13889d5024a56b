//! `enrolld probe` as a person runs it: the real binary, the real /dev.
//! On a machine without GPIO chips it must say so plainly; with chips, it
//! must list every one of them.

use std::process::Command;

#[test]
fn probe_lists_every_gpio_chip_or_says_there_are_none() {
    let out = Command::new(env!("CARGO_BIN_EXE_enrolld"))
        .args(["--config", "/nonexistent/enrolld.toml", "probe"])
        .output()
        .expect("run enrolld probe");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("== GPIO ==\n"), "{stdout}");

    let mut chips: Vec<String> = std::fs::read_dir("/dev")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.strip_prefix("gpiochip")
                .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    chips.sort();
    if chips.is_empty() {
        assert!(stdout.contains("GPIO: no chips"), "{stdout}");
    } else {
        for chip in chips {
            assert!(
                stdout.contains(&format!("/dev/{chip} ")),
                "{chip} missing from:\n{stdout}"
            );
        }
    }
}
