//! How long the UI thread spends building each frame (shown in the status bar, and measured by
//! the frame-time test while a large folder scans).

use std::time::Duration;

/// How long UI frames take (the time spent building the UI, not waiting for vsync).
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameStats {
    /// Frames measured.
    pub frames: u64,
    /// The last frame.
    pub last: Duration,
    /// The slowest frame.
    pub max: Duration,
    /// Sum of all frames.
    pub total: Duration,
}

impl FrameStats {
    /// Counts one frame that took `took`.
    pub(crate) fn record(&mut self, took: Duration) {
        self.frames += 1;
        self.last = took;
        self.max = self.max.max(took);
        self.total += took;
    }

    /// Mean frame time.
    pub fn mean(&self) -> Duration {
        if self.frames == 0 {
            Duration::ZERO
        } else {
            self.total / self.frames as u32
        }
    }
}
