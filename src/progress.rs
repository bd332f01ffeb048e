//! Progress lines on stderr for work that can take a while (the `.worktreeinclude` copy of a
//! large `node_modules/`). Drawn by indicatif, which redraws one line in place, limits the
//! redraw rate, and draws nothing when stderr is not a terminal (or `TERM` is unset or dumb),
//! so pipes and logs never see it. The line is cleared when the work is done; the narration
//! that follows says what was done.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::include;

/// Shows the include copy as `Copying included files  120/4031 files, 18.2 MiB`.
pub struct CopyProgress {
    bar: ProgressBar,
    bytes: Arc<AtomicU64>,
}

impl CopyProgress {
    pub fn new() -> CopyProgress {
        CopyProgress::to(ProgressDrawTarget::stderr())
    }

    fn to(target: ProgressDrawTarget) -> CopyProgress {
        let bytes = Arc::new(AtomicU64::new(0));
        let shown = Arc::clone(&bytes);
        let style =
            ProgressStyle::with_template("Copying included files {pos}/{len} files, {bytes}")
                .expect("the template is valid")
                .with_key(
                    "bytes",
                    move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{}", HumanBytes(shown.load(Ordering::Relaxed)));
                    },
                );
        let bar = ProgressBar::hidden().with_style(style);
        bar.set_draw_target(target);
        CopyProgress { bar, bytes }
    }
}

impl Default for CopyProgress {
    fn default() -> Self {
        CopyProgress::new()
    }
}

impl include::Progress for CopyProgress {
    fn start(&self, files: u64) {
        self.bar.set_length(files);
        if files > 0 {
            self.bar.tick();
        }
    }

    fn copied(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.bar.inc(1);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use include::Progress;

    #[test]
    fn counts_files_and_bytes() {
        let progress = CopyProgress::to(ProgressDrawTarget::hidden());
        progress.start(3);
        progress.copied(1024);
        progress.copied(2048);
        assert_eq!(progress.bar.position(), 2);
        assert_eq!(progress.bar.length(), Some(3));
        assert_eq!(progress.bytes.load(Ordering::Relaxed), 3072);
        progress.finish();
        assert!(progress.bar.is_finished());
    }
}
