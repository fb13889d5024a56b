//! Timing rows against a reference in the same run, interleaved round by round so a noisy
//! shared machine slows every row alike (the face and screen benchmarks).

use std::time::{Duration, Instant};

/// One measured case.
pub struct Row {
    pub name: String,
    run: Box<dyn FnMut()>,
    samples: Vec<Duration>,
}

pub fn row(name: impl Into<String>, run: impl FnMut() + 'static) -> Row {
    Row {
        name: name.into(),
        run: Box::new(run),
        samples: Vec::new(),
    }
}

pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs every row once to warm up, then `rounds` rounds of each row in turn.
pub fn measure(rows: &mut [Row], rounds: usize) {
    for r in rows.iter_mut() {
        (r.run)();
    }
    for _ in 0..rounds {
        for r in rows.iter_mut() {
            let t = Instant::now();
            (r.run)();
            r.samples.push(t.elapsed());
        }
    }
}

/// Each row's median in milliseconds and its ratio to the first row's.
pub fn medians(rows: &mut [Row]) -> Vec<(String, f64, f64)> {
    let reference = median(&mut rows[0].samples).as_secs_f64();
    rows.iter_mut()
        .map(|r| {
            let m = median(&mut r.samples).as_secs_f64();
            (r.name.clone(), m * 1000.0, m / reference)
        })
        .collect()
}
