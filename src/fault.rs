//! Fault injection, for the crash tests only: a debug build aborts the process at the named
//! step `GIT_SESSION_FAULT` says (`name`, or `name#N` for its N-th time), as a `kill -9`
//! there would, and appends every step it passes to the file `GIT_SESSION_FAULT_TRACE` names
//! (so a test learns a command's steps). Release builds compile it to nothing.

/// A step where a crash is worth simulating.
#[inline]
pub fn point(name: &str) {
    #[cfg(debug_assertions)]
    hit(name);
    #[cfg(not(debug_assertions))]
    let _ = name;
}

#[cfg(debug_assertions)]
fn hit(name: &str) {
    use std::io::Write;
    use std::sync::Mutex;
    static SEEN: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());
    let count = {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        match seen.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => {
                *count += 1;
                *count
            }
            None => {
                seen.push((name.to_owned(), 1));
                1
            }
        }
    };
    if let Some(trace) = std::env::var_os("GIT_SESSION_FAULT_TRACE")
        && let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(trace)
    {
        let _ = writeln!(file, "{name}#{count}");
    }
    let Ok(spec) = std::env::var("GIT_SESSION_FAULT") else {
        return;
    };
    let (wanted, nth) = match spec.split_once('#') {
        Some((n, c)) => (n, c.parse().unwrap_or(1)),
        None => (spec.as_str(), 1),
    };
    if wanted == name && nth == count {
        std::process::abort();
    }
}

/// For the race tests: at the step `GIT_SESSION_TEST_WRITE_AT` names, a file
/// `written-at-<step>.txt` is written in `dir`, as a process working there would. Release
/// builds compile it to nothing.
#[inline]
pub fn write_at(name: &str, dir: &std::path::Path) {
    #[cfg(debug_assertions)]
    if std::env::var("GIT_SESSION_TEST_WRITE_AT").is_ok_and(|wanted| wanted == name) {
        let _ = std::fs::write(
            dir.join(format!("written-at-{name}.txt")),
            "written after the capture\n",
        );
    }
    #[cfg(not(debug_assertions))]
    let _ = (name, dir);
}

/// Whether directory reads are to report no entry types (`DT_UNKNOWN`), as some file systems
/// do (XFS made without `ftype`, some network and FUSE mounts): `GIT_SESSION_TEST_NO_DTYPE`
/// set, in a debug build, for the tests. Release builds never do.
#[inline]
pub fn entry_types_hidden() -> bool {
    #[cfg(debug_assertions)]
    {
        static HIDDEN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HIDDEN.get_or_init(|| std::env::var_os("GIT_SESSION_TEST_NO_DTYPE").is_some())
    }
    #[cfg(not(debug_assertions))]
    false
}
