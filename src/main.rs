//! `enrolld`: command-line entry. Parses arguments and hands over to the
//! library (`enrolld::cli`).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    one_malloc_arena();
    let code = enrolld::cli::run(&enrolld::cli::Cli::parse());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// glibc gives each thread that allocates an arena of its own (up to eight per core), and
/// memory freed in an arena stays there for that arena's reuse. enrolld's threads (tokio's
/// workers and the blocking pool that captures, encodes and sends) each grew one: in the soak
/// benchmark (docs/benchmarks.md) the daemon's resident memory rose 1.5 MiB over the first
/// 1000 enrollments and sat about 4 MiB above what a single arena needs. The daemon does one
/// enrollment at a time, so its threads seldom allocate at once and sharing one arena costs
/// nothing measurable. Called before any thread starts; `MALLOC_ARENA_MAX` in the environment,
/// set by an operator, is left to glibc. (musl's allocator has no per-thread arenas.)
fn one_malloc_arena() {
    #[cfg(target_env = "gnu")]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes the allocator's tuning; no other thread exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
