//! Holds off Ctrl-C, a closed terminal and a polite kill while a step that must not stop
//! half-way runs (a sync with the worktree moved aside and its work taken out): the signal is
//! noted, the step finishes and puts everything back, and the command stops after it. The
//! git processes started meanwhile run in a process group of their own, so the terminal's
//! Ctrl-C does not reach them either. `kill -9` cannot be held off: `doctor` repairs that.
//!
//! The handlers are installed the first time a step holds signals, and stay (signal-hook
//! cannot give back the default action): outside a held step they end the process at once,
//! with the exit status a shell gives a command killed by that signal.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// How many [`Held`] guards are alive.
static HELD: AtomicUsize = AtomicUsize::new(0);

/// The flags the handlers read and write: whether no step is holding signals (then they end
/// the process), and whether one arrived while a step held them.
struct Flags {
    free: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

fn flags() -> &'static Flags {
    static FLAGS: OnceLock<Flags> = OnceLock::new();
    FLAGS.get_or_init(|| {
        let flags = Flags {
            free: Arc::new(AtomicBool::new(true)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        for signal in [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
        ] {
            // The shutdown first: when nothing is held, the process ends before the note.
            let _ = signal_hook::flag::register_conditional_shutdown(
                signal,
                128 + signal,
                flags.free.clone(),
            );
            let _ = signal_hook::flag::register(signal, flags.stop.clone());
        }
        flags
    })
}

/// While alive, SIGINT, SIGTERM and SIGHUP are noted instead of ending the process.
pub struct Held(());

impl Held {
    pub fn new() -> Held {
        let flags = flags();
        FLAGS_READY.store(true, Ordering::SeqCst);
        HELD.fetch_add(1, Ordering::SeqCst);
        flags.free.store(false, Ordering::SeqCst);
        Held(())
    }
}

impl Default for Held {
    fn default() -> Self {
        Held::new()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if HELD.fetch_sub(1, Ordering::SeqCst) == 1 {
            flags().free.store(true, Ordering::SeqCst);
        }
    }
}

/// Whether a [`Held`] guard is alive (git children go in a process group of their own).
pub fn held() -> bool {
    HELD.load(Ordering::SeqCst) > 0
}

/// Whether a signal arrived while a step held it: the command stops at its next safe point.
pub fn stop_requested() -> bool {
    HELD.load(Ordering::SeqCst) == 0
        && FLAGS_READY.load(Ordering::SeqCst)
        && flags().stop.load(Ordering::SeqCst)
}

/// Whether the handlers were installed (so [`stop_requested`] never installs them).
static FLAGS_READY: AtomicBool = AtomicBool::new(false);
