//! How domain operations narrate: a [`Reporter`] they are handed, so they never print
//! themselves. The command layer's `Output` is one (stderr, quiet inside git hooks); a
//! background process or a test can pass [`Silent`].

use crate::include;

pub trait Reporter {
    /// Narration: what is being done.
    fn status(&self, line: &str);
    /// Something the user should know that does not stop the operation.
    fn warn(&self, line: &str);
    /// What the user can do next.
    fn hint(&self, line: &str);
    /// A progress display for a `.worktreeinclude` copy (nothing where none can be drawn).
    fn copy_progress(&self) -> Box<dyn include::Progress> {
        Box::new(include::NoProgress)
    }
}

/// A reporter nobody reads.
pub struct Silent;

impl Reporter for Silent {
    fn status(&self, _line: &str) {}
    fn warn(&self, _line: &str) {}
    fn hint(&self, _line: &str) {}
}

impl Reporter for crate::output::Output {
    fn status(&self, line: &str) {
        crate::output::Output::status(self, line)
    }

    fn warn(&self, line: &str) {
        crate::output::Output::warn(self, line)
    }

    fn hint(&self, line: &str) {
        crate::output::Output::hint(self, line)
    }

    fn copy_progress(&self) -> Box<dyn include::Progress> {
        if self.is_quiet() {
            Box::new(include::NoProgress)
        } else {
            Box::new(crate::progress::CopyProgress::new())
        }
    }
}
