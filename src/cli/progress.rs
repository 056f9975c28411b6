//! Progress on standard error for long runs: bytes read, packets, rate and ETA. Shown only when
//! stderr is a terminal and the run has lasted a second; drawn at most a few times a second.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    total: Option<u64>,
    start: Instant,
    enabled: bool,
}

/// Runs shorter than this never show a bar.
const SHOW_AFTER: Duration = Duration::from_secs(1);

impl Progress {
    pub fn new(total: Option<u64>, enabled: bool) -> Progress {
        Progress {
            bar: None,
            total,
            start: Instant::now(),
            enabled,
        }
    }

    pub fn update(&mut self, bytes: u64, frames: u64) {
        if !self.enabled {
            return;
        }
        if self.bar.is_none() && self.start.elapsed() >= SHOW_AFTER {
            let bar = match self.total {
                Some(t) => {
                    ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr_with_hz(4))
                }
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(4)),
            };
            let template = if self.total.is_some() {
                "{bytes}/{total_bytes} {wide_bar} {msg} {binary_bytes_per_sec} ETA {eta}"
            } else {
                "{spinner} {bytes} {msg} {binary_bytes_per_sec}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
            bar.set_message(format!("{frames} packets"));
        }
    }

    pub fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
