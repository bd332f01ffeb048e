//! What changed in a worktree since the last look, from watchman, so a status-like scan stats
//! only those paths (`scan::scan_candidates`) instead of every tracked file.
//!
//! watchman is spoken to directly: newline-delimited JSON over its unix socket. The socket is
//! found without ever starting a process on the hot path: `WATCHMAN_SOCK`, else the socket
//! `git session fsmonitor enable` recorded, else watchman's usual places; a server that is
//! not running is no server (`session.fsmonitor = auto` never starts one). Every call has a
//! deadline, and any failure, a fresh instance, a recrawl, or a changed index or
//! configuration means a full scan — never an error for the user.
//!
//! Per worktree, machine-locally (`$GIT_COMMON_DIR/session/fsmonitor/<key>.json`, written
//! atomically): the clock of the last answer, the index's identity, a fingerprint of what
//! decides status besides file contents, and the paths the last answer listed (they are
//! looked at again next time, whatever the monitor says). Per watched root, a mark
//! (`busy-<key>`) whose time says when a question about it last went unanswered: watchman
//! answers nothing about a root it is crawling, and scans do not wait for it meanwhile.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gix::bstr::{BString, ByteSlice};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::capture_memo;
use super::capture_memo::Memo;
use super::error::RepoError;
use super::index_tree;
use super::scan::{self, WorktreeChanges};

/// How long one call to watchman may take before the scan goes on without it.
const DEADLINE: Duration = Duration::from_millis(500);

/// How long a scan waits for watchman to watch a worktree and give a clock before it scans
/// in full without them.
const SETUP_DEADLINE: Duration = Duration::from_millis(100);

/// How long a look without a scan (the hooks, a checkpoint with nothing changed) waits.
const LOOK_DEADLINE: Duration = Duration::from_millis(100);

/// How long a question waits while the server was found busy (a call timed out, or it was
/// just asked to watch a root: watchman answers nothing about a root before its crawl is
/// done, which takes a minute for millions of files). An idle server answers in a
/// millisecond or two; a busy one is not waited for, the scan goes on in full.
const PROBE_DEADLINE: Duration = Duration::from_millis(10);

/// How long a server found busy is only probed: after this, one question waits up to
/// [`SETUP_DEADLINE`] again (a server that answers in that time is used again).
const BUSY_WINDOW: Duration = Duration::from_secs(10);

/// How long the live view's ticker waits for each watch and clock it sets up.
const TICKER_SETUP_DEADLINE: Duration = Duration::from_secs(5);

/// How long `enable` waits for watchman to crawl a worktree it starts watching.
pub const CRAWL_DEADLINE: Duration = Duration::from_secs(120);

/// Whether scans may use the monitor in this process (destructive commands turn it off).
static FULL_ONLY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on this process scans in full: for decisions that destroy something (ending,
/// removing, rewinding, landing), which keep the full scan.
pub fn require_full_scans() {
    FULL_ONLY.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether answers from the monitor may be used in this process for `repo`: the setting
/// allows it and no destructive command asked for full scans; the reason when not.
fn refused(repo: &gix::Repository) -> Option<&'static str> {
    if mode(repo) == Mode::Off {
        Some("session.fsmonitor is off")
    } else if FULL_ONLY.load(std::sync::atomic::Ordering::SeqCst) {
        Some("this command decides what to destroy from a full scan")
    } else {
        None
    }
}

/// A connection for using the monitor's answers in this process, with `deadline` per call;
/// None when [`refused`] or no server answers.
fn usable(repo: &gix::Repository, deadline: Duration) -> Option<Watchman> {
    if refused(repo).is_some() {
        return None;
    }
    let mut watchman = Watchman::connect(repo.common_dir()).ok()?;
    watchman.set_deadline(deadline).ok()?;
    Some(watchman)
}

/// `session.fsmonitor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Off,
    Watchman,
    /// watchman when a server is already running.
    Auto,
}

/// `session.fsmonitor` when it is set to something it cannot mean (taken as `auto`).
pub fn unknown_setting(repo: &gix::Repository) -> Option<String> {
    let value = repo.config_snapshot().string("session.fsmonitor")?;
    let text = value.to_str_lossy().trim().to_ascii_lowercase();
    (!matches!(
        text.as_str(),
        "off" | "false" | "no" | "watchman" | "on" | "true" | "auto"
    ))
    .then(|| value.to_str_lossy().into_owned())
}

pub fn mode(repo: &gix::Repository) -> Mode {
    if let Some(forced) = std::env::var_os("GIT_SESSION_FSMONITOR") {
        return match forced.to_str() {
            Some("off") => Mode::Off,
            Some("watchman") => Mode::Watchman,
            _ => Mode::Auto,
        };
    }
    match repo
        .config_snapshot()
        .string("session.fsmonitor")
        .map(|v| v.to_str_lossy().trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("off" | "false" | "no") => Mode::Off,
        Some("watchman" | "on" | "true") => Mode::Watchman,
        _ => Mode::Auto,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("no watchman server is running")]
    NoServer,
    #[error("no watchman answers at {sock} (WATCHMAN_SOCK): {error}")]
    NoServerAt { sock: String, error: String },
    #[error("watchman: {0}")]
    Io(#[from] std::io::Error),
    #[error("watchman did not answer in time")]
    Timeout,
    #[error("watchman answered what could not be read: {0}")]
    Protocol(String),
    #[error("watchman: {0}")]
    Server(String),
}

impl MonitorError {
    /// Whether the server did not answer in time (busy, or hung).
    pub fn timed_out(&self) -> bool {
        matches!(self, MonitorError::Timeout)
    }

    /// A failed read or write: a socket timeout is [`MonitorError::Timeout`].
    fn io(e: std::io::Error) -> MonitorError {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => MonitorError::Timeout,
            _ => MonitorError::Io(e),
        }
    }
}

/// A connection to the watchman server.
pub struct Watchman {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// A call went unanswered (a timeout): the answer may still come, and would be read as
    /// the next call's. No call is made on the connection after that.
    owed: bool,
    /// How long one call may take, all of it (a server trickling bytes or log lines does
    /// not make it longer).
    deadline: Duration,
}

/// The longest answer read: a `since` listing 100,000 paths is about 10 MB.
const MAX_ANSWER: usize = 256 << 20;

/// Where a worktree is in watchman's view: the watched root, and its path below it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Watched {
    pub root: String,
    pub relative: Option<String>,
}

/// What changed since a clock.
#[derive(Debug)]
pub struct Since {
    /// The clock's instance is gone (a restart, a new watch): everything may have changed.
    pub fresh: bool,
    pub clock: String,
    /// Paths relative to the worktree, with whether each is a directory that is new.
    pub files: Vec<(BString, bool)>,
    /// How many times watchman has recrawled the root (its event queue overflowed, say): a
    /// warning on every answer after the first, until the watch is made again. `u64::MAX`
    /// for a warning that does not say.
    pub recrawls: u64,
}

impl Since {
    /// Whether watchman recrawled since a clock taken when the count was `known` (None: not
    /// known, and any recrawl counts).
    pub fn recrawled_since(&self, known: Option<u64>) -> bool {
        self.recrawls == u64::MAX || self.recrawls > known.unwrap_or(0)
    }

    /// The count to keep with this answer's clock: none for a warning that did not say.
    pub fn known_recrawls(&self) -> Option<u64> {
        (self.recrawls != u64::MAX).then_some(self.recrawls)
    }
}

/// What every answer to a `since` question says besides its files: whether the clock's
/// instance is gone, the clock now, and the recrawl count.
fn since_head(answer: &Value) -> Result<(bool, String, u64), MonitorError> {
    let fresh = answer
        .get("is_fresh_instance")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let clock = answer
        .get("clock")
        .and_then(Value::as_str)
        .ok_or_else(|| MonitorError::Protocol("no clock".into()))?
        .to_owned();
    Ok((fresh, clock, recrawls_in(answer)))
}

/// The recrawl count an answer of watchman's gives: 0 without a warning.
fn recrawls_in(answer: &Value) -> u64 {
    answer
        .get("warning")
        .map_or(0, |w| w.as_str().map_or(u64::MAX, recrawl_count))
}

/// The count in watchman's recrawl warning ("Recrawled this watch 3 times, most recently
/// because: …"); `u64::MAX` for one that does not say.
fn recrawl_count(warning: &str) -> u64 {
    warning
        .strip_prefix("Recrawled this watch ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

impl Watchman {
    /// Connects to a running server (never starting one).
    pub fn connect(common_dir: &Path) -> Result<Watchman, MonitorError> {
        let stream = if let Some(sock) = watchman_sock() {
            connect_now(Path::new(&sock)).map_err(|e| MonitorError::NoServerAt {
                sock: crate::text::escape(&sock.to_string_lossy()),
                error: e.to_string(),
            })?
        } else {
            socket_candidates(common_dir)
                .iter()
                .find_map(|sock| connect_now(sock).ok())
                .ok_or(MonitorError::NoServer)?
        };
        stream.set_write_timeout(Some(DEADLINE))?;
        let writer = stream.try_clone()?;
        Ok(Watchman {
            reader: BufReader::new(stream),
            writer,
            owed: false,
            deadline: DEADLINE,
        })
    }

    /// How long each call may take from now on.
    pub fn set_deadline(&mut self, deadline: Duration) -> Result<(), MonitorError> {
        self.writer.set_write_timeout(Some(deadline))?;
        self.deadline = deadline;
        Ok(())
    }

    /// Whether a call went unanswered on this connection (it is of no more use).
    pub fn owed(&self) -> bool {
        self.owed
    }

    fn call(&mut self, command: Value) -> Result<Value, MonitorError> {
        let until = std::time::Instant::now() + self.deadline;
        self.send(&command)?;
        loop {
            let answer = self.read_line(until)?;
            let value: Value = serde_json::from_slice(&answer)
                .map_err(|e| MonitorError::Protocol(e.to_string()))?;
            // Unilateral messages (subscriptions, logs) are not the answer.
            if value.get("unilateral").and_then(Value::as_bool) == Some(true)
                || value.get("log").is_some()
            {
                continue;
            }
            if let Some(error) = value.get("error").and_then(Value::as_str) {
                return Err(MonitorError::Server(error.to_owned()));
            }
            return Ok(value);
        }
    }

    /// The server's process id: answered at once, crawling or not.
    pub fn pid(&mut self) -> Result<u64, MonitorError> {
        self.call(json!(["get-pid"]))?
            .get("pid")
            .and_then(Value::as_u64)
            .ok_or_else(|| MonitorError::Protocol("get-pid gave no pid".into()))
    }

    /// The next line the server sends, read by `until`. Unless it is read, the connection
    /// still owes it.
    fn read_line(&mut self, until: std::time::Instant) -> Result<Vec<u8>, MonitorError> {
        self.owed = true;
        let mut line = Vec::new();
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(MonitorError::Timeout);
            }
            self.writer
                .set_read_timeout(Some(left))
                .map_err(MonitorError::io)?;
            let buffer = match self.reader.fill_buf() {
                Ok(buffer) => buffer,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(MonitorError::io(e)),
            };
            if buffer.is_empty() {
                // Closed: no question on it gets an answer any more.
                return Err(MonitorError::Protocol("the connection closed".into()));
            }
            let (part, done) = match buffer.find_byte(b'\n') {
                Some(end) => (&buffer[..=end], true),
                None => (buffer, false),
            };
            line.extend_from_slice(part);
            let used = part.len();
            self.reader.consume(used);
            if done {
                self.owed = false;
                return Ok(line);
            }
            if line.len() > MAX_ANSWER {
                return Err(MonitorError::Protocol("an answer too long".into()));
            }
        }
    }

    /// Writes `command` without reading its answer (the connection owes it from then on).
    fn send(&mut self, command: &Value) -> Result<(), MonitorError> {
        if self.owed {
            return Err(MonitorError::Protocol(
                "an earlier question on this connection went unanswered".into(),
            ));
        }
        let mut line = serde_json::to_vec(command).expect("serializes");
        line.push(b'\n');
        self.owed = true;
        self.writer.write_all(&line).map_err(MonitorError::io)?;
        Ok(())
    }

    /// Asks watchman to watch `path` without waiting: a root not watched yet is crawled
    /// before watchman answers, which the caller does not wait for (the crawl goes on).
    pub fn start_watching(&mut self, path: &Path) -> Result<(), MonitorError> {
        self.send(&json!(["watch-project", path]))
    }

    /// Watches `path` (or finds the watch above it that covers it).
    pub fn watch(&mut self, path: &Path) -> Result<Watched, MonitorError> {
        let answer = self.call(json!(["watch-project", path]))?;
        let root = answer
            .get("watch")
            .and_then(Value::as_str)
            .ok_or_else(|| MonitorError::Protocol("watch-project gave no root".into()))?;
        Ok(Watched {
            root: root.to_owned(),
            relative: answer
                .get("relative_path")
                .and_then(Value::as_str)
                .map(str::to_owned),
        })
    }

    /// Stops watching `root`.
    pub fn unwatch(&mut self, root: &str) -> Result<(), MonitorError> {
        self.call(json!(["watch-del", root]))?;
        Ok(())
    }

    /// The roots watchman watches.
    pub fn watched_roots(&mut self) -> Result<Vec<String>, MonitorError> {
        let answer = self.call(json!(["watch-list"]))?;
        Ok(answer
            .get("roots")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The current clock of `watched` (synced: every change made before this call is
    /// before the clock).
    pub fn clock(&mut self, watched: &Watched) -> Result<String, MonitorError> {
        let answer = self.call(json!(["clock", watched.root, {"sync_timeout": 1000}]))?;
        answer
            .get("clock")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| MonitorError::Protocol("no clock".into()))
    }

    /// watchman's recrawl count for `watched` (asked with a query that lists nothing); None
    /// when it does not say.
    pub fn recrawls(
        &mut self,
        watched: &Watched,
        clock: &str,
    ) -> Result<Option<u64>, MonitorError> {
        let query = json!({
            "since": clock,
            "fields": ["name"],
            "expression": ["false"],
            "sync_timeout": 0,
        });
        let answer = self.call(json!(["query", watched.root, query]))?;
        let count = recrawls_in(&answer);
        Ok((count != u64::MAX).then_some(count))
    }

    /// What changed under `watched` since `clock`, `.git` and `skip` (directories below it,
    /// e.g. other worktrees inside it) left out.
    pub fn since(
        &mut self,
        watched: &Watched,
        clock: &str,
        skip: &[String],
    ) -> Result<Since, MonitorError> {
        Ok(self.query_since(watched, clock, skip, false, true)?.0)
    }

    /// [`since`](Self::since), with the newest modification time among the files that
    /// exist. Without `sync`, watchman answers from what it has seen without first making
    /// sure it has seen everything up to now (for questions asked right after one that did).
    pub fn since_with_times(
        &mut self,
        watched: &Watched,
        clock: &str,
        skip: &[String],
        sync: bool,
    ) -> Result<(Since, Option<i64>), MonitorError> {
        self.query_since(watched, clock, skip, true, sync)
    }

    /// The paths below the watched `root` that changed in each of several worktrees since
    /// that worktree's clock (`within`: its directory relative to the root, None for the
    /// root itself, and its clock), asked as one question since `oldest` of those clocks.
    /// The names only, as watchman spells them.
    pub fn changed_within(
        &mut self,
        root: &str,
        oldest: &str,
        within: &[(Option<&str>, &str)],
        sync: bool,
    ) -> Result<Since, MonitorError> {
        let mut anyof = vec![json!("anyof")];
        anyof.extend(within.iter().map(|(dir, clock)| match dir {
            Some(dir) => json!(["allof", ["dirname", dir], ["since", clock]]),
            None => json!(["since", clock]),
        }));
        let mut query = json!({
            "since": oldest,
            "fields": ["name"],
            "empty_on_fresh_instance": true,
            "expression": anyof,
        });
        if !sync {
            query["sync_timeout"] = json!(0);
        }
        let answer = self.call(json!(["query", root, query]))?;
        let (fresh, clock, recrawls) = since_head(&answer)?;
        let files = answer
            .get("files")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|name| {
                name.as_str()
                    .map(|name| (BString::from(name), false))
                    .ok_or_else(|| MonitorError::Protocol("a file without a name".into()))
            })
            .collect::<Result<_, _>>()?;
        Ok(Since {
            fresh,
            clock,
            files,
            recrawls,
        })
    }

    fn query_since(
        &mut self,
        watched: &Watched,
        clock: &str,
        skip: &[String],
        times: bool,
        sync: bool,
    ) -> Result<(Since, Option<i64>), MonitorError> {
        let mut not = vec![json!(["dirname", ".git"]), json!(["name", ".git"])];
        for dir in skip {
            not.push(json!(["dirname", dir]));
            not.push(json!(["name", dir, "wholename"]));
        }
        let fields = if times {
            json!(["name", "type", "new", "exists", "mtime"])
        } else {
            json!(["name", "type", "new"])
        };
        let mut query = json!({
            "since": clock,
            "fields": fields,
            "empty_on_fresh_instance": true,
            "expression": ["not", ["anyof"]],
        });
        query["expression"][1]
            .as_array_mut()
            .expect("built above")
            .extend(not);
        if let Some(relative) = &watched.relative {
            query["relative_root"] = json!(relative);
        }
        if !sync {
            query["sync_timeout"] = json!(0);
        }
        let answer = self.call(json!(["query", watched.root, query]))?;
        let (fresh, clock, recrawls) = since_head(&answer)?;
        let mut files = Vec::new();
        let mut newest: Option<i64> = None;
        for file in answer
            .get("files")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let name = file
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| MonitorError::Protocol("a file without a name".into()))?;
            let new_dir = file.get("type").and_then(Value::as_str) == Some("d")
                && file.get("new").and_then(Value::as_bool) == Some(true);
            if file.get("exists").and_then(Value::as_bool) == Some(true)
                && let Some(mtime) = file.get("mtime").and_then(Value::as_i64)
            {
                newest = newest.max(Some(mtime));
            }
            files.push((BString::from(name), new_dir));
        }
        let since = Since {
            fresh,
            clock,
            files,
            recrawls,
        };
        Ok((since, newest))
    }
}

/// Connects to the socket at `path` without waiting: a server that stopped accepting (its
/// queue of connections full) is refused at once, not waited for.
fn connect_now(path: &Path) -> std::io::Result<UnixStream> {
    use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    // A unix socket connects at once or fails (EAGAIN when the queue is full).
    rustix::net::connect(&fd, &SocketAddrUnix::new(path)?)?;
    let stream = UnixStream::from(fd);
    stream.set_nonblocking(false)?;
    Ok(stream)
}

/// `WATCHMAN_SOCK`, when set to something (empty is unset, as in a shell's `VAR=`).
pub fn watchman_sock() -> Option<std::ffi::OsString> {
    std::env::var_os("WATCHMAN_SOCK").filter(|sock| !sock.is_empty())
}

/// Where a running server's socket may be, in the order looked at.
fn socket_candidates(common_dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(sock) = watchman_sock() {
        out.push(PathBuf::from(sock));
        return out; // set: the only one
    }
    if let Some(recorded) =
        crate::fsutil::read_regular(&state_dir(common_dir).join("sockname"), 4096)
    {
        out.push(PathBuf::from(String::from_utf8_lossy(&recorded).trim()));
    }
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| user_from_passwd().unwrap_or_default());
    if !user.is_empty() {
        let tmp = std::env::var_os("TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        for dir in [
            tmp,
            PathBuf::from("/tmp"),
            PathBuf::from("/run/watchman"),
            PathBuf::from("/usr/local/var/run/watchman"),
            PathBuf::from("/var/run/watchman"),
        ] {
            out.push(dir.join(format!("{user}-state")).join("sock"));
        }
    }
    out
}

/// The name of the user this process runs as, from `/etc/passwd` (when `USER` is unset).
fn user_from_passwd() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

fn state_dir(common_dir: &Path) -> PathBuf {
    common_dir.join("session").join("fsmonitor")
}

/// The file whose time says when a question about `root` last went unanswered.
fn busy_path(common_dir: &Path, root: &str) -> PathBuf {
    let key = crate::oplog::to_hex(&stable_hash(root.as_bytes()));
    state_dir(common_dir).join(format!("busy-{key}"))
}

/// What is known of whether a server answers questions about a root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Busy {
    /// No question about it went unanswered since the last answered one.
    No,
    /// One went unanswered within [`BUSY_WINDOW`]: questions are only probes.
    Lately,
    /// One went unanswered before that: the next question waits, not as long as usual.
    Before,
}

impl Busy {
    /// How long a question waits that would wait `usual` of a server that answers.
    fn deadline(self, usual: Duration) -> Duration {
        match self {
            Busy::No => usual,
            Busy::Lately => PROBE_DEADLINE,
            Busy::Before => usual.min(SETUP_DEADLINE),
        }
    }
}

/// When the mark of `root` was last written (only a file is a mark).
fn marked_at(common_dir: &Path, root: &str) -> Option<std::time::SystemTime> {
    let mark = std::fs::symlink_metadata(busy_path(common_dir, root)).ok()?;
    mark.is_file().then(|| mark.modified().ok()).flatten()
}

/// What the mark of `root` says.
fn busy(common_dir: &Path, root: &str) -> Busy {
    match marked_at(common_dir, root) {
        None => Busy::No,
        Some(at) if at.elapsed().is_ok_and(|age| age < BUSY_WINDOW) => Busy::Lately,
        Some(_) => Busy::Before,
    }
}

/// Records how a question about `root` went, asked while the server was `was`: answered,
/// or not in time. A probe left unanswered does not start the window again: when it ends,
/// one question waits longer.
fn asked_busy(common_dir: &Path, root: &str, was: Busy, answered: bool, timed_out: bool) {
    if answered && was != Busy::No {
        let _ = std::fs::remove_file(busy_path(common_dir, root));
    } else if timed_out && was != Busy::Lately {
        mark_busy(common_dir, root);
    }
}

/// Why a scan was full when watchman did not answer in time.
fn unanswered() -> String {
    "watchman did not answer in time (crawling?)".to_owned()
}

/// The process id of the server that gave `clock` (`c:<start>:<pid>:<root>:<ticks>`).
fn clock_pid(clock: &str) -> Option<u64> {
    clock.split(':').nth(2)?.parse().ok()
}

/// Whether `clock` may be of the server whose process id is `pid` (either unknown: it may).
fn given_by(clock: &str, pid: Option<u64>) -> bool {
    pid.is_none() || clock_pid(clock).is_none_or(|given| Some(given) == pid)
}

/// What a worktree's server is found busy by: the root its state says it is watched from,
/// else the worktree itself.
fn busy_key(state: &State, workdir: &Path) -> String {
    state.watched.as_ref().map_or_else(
        || workdir.to_string_lossy().into_owned(),
        |watched| watched.root.clone(),
    )
}

/// Records that a question about `root` went unanswered (now).
fn mark_busy(common_dir: &Path, root: &str) {
    let path = busy_path(common_dir, root);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = crate::fsutil::write_atomic(&path, b"", None);
}

/// When questions about `root` last went unanswered (seconds), if within the window.
pub fn busy_since(common_dir: &Path, root: &str) -> Option<i64> {
    let at = marked_at(common_dir, root)?;
    at.elapsed().is_ok_and(|age| age < BUSY_WINDOW).then(|| {
        at.duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    })
}

/// Starts watchman unless it runs already (`watchman get-sockname` starts the server), giving
/// up after `timeout`, and returns its socket.
pub fn start_server(timeout: Duration) -> Result<String, MonitorError> {
    let out = tempfile::NamedTempFile::new()?;
    let handle = duct::cmd!("watchman", "--no-local", "get-sockname")
        .stdin_null()
        .stdout_path(out.path())
        .stderr_null()
        .unchecked()
        .start()?;
    match super::runner::wait_deadline(&handle, timeout)? {
        Some(done) if done.status.success() => {}
        Some(_) => {
            return Err(MonitorError::Server(
                "`watchman get-sockname` failed".to_owned(),
            ));
        }
        None => {
            return Err(MonitorError::Server(format!(
                "`watchman get-sockname` did not answer within {} s",
                timeout.as_secs()
            )));
        }
    }
    let answer: Value = serde_json::from_slice(&std::fs::read(out.path())?)
        .map_err(|e| MonitorError::Protocol(e.to_string()))?;
    answer
        .get("sockname")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| MonitorError::Protocol("get-sockname gave no socket".into()))
}

/// The version of the server that answers, if one does.
pub fn server_version(common_dir: &Path) -> Result<String, MonitorError> {
    Ok(server(common_dir)?.version)
}

/// The version of the server that answers, and the roots it watches.
pub fn server(common_dir: &Path) -> Result<Server, MonitorError> {
    let mut watchman = Watchman::connect(common_dir)?;
    // Not on a scan's path (status, doctor, enable): more than a scan waits. These three
    // questions are answered at once even while watchman crawls; one that is not, by a
    // hung server, leaves the others unasked.
    watchman.set_deadline(Duration::from_secs(1))?;
    let answer = watchman.call(json!(["version"]))?;
    let version = answer
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let roots = watchman.watched_roots()?;
    let pid = watchman.pid().ok();
    Ok(Server {
        version,
        roots,
        pid,
    })
}

/// The server that answers, as `fsmonitor status` shows it.
pub struct Server {
    pub version: String,
    pub roots: Vec<String>,
    /// Its process id (None: it did not say).
    pub pid: Option<u64>,
}

impl Server {
    /// Whether `clock` is one of this server's (not of one that ran before a restart).
    pub fn gave(&self, clock: &str) -> bool {
        given_by(clock, self.pid)
    }
}

/// Watches a worktree just made, when the monitor is enabled (`session.fsmonitor =
/// watchman`) and its server answers (with `auto`, the first scan watches it). Best effort.
pub fn watch_new(repo: &gix::Repository, path: &Path) {
    if mode(repo) != Mode::Watchman {
        return;
    }
    // Inside a watched root this is immediate; a root of its own is crawled first, which
    // creating the worktree does not wait for (its first scan watches it then).
    let _ = watch_path(repo.common_dir(), path, SETUP_DEADLINE);
}

/// Watches `path` now, waiting up to `deadline` for watchman's crawl, and records the watch
/// (its first scan takes the first clock).
pub fn watch_path(
    common_dir: &Path,
    path: &Path,
    deadline: Duration,
) -> Result<Watched, MonitorError> {
    let mut watchman = Watchman::connect(common_dir)?;
    watchman.set_deadline(deadline)?;
    let watched = watchman.watch(&crate::git::normalize(path))?;
    let mut state = load_state(common_dir, path);
    if state.watched.as_ref() != Some(&watched) {
        state = State {
            watched: Some(watched.clone()),
            ..State::default()
        };
        save_state(common_dir, path, &state);
    }
    Ok(watched)
}

/// Forgets a worktree that is going away: its watch (when it is the worktree's own, not one
/// above it) and what was kept for it. Best effort; returns whether a watch was removed.
pub fn forget(common_dir: &Path, path: &Path) -> bool {
    let state = load_state(common_dir, path);
    let _ = std::fs::remove_file(state_path(common_dir, path));
    let Some(watched) = state.watched else {
        return false;
    };
    if watched.relative.is_some() || Path::new(&watched.root) != crate::git::normalize(path) {
        return false;
    }
    // A root of its own: no other worktree is found busy by it.
    let _ = std::fs::remove_file(busy_path(common_dir, &watched.root));
    Watchman::connect(common_dir)
        .and_then(|mut w| w.unwatch(&watched.root))
        .is_ok()
}

/// Forgets every mark of a server found busy (the monitor is turned off).
pub fn forget_busy(common_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(state_dir(common_dir)) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().as_encoded_bytes().starts_with(b"busy-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Records the socket of the server `enable` found or started.
pub fn remember_socket(common_dir: &Path, sock: &str) {
    let dir = state_dir(common_dir);
    let _ = std::fs::create_dir_all(&dir);
    let _ = crate::fsutil::write_atomic(&dir.join("sockname"), sock.as_bytes(), None);
}

/// Forgets the socket `enable` recorded.
pub fn forget_socket(common_dir: &Path) {
    let _ = std::fs::remove_file(state_dir(common_dir).join("sockname"));
}

/// What is kept for one worktree between scans.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub watched: Option<Watched>,
    pub clock: Option<String>,
    /// The identity of the index the answer was for (`index_identity`).
    pub index: Option<String>,
    pub fingerprint: String,
    /// Paths (hex) the last answer listed: looked at again next time.
    pub listed: Vec<String>,
    /// Whether files whose stat data the index has stale, but whose content a capture found
    /// to be the index's, were left out of `listed` (each is looked at again when reported).
    /// A `.gitattributes` changing then means a full scan: what such a file hashes to may
    /// change with it, and git hashes a file whose stat data does not match again.
    #[serde(default)]
    pub stale: bool,
    /// Why the last full scan was needed, and when (seconds).
    pub last_full: Option<(String, i64)>,
    /// Whether the last answer came from the monitor.
    pub monitored: bool,
    /// Other worktrees inside this one, as of a time of `$GIT_COMMON_DIR/worktrees`.
    #[serde(default)]
    pub inner: Option<(String, Vec<String>)>,
    /// What the last capture computed, valid as of `clock` ([`Memo`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<capture_memo::Stored>,
    /// watchman's recrawl count when `clock` was taken (None: not known).
    #[serde(default)]
    pub recrawls: Option<u64>,
    /// The root tree of the index `index` names, when that index is plain
    /// ([`index_tree::plain_root`]): a capture may then stand it in for the index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_tree: Option<String>,
    /// How many entries that index has.
    #[serde(default)]
    pub index_entries: usize,
    /// The `.gitattributes` files the last full scan with a clock met
    /// ([`scan::attributes_digest`]), while the monitor has reported none of them since: a
    /// full scan finding the same may take ids from `memo` (see [`kept_memo`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes_digest: Option<String>,
}

fn state_path(common_dir: &Path, workdir: &Path) -> PathBuf {
    let workdir = crate::git::normalize(workdir);
    let key = crate::oplog::to_hex(&stable_hash(workdir.as_os_str().as_encoded_bytes()));
    state_dir(common_dir).join(format!("{key}.json"))
}

fn stable_hash(bytes: &[u8]) -> [u8; 8] {
    crate::fsutil::fnv1a(bytes).to_be_bytes()
}

pub fn load_state(common_dir: &Path, workdir: &Path) -> State {
    crate::fsutil::read_json(&state_path(common_dir, workdir)).unwrap_or_default()
}

fn save_state(common_dir: &Path, workdir: &Path, state: &State) {
    let path = state_path(common_dir, workdir);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ =
        crate::fsutil::write_atomic(&path, &serde_json::to_vec(state).expect("serializes"), None);
}

/// The index's identity: its checksum (what it holds) and its time (which entries are
/// racily clean). Read from the index the scan uses, so the two never disagree. An index
/// written without a checksum (`index.skipHash`) adds its size and inode.
pub(super) fn index_identity(index: &gix::index::File) -> String {
    let time = index.timestamp();
    let checksum = index.checksum().filter(|c| !c.is_null());
    let mut identity = format!(
        "{}:{}.{}",
        checksum.map(|c| c.to_string()).unwrap_or_default(),
        time.seconds(),
        time.nanoseconds()
    );
    if checksum.is_none() {
        identity.push_str(&without_checksum(index.path()));
    }
    identity
}

/// What tells apart indexes written without a checksum besides their time.
fn without_checksum(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map_or_else(
        |_| ":?".to_owned(),
        |m| format!(":{}:{}", m.size(), m.ino()),
    )
}

/// What decides status besides file contents: the settings, the exclude files, this
/// version. Any change means a full scan.
fn fingerprint(repo: &gix::Repository) -> String {
    let config = repo.config_snapshot();
    let mut text = format!("git-session {}\n", env!("CARGO_PKG_VERSION"));
    for key in [
        "core.fileMode",
        "core.trustctime",
        "core.checkStat",
        "core.symlinks",
        "core.ignoreCase",
        "core.excludesFile",
        "core.precomposeUnicode",
        "core.autocrlf",
        // What decides how a file is hashed (the capture memo keeps hashes).
        "core.eol",
        "core.attributesFile",
        "core.bigFileThreshold",
        "core.safecrlf",
        "core.checkRoundtripEncoding",
    ] {
        text.push_str(&format!(
            "{key}={}\n",
            config
                .string(key)
                .map(|v| v.to_str_lossy().into_owned())
                .unwrap_or_default()
        ));
    }
    // The filter drivers (clean commands, `required`, `process`).
    for section in config.sections() {
        if section.header().name() == "filter" {
            let sub = section.header().subsection_name().unwrap_or_default();
            for key in section.value_names() {
                for value in section.values(&key) {
                    text.push_str(&format!("filter.{sub}.{key}={value}\n"));
                }
            }
        }
    }
    let info = repo.common_dir().join("info");
    let mut files = vec![info.join("exclude"), info.join("attributes")];
    // The system's attributes, as git reads them (Debian's git: /etc/gitattributes).
    match std::env::var_os("GIT_ATTR_NOSYSTEM") {
        Some(value) => text.push_str(&format!("GIT_ATTR_NOSYSTEM={}\n", value.to_string_lossy())),
        None => files.push(PathBuf::from("/etc/gitattributes")),
    }
    let user_config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|dir| dir.join("git"));
    for (key, default) in [
        ("core.excludesFile", "ignore"),
        ("core.attributesFile", "attributes"),
    ] {
        if let Some(path) = config.trusted_path(key).ok().flatten() {
            files.push(path);
        } else if let Some(dir) = &user_config {
            files.push(dir.join(default));
        }
    }
    for file in files {
        let bytes = std::fs::read(&file).unwrap_or_default();
        text.push_str(&format!(
            "{}={}\n",
            file.display(),
            crate::oplog::to_hex(&stable_hash(&bytes))
        ));
    }
    text
}

/// More reported paths than this share of the index means a full scan: judging each on its
/// own would cost more than the walk.
const MOST: usize = 4;

/// Where an answer came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Why a full scan answered; None when the monitor said what changed and only that was
    /// looked at.
    pub full_because: Option<String>,
    /// What the answer is as of, when the monitor can tell later whether anything changed.
    pub seen: Option<Seen>,
    /// What the last capture computed: after a monitor's answer, less what it reported
    /// since; after a full scan, as kept (the capture checks each file's stat data).
    pub memo: Option<Memo>,
}

impl Answer {
    fn full(why: &str) -> Answer {
        Answer {
            full_because: Some(why.to_owned()),
            seen: None,
            memo: None,
        }
    }
}

/// The point an answer is as of: nothing reported by watchman since `clock`, the same
/// index and the same settings mean the answer still stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub watched: Watched,
    pub clock: String,
    pub index: String,
    pub fingerprint: String,
    /// watchman's recrawl count when `clock` was taken (None: not known).
    #[serde(default)]
    pub recrawls: Option<u64>,
}

/// The one entry point for "what changed in this worktree": through the monitor when one is
/// configured and answering, else a full scan; either way the answer is the full scan's, and
/// it says where it came from.
pub fn worktree_changes_explained(
    repo: &gix::Repository,
    index: &gix::index::File,
) -> Result<(WorktreeChanges, Answer), RepoError> {
    let (changes, answer, unsaved) = worktree_changes_for_capture(repo, index)?;
    if let Some(unsaved) = unsaved {
        unsaved.save();
    }
    Ok((changes, answer))
}

/// The state an answer from the monitor moved on, not written yet: a capture writes it once,
/// with what it computed ([`remember`]). Never written (the capture failed), the state stays
/// as of the answer before, which is still right (an older clock only means more reported).
#[derive(Debug)]
pub struct Unsaved {
    common: PathBuf,
    workdir: PathBuf,
    state: State,
}

impl Unsaved {
    fn save(&self) {
        save_state(&self.common, &self.workdir, &self.state);
    }
}

/// [`worktree_changes_explained`] for a capture: the state a monitor's answer moved on is
/// handed back to be written with what the capture computes.
pub fn worktree_changes_for_capture(
    repo: &gix::Repository,
    index: &gix::index::File,
) -> Result<(WorktreeChanges, Answer, Option<Unsaved>), RepoError> {
    answer(repo, index, ask(repo))
}

/// What the monitor said about a worktree before its index was read: the first half of
/// [`worktree_changes_for_capture`] ([`answer`] is the second). A capture that finds nothing
/// changed since the last one ([`Asked::unchanged_since`]) reads no index and asks once.
pub struct Asked {
    /// Why the monitor cannot answer at all (a full scan, with no clock taken).
    refused: Option<String>,
    workdir: PathBuf,
    watchman: Option<Watchman>,
    state: State,
    fingerprint: String,
    /// The index file's identity when asked (None when it cannot be read).
    identity: Option<String>,
    /// Why a full scan is needed, or what watchman reported since the state's clock.
    since: Result<Since, String>,
    /// The question went unanswered: the server is busy (crawling) or gone, and the scan
    /// does not wait for it to watch or give a clock.
    broken: bool,
    /// The server does not watch the root (it restarted without its state, or the watch was
    /// removed): asked to, it crawls the root before answering anything about it.
    unwatched: bool,
    /// The question went unanswered in time (rather than the connection failing).
    timed_out: bool,
    /// What was known of the server's answering when asked.
    was: Busy,
    /// watchman's recrawl count in an answer that cannot be used (a fresh instance, a
    /// recrawl since the state's clock).
    recrawls: Option<u64>,
    /// The root tree of the index the state was about, when the index changed since and
    /// that one was plain: what changed in the index is told by the two trees.
    moved_from: Option<super::ObjectId>,
    /// The question to a server found busy lately, asked on a thread while the caller reads
    /// the index: its answer is used when it came meanwhile; else the scan does not wait for
    /// it (a server busy crawling gives none before its deadline).
    probe: Option<Probe>,
}

/// A question to watchman asked on a thread ([`Asked`]'s probe). Dropped without its answer
/// taken (the caller went another way, or did not wait for it), it waits for the question to
/// end (it has a deadline) and records whether the server answered, as the question asked
/// in line would have.
struct Probe {
    answer: std::sync::mpsc::Receiver<Probed>,
    /// When it was asked: waited for until [`PROBE_DEADLINE`] after that (and a little
    /// more: the thread's own deadline starts when its question is sent), not longer.
    asked_at: std::time::Instant,
    /// Its answer was taken (and how it went recorded).
    taken: bool,
    common: PathBuf,
    key: String,
    was: Busy,
}

/// The connection a probe asked on, and what it was told.
type Probed = (Watchman, Result<Since, MonitorError>);

impl Probe {
    /// The connection and the answer (None when the thread gave none), how it went
    /// recorded; or the probe back when its question is still waiting past its deadline (a
    /// machine busy with the server's crawl wakes the thread late).
    fn finish(mut self) -> Result<Option<Probed>, Probe> {
        use std::sync::mpsc::RecvTimeoutError;
        let until = self.asked_at + PROBE_DEADLINE + Duration::from_millis(2);
        let left = until.saturating_duration_since(std::time::Instant::now());
        match self.answer.recv_timeout(left) {
            Ok(done) => {
                self.taken = true;
                self.record(&done);
                Ok(Some(done))
            }
            Err(RecvTimeoutError::Timeout) => Err(self),
            Err(RecvTimeoutError::Disconnected) => {
                self.taken = true;
                Ok(None)
            }
        }
    }

    /// Records whether the server answered (the root's busy mark), as `ask` does in line.
    fn record(&self, (watchman, since): &Probed) {
        let went = went(since, watchman.owed());
        asked_busy(
            &self.common,
            &self.key,
            self.was,
            !went.broken && !went.unwatched,
            went.timed_out,
        );
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if !self.taken
            && let Ok(done) = self.answer.recv()
        {
            self.record(&done);
        }
    }
}

/// Asks the monitor what changed in the worktree since the state's clock, without reading
/// the index (only its file's identity).
pub fn ask(repo: &gix::Repository) -> Asked {
    let mut asked = Asked {
        refused: None,
        workdir: PathBuf::new(),
        watchman: None,
        state: State::default(),
        fingerprint: String::new(),
        identity: None,
        since: Err(String::new()),
        broken: false,
        unwatched: false,
        timed_out: false,
        was: Busy::No,
        recrawls: None,
        moved_from: None,
        probe: None,
    };
    // Absolute, as watchman needs it (scans may run with the worktree as `.`).
    let Some(workdir) = repo.workdir().map(crate::git::normalize) else {
        asked.refused = Some("a bare repository".to_owned());
        return asked;
    };
    if let Some(why) = refused(repo) {
        asked.refused = Some(why.to_owned());
        return asked;
    }
    let common = repo.common_dir();
    let mut watchman = match Watchman::connect(common) {
        Ok(w) => w,
        Err(e) => {
            asked.refused = Some(crate::text::one_line(&e));
            return asked;
        }
    };
    let mut state = load_state(common, &workdir);
    let fingerprint = fingerprint(repo);
    let identity = index_identity_now(repo);
    let (watched_root, last_clock) = (state.watched.clone(), state.clock.clone());
    // A new index that was plain before: the monitor still says what changed on disk, and the
    // two indexes' trees what changed in the index (when the new one is plain too).
    let moved_from = (identity.is_some() && state.index != identity)
        .then_some(state.index_tree.as_deref())
        .flatten()
        .and_then(|hex| super::ObjectId::from_hex(hex.as_bytes()).ok());
    let unusable = if identity.is_none() || (state.index != identity && moved_from.is_none()) {
        Some("the index changed")
    } else if state.fingerprint != fingerprint {
        Some("the settings that decide status changed")
    } else {
        None
    };
    // A server that did not answer lately is only probed: it answers nothing about a root
    // it is crawling, and the full scan does not wait for it.
    let key = busy_key(&state, &workdir);
    let was = busy(common, &key);
    // Another server than the one that gave the clock (a restart): its answer can only say
    // so, and it answers nothing before it has crawled the root again (it restores its
    // watches when it starts): the question is a probe.
    let then = last_clock.as_deref().and_then(clock_pid);
    let now = (was == Busy::No && then.is_some()).then(|| watchman.pid());
    let restarted = matches!(&now, Some(Ok(now)) if Some(*now) != then);
    // A server that does not say even that is hung (or stopped).
    let hung = matches!(&now, Some(Err(e)) if e.timed_out());
    let deadline = if restarted {
        PROBE_DEADLINE
    } else {
        was.deadline(DEADLINE)
    };
    let _ = watchman.set_deadline(deadline);
    let since = match (&watched_root, &last_clock) {
        (Some(_), Some(_)) if hung => {
            (asked.broken, asked.timed_out) = (true, true);
            Err(unanswered())
        }
        (Some(watched), Some(since_clock)) if let Some(why) = unusable => {
            // A full scan: watchman's recrawl count, seen before its new clock is taken, is
            // kept with that clock (one full scan, not a second one for an old recrawl).
            match watchman.recrawls(watched, since_clock) {
                Ok(count) => asked.recrawls = count,
                Err(MonitorError::Server(text)) if text.contains("is not watched") => {
                    asked.unwatched = true;
                }
                Err(e) => {
                    asked.broken = watchman.owed();
                    asked.timed_out = e.timed_out();
                }
            }
            Err(why.to_owned())
        }
        (Some(watched), Some(since_clock)) if was == Busy::Lately => {
            let skip = inner_worktrees_kept(repo, &workdir, &mut state);
            let (watched, since_clock) = (watched.clone(), since_clock.clone());
            let mut watchman = watchman;
            asked.was = was;
            let (send, answer) = std::sync::mpsc::sync_channel(1);
            let asked_at = std::time::Instant::now();
            let thread = std::thread::Builder::new().spawn(move || {
                let since = watchman.since(&watched, &since_clock, &skip);
                let _ = watchman.set_deadline(DEADLINE);
                let _ = send.send((watchman, since));
            });
            match thread {
                Ok(_) => {
                    asked.probe = Some(Probe {
                        answer,
                        asked_at,
                        taken: false,
                        common: common.to_owned(),
                        key,
                        was,
                    });
                }
                // Not asked: a full scan, the server's mark left as it is.
                Err(_) => asked.refused = Some("no thread to ask watchman on".to_owned()),
            }
            return Asked {
                workdir,
                state,
                fingerprint,
                identity,
                since: Err(unanswered()),
                moved_from,
                ..asked
            };
        }
        (Some(watched), Some(since_clock)) => {
            let skip = inner_worktrees_kept(repo, &workdir, &mut state);
            let since = watchman.since(watched, since_clock, &skip);
            judge_since(since, watchman.owed(), state.recrawls, &mut asked)
        }
        _ => Err("no answer from the monitor yet".to_owned()),
    };
    if watched_root.is_some() && last_clock.is_some() {
        let answered = !asked.broken && !asked.unwatched;
        asked_busy(common, &key, was, answered, asked.timed_out);
    }
    asked.was = was;
    let _ = watchman.set_deadline(DEADLINE);
    Asked {
        workdir,
        watchman: Some(watchman),
        state,
        fingerprint,
        identity,
        since,
        moved_from,
        ..asked
    }
}

/// How a question since the state's clock went: `owed`, the connection still owes an answer.
#[derive(Debug, Default)]
struct Went {
    /// Unanswered (in time), or the connection is of no more use.
    broken: bool,
    /// The server does not watch the root.
    unwatched: bool,
    timed_out: bool,
}

fn went(since: &Result<Since, MonitorError>, owed: bool) -> Went {
    match since {
        Err(MonitorError::Server(text)) if text.contains("is not watched") => Went {
            unwatched: true,
            ..Went::default()
        },
        Err(e) if e.timed_out() => Went {
            broken: true,
            timed_out: true,
            ..Went::default()
        },
        Err(_) => Went {
            broken: owed,
            ..Went::default()
        },
        Ok(_) => Went::default(),
    }
}

/// What watchman's answer to the question since the state's clock means for the scan, with
/// how the question went noted in `asked` (`owed`: the connection still owes an answer;
/// `recrawls`: the count kept with the state's clock).
fn judge_since(
    since: Result<Since, MonitorError>,
    owed: bool,
    recrawls: Option<u64>,
    asked: &mut Asked,
) -> Result<Since, String> {
    let how = went(&since, owed);
    asked.broken |= how.broken;
    asked.unwatched |= how.unwatched;
    asked.timed_out |= how.timed_out;
    match since {
        Err(_) if how.unwatched => {
            Err("watchman lost the watch (it restarted, or the watch was removed)".to_owned())
        }
        Err(_) if how.timed_out => Err(unanswered()),
        Err(e) => Err(crate::text::one_line(&e)),
        Ok(since) if since.fresh => {
            asked.recrawls = since.known_recrawls();
            Err("watchman restarted or lost the watch".to_owned())
        }
        Ok(since) if since.recrawled_since(recrawls) => {
            asked.recrawls = since.known_recrawls();
            Err("watchman recrawled (its queue overflowed)".to_owned())
        }
        Ok(since) => Ok(since),
    }
}

/// `asked` with the answer to its probe on a thread judged, waited for until about the
/// probe's deadline. A probe still waiting then is given back, unjudged: the caller scans in
/// full without it, and keeps it until the scan is done (dropped, it records how it went).
/// During a restoring restart's crawl, joining the thread took 10–14 ms after the index was
/// read, every time; now 3–4 ms.
fn settle(mut asked: Asked) -> (Asked, Option<Probe>) {
    let Some(probe) = asked.probe.take() else {
        return (asked, None);
    };
    let (watchman, since) = match probe.finish() {
        Ok(Some(done)) => done,
        Ok(None) => {
            asked.refused = Some("the question to watchman failed".to_owned());
            return (asked, None);
        }
        Err(waiting) => return (asked, Some(waiting)),
    };
    asked.since = judge_since(since, watchman.owed(), asked.state.recrawls, &mut asked);
    asked.watchman = Some(watchman);
    (asked, None)
}

impl Asked {
    /// Whether this answer tells about the worktree since `seen` (the monitor's state is
    /// still as of `seen`'s clock): Some(true) when nothing changed since, not a file, not
    /// the index, not the settings; None when it is about another clock (a scan since moved
    /// the state on) and cannot tell.
    pub fn unchanged_since(&self, seen: &Seen) -> Option<bool> {
        if self.state.clock.as_deref() != Some(seen.clock.as_str())
            || self.state.watched.as_ref() != Some(&seen.watched)
        {
            return None;
        }
        Some(
            self.identity.as_deref() == Some(seen.index.as_str())
                && self.fingerprint == seen.fingerprint
                && self
                    .since
                    .as_ref()
                    .is_ok_and(|since| since.files.is_empty()),
        )
    }
}

/// The second half of [`worktree_changes_for_capture`]: what changed, from what the monitor
/// said (`asked`) and the index read since.
pub fn answer(
    repo: &gix::Repository,
    index: &gix::index::File,
    asked: Asked,
) -> Result<(WorktreeChanges, Answer, Option<Unsaved>), RepoError> {
    let full = |why: &str| -> Result<(WorktreeChanges, Answer, Option<Unsaved>), RepoError> {
        Ok((scan::full_scan(repo, index)?, Answer::full(why), None))
    };
    // Kept until the scan is done, whichever way it goes.
    let (asked, _waiting) = settle(asked);
    if let Some(why) = &asked.refused {
        return full(why);
    }
    let Asked {
        workdir,
        watchman,
        mut state,
        fingerprint,
        since,
        broken,
        unwatched,
        timed_out,
        was: asked_was,
        identity: asked_identity,
        mut recrawls,
        moved_from,
        ..
    } = asked;
    let identity = index_identity(index);
    // The scan where the monitor cannot help, with what the last capture computed when it
    // can still be taken ([`kept_memo`]).
    let full_kept = |state: &State, why: &str| {
        scan_with_kept_memo(repo, index, state, &identity, &fingerprint, why)
            .map(|(changes, answer, _)| (changes, answer, None))
    };
    // No connection: it is the probe's, still waiting for a server busy crawling. A full
    // scan, as when the probe gets no answer in time.
    let Some(mut watchman) = watchman else {
        return full_kept(&state, &since.err().unwrap_or_else(unanswered));
    };
    let common = repo.common_dir().to_owned();
    let mut clock = None;
    let since = match since {
        // Written between the question and the reading: not the index the answer is about.
        Ok(since) if asked_identity.as_deref() != Some(identity.as_str()) => {
            recrawls = since.known_recrawls();
            Err("the index changed".to_owned())
        }
        other => other,
    };
    let why = match since {
        Err(why) => why,
        Ok(since) => {
            let watched = state.watched.clone().expect("asked with a watch");
            let reported: Vec<BString> = since.files.iter().map(|(path, _)| path.clone()).collect();
            // The count as of the answer's clock, whichever way the scan goes from here.
            recrawls = since.known_recrawls();
            let mut files = since.files;
            let moved = match moved_from {
                None => Ok(()),
                Some(old) => index_moves(repo, old, index).map(|changed| {
                    crate::fault::point("monitor-index-moved");
                    files.extend(changed.into_iter().map(|path| (path, false)));
                    // Its trees were of the directories that differed from the old index.
                    state.memo = None;
                    // Files whose stat data is stale may be left out of what is listed.
                    state.stale = true;
                }),
            };
            match moved.and_then(|()| plan(&state, files, index.entries().len())) {
                Err(why) => {
                    clock = Some(since.clock);
                    why
                }
                Ok((candidates, subtrees)) => {
                    // Failing (out of file descriptors, say) it leaves the full scan to answer.
                    match scan::scan_candidates(repo, index, &candidates, &subtrees) {
                        Err(e) => {
                            clock = Some(since.clock);
                            format!(
                                "the scan of what was reported failed: {}",
                                crate::text::one_line(&e)
                            )
                        }
                        Ok(changes) => {
                            // Kept for this index, unless the tree kept is not its cached root.
                            let root = index_tree::valid_root(index).map(|id| id.to_string());
                            if moved_from.is_some()
                                || state.index_entries == 0
                                || (state.index_tree.is_some() && state.index_tree != root)
                            {
                                state.index = Some(identity.clone());
                                remember_index(&mut state, index);
                            }
                            let answer = monitored(
                                &mut state,
                                Seen {
                                    watched,
                                    clock: since.clock,
                                    index: identity,
                                    fingerprint,
                                    recrawls,
                                },
                                &reported,
                                &subtrees,
                                &changes,
                            );
                            let unsaved = Unsaved {
                                common,
                                workdir,
                                state,
                            };
                            return Ok((changes, answer, Some(unsaved)));
                        }
                    }
                }
            }
        }
    };
    // A full scan, with a clock taken before its first stat (a change made while it runs is
    // reported next time). watchman answers nothing about a root before it has crawled it:
    // a server that did not answer, or that must watch the root again, is not waited for
    // (the crawl goes on; a later scan, finding that it answers, gets the clock).
    let key = busy_key(&state, &workdir);
    let was = busy(&common, &key);
    if broken {
        // A question that waited its whole deadline: a server crawling, or one with a long
        // answer to give (a checkout changed 300,000 files). A watch and a clock asked as
        // probes on a new connection tell them apart: given, the next scans go on from here.
        if !timed_out || asked_was == Busy::Lately {
            return full_kept(&state, &why);
        }
        match Watchman::connect(&common) {
            Ok(fresh) => watchman = fresh,
            Err(_) => {
                return full_kept(&state, &why);
            }
        }
    } else if was == Busy::Lately && !unwatched {
        return full_kept(&state, &why);
    }
    // Not watched though asked to within the window: the root watchman chose for it is
    // another (a session once watched on its own, the main worktree's root watched now),
    // which only the setup below learns.
    if unwatched
        && was != Busy::Lately
        && let Some(watched) = &state.watched
        && Path::new(&watched.root).is_dir()
    {
        // The root it watched before (the main worktree's, for a session inside it), so the
        // worktrees keep sharing one watch after a restart; asked after the scan, which its
        // crawl would slow down (both read the same directories).
        let scanned = full_kept(&state, &why)?;
        let _ = watchman.start_watching(Path::new(&watched.root));
        mark_busy(&common, &key);
        return Ok(scanned);
    }
    // Within the window (after a question that waited its whole deadline, or for a lost
    // watch asked for again), the watch and the clock are probes too.
    let _ = watchman.set_deadline(was.deadline(SETUP_DEADLINE));
    if let Some(Watched {
        root,
        relative: Some(_),
    }) = &state.watched
        && Path::new(root).is_dir()
    {
        let _ = watchman.watch(Path::new(root));
    }
    // A watch that timed out (the root is being crawled) leaves the connection owing its
    // answer: no clock is asked for then.
    let watched = watchman.watch(&workdir);
    // A count is kept only with a clock of the root that said it.
    if let Ok(now) = &watched
        && state.watched.as_ref().map(|w| &w.root) != Some(&now.root)
    {
        recrawls = None;
    }
    if clock.is_none() {
        clock = watched.as_ref().ok().and_then(|w| watchman.clock(w).ok());
    }
    let answered = watched.is_ok() && clock.is_some();
    // (The watch of the root above may be the call that timed out.)
    asked_busy(&common, &key, was, answered, watchman.owed());
    let started = std::time::SystemTime::now();
    let (changes, mut answer, attributes) =
        scan_with_kept_memo(repo, index, &state, &identity, &fingerprint, &why)?;
    if let (Ok(watched), Some(clock)) = (watched, clock) {
        answer.seen = Some(Seen {
            watched: watched.clone(),
            clock: clock.clone(),
            index: identity.clone(),
            fingerprint: fingerprint.clone(),
            // A count seen before the clock was taken: a recrawl after it is still told.
            recrawls,
        });
        state.watched = Some(watched);
        state.clock = Some(clock);
        state.recrawls = recrawls;
        state.fingerprint = fingerprint;
        state.index = Some(identity);
        remember_index(&mut state, index);
        state.listed = listed(&changes);
        state.stale = false;
        state.memo = None;
        state.attributes_digest = attributes.filter(|_| !scan::attributes_racy(&changes, started));
        state.monitored = false;
        state.last_full = Some((why, crate::session::time::now_secs()));
        save_state(&common, &workdir, &state);
    }
    Ok((changes, answer, None))
}

/// A full scan where the monitor's answer could not be had or used, with what the last
/// capture computed when it can still be taken ([`kept_memo`]), and the digest of the
/// `.gitattributes` files the scan met ([`scan::attributes_digest`]).
fn scan_with_kept_memo(
    repo: &gix::Repository,
    index: &gix::index::File,
    state: &State,
    identity: &str,
    fingerprint: &str,
    why: &str,
) -> Result<(WorktreeChanges, Answer, Option<String>), RepoError> {
    let changes = scan::full_scan(repo, index)?;
    let mut answer = Answer::full(why);
    let attributes = scan::attributes_digest(&changes, repo.object_hash());
    answer.memo = kept_memo(state, identity, fingerprint, attributes.as_deref());
    Ok((changes, answer, attributes))
}

/// What the last capture computed, for a full scan that is not refused the monitor (the
/// monitor could not answer: a restart, a crawl, a recrawl, a lost watch; or its answer
/// could not be used: the top `.gitignore` changed, too many paths changed): the capture
/// takes an id from it only for a file whose stat data is as it was then, and a tree only
/// where nothing below it is in doubt, as after a monitor's answer.
/// The monitor would have said what changed since; here the full scan's listing does, for
/// the contents, and for how they hash: the index and the settings must be the ones the ids
/// were computed with, and the scan must have met the same `.gitattributes` files with the
/// same stat data as the last full scan with a clock (the monitor reported none since).
/// `attributes`: the digest of the `.gitattributes` files the scan met
/// ([`scan::attributes_digest`]).
fn kept_memo(
    state: &State,
    identity: &str,
    fingerprint: &str,
    attributes: Option<&str>,
) -> Option<Memo> {
    let same = state.index.as_deref() == Some(identity)
        && state.fingerprint == fingerprint
        && attributes.is_some()
        && state.attributes_digest.as_deref() == attributes;
    if !same {
        return None;
    }
    Memo::from_stored(state.memo.as_ref()?)
}

/// The state moved on to an answer from the monitor as of `seen`, which looked at what was
/// `reported` and walked `subtrees`: the paths `changes` lists are looked at again next time,
/// and what the last capture computed is kept less what was reported since (as valid as of
/// the new clock as it was as of the old one).
fn monitored(
    state: &mut State,
    seen: Seen,
    reported: &[BString],
    subtrees: &[BString],
    changes: &WorktreeChanges,
) -> Answer {
    let touched: Vec<&gix::bstr::BStr> = reported
        .iter()
        .chain(subtrees)
        .map(|p| p.as_ref())
        .collect();
    if touched.iter().any(|p| capture_memo::names_attributes(p)) {
        state.attributes_digest = None;
    }
    let memo = state
        .memo
        .take()
        .and_then(|stored| Memo::from_stored(&stored))
        .and_then(|mut memo| memo.forget(&touched).then_some(memo));
    state.memo = memo.as_ref().map(Memo::to_stored);
    state.clock = Some(seen.clock.clone());
    state.recrawls = seen.recrawls;
    state.listed = listed(changes);
    state.monitored = true;
    Answer {
        full_because: None,
        seen: Some(seen),
        memo,
    }
}

/// The paths whose entries differ between the plain index whose root tree was `old` and
/// `index` (read since), or why a full scan is needed instead.
fn index_moves(
    repo: &gix::Repository,
    old: super::ObjectId,
    index: &gix::index::File,
) -> Result<Vec<BString>, String> {
    let new = index_tree::plain_root(index).ok_or("the index changed")?;
    let most = 1000 + index.entries().len() / MOST;
    let many = || "the index changed in many places".to_owned();
    let mut trees = index_tree::Trees::default();
    let mut paths = index_tree::changed_paths(repo, &mut trees, old, new, most)
        .ok()
        .flatten()
        .ok_or_else(many)?;
    // Entries whose stat data the new index dropped or cannot vouch for: git looks at those
    // files again (a `read-tree` writes every entry without stat data).
    paths.extend(index_tree::unsure_entries(index, most).ok_or_else(many)?);
    Ok(paths)
}

/// What the state keeps of the index its answers are about, for a capture that stands the
/// index's tree in for it.
fn remember_index(state: &mut State, index: &gix::index::File) {
    state.index_tree = index_tree::plain_root(index).map(|id| id.to_string());
    state.index_entries = index.entries().len();
}

/// An answer from the monitor that did not read the index: the index is the one the state
/// was about (its file's identity says so) and was plain then, so its root tree stands in
/// for it ([`index_tree`]).
pub struct IndexFree {
    /// What the scan asked of the index, from its tree.
    pub stand_in: gix::index::State,
    /// The index's root tree.
    pub root: super::ObjectId,
    /// The tree objects read for the stand-in (the capture edits the same trees).
    pub trees: index_tree::Trees,
    /// What differs from the index, as the scan found it.
    pub changes: WorktreeChanges,
    /// Where the answer came from (the monitor), as of what, and the last capture's memo.
    pub answer: Answer,
    /// The monitor's state moved on to this answer, written with what the capture computes.
    pub unsaved: Unsaved,
    /// The index file's identity the answer is for: the capture checks it again at its end.
    pub identity: String,
}

/// The monitor's answer without reading the index, when the state allows it (see
/// [`IndexFree`]); None otherwise, or when anything fails (the index is read then, and a
/// failure is told as it would be).
pub fn answer_without_index(repo: &gix::Repository, asked: &Asked) -> Option<IndexFree> {
    if asked.refused.is_some() {
        return None;
    }
    let since = asked.since.as_ref().ok()?;
    let identity = asked.identity.clone()?;
    // Only an index with a checksum vouches for ids computed against it.
    if identity.starts_with(':') || asked.state.index.as_deref() != Some(identity.as_str()) {
        return None;
    }
    let root = super::ObjectId::from_hex(asked.state.index_tree.as_deref()?.as_bytes()).ok()?;
    // Where git trusts stat data a metadata change leaves as it was, a reported file is not
    // hashed again; a stand-in has no stat data (`index_tree`).
    let config = repo.config_snapshot();
    if config.boolean("core.trustctime") == Some(false)
        || config
            .string("core.checkStat")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"minimal"))
    {
        return None;
    }
    let (candidates, subtrees) =
        plan(&asked.state, since.files.clone(), asked.state.index_entries).ok()?;
    // A new directory or changed ignore rules: walked with the index's entries below.
    if !subtrees.is_empty() {
        return None;
    }
    let mut trees = index_tree::Trees::default();
    let stand_in =
        index_tree::stand_in(repo, root, &asked.workdir, &candidates, &mut trees).ok()??;
    let changes = scan::scan_candidates(repo, &stand_in, &candidates, &[]).ok()?;
    let mut state = asked.state.clone();
    let reported: Vec<BString> = since.files.iter().map(|(path, _)| path.clone()).collect();
    let seen = Seen {
        watched: state.watched.clone()?,
        clock: since.clock.clone(),
        index: identity.clone(),
        fingerprint: asked.fingerprint.clone(),
        recrawls: since.known_recrawls(),
    };
    let answer = monitored(&mut state, seen, &reported, &[], &changes);
    Some(IndexFree {
        identity: identity.clone(),
        stand_in,
        root,
        trees,
        changes,
        answer,
        unsaved: Unsaved {
            common: repo.common_dir().to_owned(),
            workdir: asked.workdir.clone(),
            state,
        },
    })
}

/// The index file's identity now (read from the file alone).
pub fn index_identity_now(repo: &gix::Repository) -> Option<String> {
    index_file_identity(&repo.index_path(), repo.object_hash().len_in_bytes())
}

/// Keeps what a capture computed from the answer `seen` describes: with the state that
/// answer moved on when it is not written yet, else when the state still is as of that
/// answer (a scan since may have moved it on: then nothing is kept).
/// `clean`: files the scan listed that turned out to hold what the index says (git left
/// their stat data stale); they are not listed again until the monitor reports them.
pub fn remember(
    repo: &gix::Repository,
    seen: &Seen,
    memo: &Memo,
    unsaved: Option<Unsaved>,
    clean: &[&gix::bstr::BStr],
) {
    let forget_clean = |state: &mut State| {
        if !clean.is_empty() {
            let clean: std::collections::HashSet<String> =
                clean.iter().map(|p| crate::oplog::to_hex(p)).collect();
            state.listed.retain(|hex| !clean.contains(hex));
            state.stale = true;
        }
    };
    if let Some(mut unsaved) = unsaved {
        unsaved.state.memo = Some(memo.to_stored());
        forget_clean(&mut unsaved.state);
        unsaved.save();
        return;
    }
    let Some(workdir) = repo.workdir().map(crate::git::normalize) else {
        return;
    };
    let common = repo.common_dir();
    let mut state = load_state(common, &workdir);
    if state.clock.as_deref() != Some(seen.clock.as_str())
        || state.index.as_deref() != Some(seen.index.as_str())
        || state.fingerprint != seen.fingerprint
    {
        return;
    }
    state.memo = Some(memo.to_stored());
    forget_clean(&mut state);
    save_state(common, &workdir, &state);
}

/// The index with identity `old` was written again as `new` with only stat data brought up
/// to date (`index_refresh`): the same entries, so a state about the one is about the other.
pub fn index_refreshed(repo: &gix::Repository, old: &str, new: &str) {
    let Some(workdir) = repo.workdir().map(crate::git::normalize) else {
        return;
    };
    let common = repo.common_dir();
    let mut state = load_state(common, &workdir);
    if state.index.as_deref() == Some(old) {
        state.index = Some(new.to_owned());
        save_state(common, &workdir, &state);
    }
}

/// Forgets what the last capture of this worktree computed, and the index's tree kept for a
/// stand-in (`fsmonitor verify` found the monitor's answer wrong: nothing computed from such
/// answers is taken again).
pub fn forget_memo(repo: &gix::Repository) {
    let Some(workdir) = repo.workdir().map(crate::git::normalize) else {
        return;
    };
    let common = repo.common_dir();
    let mut state = load_state(common, &workdir);
    let kept = state.memo.take().is_some()
        | state.index_tree.take().is_some()
        | state.attributes_digest.take().is_some();
    if kept {
        state.index_entries = 0;
        save_state(common, &workdir, &state);
    }
}

/// What the monitor says about a worktree since an answer was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Look {
    /// Nothing changed: the answer still stands.
    Unchanged,
    /// Files changed; the newest modification time among those that exist (seconds), None
    /// when only deletions were reported.
    Touched { newest: Option<i64> },
    /// The monitor cannot say (no server, a restart), or no file changed but the index or
    /// the settings did.
    Unknown,
}

/// Asks the monitor, without reading any index, whether worktrees changed since answers
/// were given (`look`): for the hooks, which cannot afford a scan per worktree.
pub struct Looker {
    /// None once a question went unanswered (the connection may still owe the answer).
    watchman: Option<Watchman>,
    /// The server's process id, once asked (None inside: it did not say).
    pid: Option<Option<u64>>,
    common: PathBuf,
    fingerprint: String,
    hash_len: usize,
    worktrees: Vec<PathBuf>,
    /// Roots watchman has been synced with in this looker (once is enough: every question
    /// after it is about a time after it).
    synced: Vec<String>,
}

impl Looker {
    /// None when the monitor is off or no server answers. `repo` is any worktree of the
    /// repository (for the settings).
    pub fn new(repo: &gix::Repository) -> Option<Looker> {
        // The hooks wait for these answers: a server slower than this is no help there.
        let watchman = usable(repo, LOOK_DEADLINE)?;
        let worktrees = worktree_bases(repo);
        Some(Looker {
            watchman: Some(watchman),
            pid: None,
            common: repo.common_dir().to_owned(),
            fingerprint: fingerprint(repo),
            hash_len: repo.object_hash().len_in_bytes(),
            worktrees,
            synced: Vec::new(),
        })
    }

    /// Whether anything changed in the worktree at `workdir` since `seen`: the index file's
    /// time and checksum, the settings, and one question to watchman.
    pub fn look(&mut self, workdir: &Path, seen: &Seen) -> Look {
        self.look_all(&[(workdir, seen)])
            .pop()
            .unwrap_or(Look::Unknown)
    }

    /// [`look`](Self::look) at several worktrees (a hook looks at every session with work
    /// in it). Those below one watched root are asked about together first, in one question
    /// since the oldest of their clocks with a term per worktree (its directory, since its
    /// own clock): a worktree it finds nothing in has nothing changed since its clock. Only
    /// the others are asked about on their own.
    pub fn look_all(&mut self, asks: &[(&Path, &Seen)]) -> Vec<Look> {
        let mut looks = vec![Look::Unknown; asks.len()];
        // Another index or other settings than the answer's: files unchanged do not say the
        // answer stands, files changed still say when (a session just worked in, whose
        // `git status` or commit rewrote its index, is not forgotten).
        let moved: Vec<bool> = asks
            .iter()
            .map(|(workdir, seen)| {
                cheap_index_identity(workdir, self.hash_len).as_deref() != Some(seen.index.as_str())
                    || self.fingerprint != seen.fingerprint
            })
            .collect();
        self.look_asked(asks, &mut looks);
        for (look, moved) in looks.iter_mut().zip(moved) {
            if moved && *look == Look::Unchanged {
                *look = Look::Unknown;
            }
        }
        looks
    }

    /// [`look_all`](Self::look_all)'s questions, their answers put in `looks`.
    fn look_asked(&mut self, asks: &[(&Path, &Seen)], looks: &mut [Look]) {
        // Those watchman is asked about.
        let mut asked: Vec<usize> = Vec::new();
        for (index, (_, seen)) in asks.iter().enumerate() {
            let Some(watchman) = &mut self.watchman else {
                return;
            };
            // Another server than the one that gave the clock (a restart) can only say so,
            // once it has crawled the root again.
            let pid = match self.pid {
                Some(pid) => pid,
                None => {
                    // A server that did not answer lately (crawling) is only probed.
                    let was = busy(&self.common, &seen.watched.root);
                    let _ = watchman.set_deadline(was.deadline(LOOK_DEADLINE));
                    match watchman.pid() {
                        Err(e) if e.timed_out() => {
                            asked_busy(&self.common, &seen.watched.root, was, false, true);
                            self.watchman = None;
                            return;
                        }
                        answer => *self.pid.insert(answer.ok()),
                    }
                }
            };
            if given_by(&seen.clock, pid) {
                asked.push(index);
            }
        }
        let mut roots: Vec<&str> = Vec::new();
        for index in &asked {
            let root = asks[*index].1.watched.root.as_str();
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
        let mut alone = Vec::new();
        for root in roots {
            let group: Vec<usize> = asked
                .iter()
                .filter(|index| asks[**index].1.watched.root == root)
                .copied()
                .collect();
            match self.look_together(asks, &group, looks) {
                Some(left) => alone.extend(left),
                None => return,
            }
        }
        alone.sort_unstable();
        for index in alone {
            let (workdir, seen) = asks[index];
            looks[index] = self.look_alone(workdir, seen);
            if self.watchman.is_none() {
                break;
            }
        }
    }

    /// One question for `group` (worktrees below one root): settles in `looks` those it
    /// can, and returns the others. None when watchman failed to answer.
    fn look_together(
        &mut self,
        asks: &[(&Path, &Seen)],
        group: &[usize],
        looks: &mut [Look],
    ) -> Option<Vec<usize>> {
        let [first, _, ..] = group else {
            return Some(group.to_vec());
        };
        // The oldest clock, when all were given by one instance of the root's watch.
        let instance = |clock: &str| {
            let (instance, ticks) = clock.rsplit_once(':')?;
            Some((instance.to_owned(), ticks.parse::<u64>().ok()?))
        };
        let clocks: Option<Vec<(String, u64)>> = group
            .iter()
            .map(|index| instance(&asks[*index].1.clock))
            .collect();
        let Some(clocks) = clocks.filter(|c| c.iter().all(|(i, _)| *i == c[0].0)) else {
            return Some(group.to_vec());
        };
        let oldest = clocks.iter().map(|(_, ticks)| *ticks).min()?;
        let oldest = format!("{}:{oldest}", clocks[0].0);
        let watched = &asks[*first].1.watched;
        let within: Vec<(Option<&str>, &str)> = group
            .iter()
            .map(|index| {
                let seen = asks[*index].1;
                (seen.watched.relative.as_deref(), seen.clock.as_str())
            })
            .collect();
        let was = busy(&self.common, &watched.root);
        let watchman = self.watchman.as_mut()?;
        let sync = !self.synced.contains(&watched.root);
        let _ = watchman.set_deadline(was.deadline(LOOK_DEADLINE));
        let answer = watchman.changed_within(&watched.root, &oldest, &within, sync);
        let _ = watchman.set_deadline(LOOK_DEADLINE);
        let timed_out = answer.as_ref().err().is_some_and(MonitorError::timed_out);
        asked_busy(&self.common, &watched.root, was, answer.is_ok(), timed_out);
        let Ok(since) = answer else {
            self.watchman = None;
            return None;
        };
        if sync {
            self.synced.push(watched.root.clone());
        }
        let inside = |path: &[u8], relative: Option<&str>| {
            relative.is_none_or(|dir| {
                path.strip_prefix(dir.as_bytes())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/"))
            })
        };
        // A path in none of the directories (a root that ignores case matched it by
        // another spelling): the answer is not told apart, each is asked on its own.
        let unplaced = since.files.iter().any(|(path, _)| {
            !within
                .iter()
                .any(|(relative, _)| inside(path.as_slice(), *relative))
        });
        if since.fresh || unplaced {
            return Some(group.to_vec());
        }
        let mut left = Vec::new();
        for &index in group {
            let seen = asks[index].1;
            let relative = seen.watched.relative.as_deref();
            // Reported here: changed since its own clock, or since another's whose
            // directory holds this one. Its own question tells.
            let touched = since
                .files
                .iter()
                .any(|(path, _)| inside(path.as_slice(), relative));
            if since.recrawled_since(seen.recrawls) {
                looks[index] = Look::Unknown;
            } else if touched {
                left.push(index);
            } else {
                looks[index] = Look::Unchanged;
            }
        }
        Some(left)
    }

    /// One question about the worktree at `workdir`, since `seen`'s clock.
    fn look_alone(&mut self, workdir: &Path, seen: &Seen) -> Look {
        // Read again: a question just answered about the root may have cleared the mark.
        let was = busy(&self.common, &seen.watched.root);
        let skip = below(&self.worktrees, workdir);
        let Some(watchman) = &mut self.watchman else {
            return Look::Unknown;
        };
        let sync = !self.synced.contains(&seen.watched.root);
        let _ = watchman.set_deadline(was.deadline(LOOK_DEADLINE));
        let answer = watchman.since_with_times(&seen.watched, &seen.clock, &skip, sync);
        let _ = watchman.set_deadline(LOOK_DEADLINE);
        if sync && answer.is_ok() {
            self.synced.push(seen.watched.root.clone());
        }
        let timed_out = answer.as_ref().err().is_some_and(MonitorError::timed_out);
        asked_busy(
            &self.common,
            &seen.watched.root,
            was,
            answer.is_ok(),
            timed_out,
        );
        match answer {
            Ok((since, _)) if since.fresh || since.recrawled_since(seen.recrawls) => Look::Unknown,
            Ok((since, _)) if since.files.is_empty() => Look::Unchanged,
            Ok((_, newest)) => Look::Touched { newest },
            Err(_) => {
                self.watchman = None;
                Look::Unknown
            }
        }
    }
}

/// [`index_identity`] from the file alone: its modification time and its trailing checksum
/// (the index of a linked worktree is in the directory its `.git` file names).
fn cheap_index_identity(workdir: &Path, hash_len: usize) -> Option<String> {
    index_file_identity(
        &super::repo::git_dir_of_workdir(workdir)?.join("index"),
        hash_len,
    )
}

/// [`cheap_index_identity`] of the index file at `path`.
pub(super) fn index_file_identity(path: &Path, hash_len: usize) -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::MetadataExt;
    let mut file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    file.seek(SeekFrom::End(-(hash_len as i64))).ok()?;
    let mut trailer = vec![0; hash_len];
    file.read_exact(&mut trailer).ok()?;
    let null = trailer.iter().all(|b| *b == 0);
    let checksum = if null {
        String::new()
    } else {
        crate::oplog::to_hex(&trailer)
    };
    let mut identity = format!("{checksum}:{}.{}", meta.mtime(), meta.mtime_nsec());
    if null {
        identity.push_str(&format!(":{}:{}", meta.size(), meta.ino()));
    }
    Some(identity)
}

/// The paths to judge and the directories to walk for what the monitor reported, or why a
/// full scan is needed instead.
#[allow(clippy::type_complexity)]
fn plan(
    state: &State,
    files: Vec<(BString, bool)>,
    tracked: usize,
) -> Result<(Vec<BString>, Vec<BString>), String> {
    // Paths inside the git directory of a repository below the worktree (a commit, a
    // checkout, a repository just made in a directory that was there) stand for that
    // repository's directory: its HEAD is what a scan records, nothing else tells of it (the
    // directory itself need not be reported), and what is inside is no file of this
    // worktree's (a `git gc` there reports thousands).
    let mut repositories: std::collections::BTreeSet<BString> = Default::default();
    let files: Vec<(BString, bool)> = files
        .into_iter()
        .filter(|(path, _)| match repository_of(path.as_ref()) {
            Some(repository) => {
                repositories.insert(repository.into());
                false
            }
            None => true,
        })
        .collect();
    let reported = files.len() + repositories.len();
    if reported > 1000 && reported > tracked / MOST {
        return Err(format!("{reported} paths changed (a walk is cheaper)"));
    }
    let mut candidates: Vec<BString> = state
        .listed
        .iter()
        .filter_map(|h| crate::oplog::from_hex(h).map(BString::from))
        .collect();
    let mut subtrees = Vec::new();
    let attributes = files
        .iter()
        .any(|(path, _)| capture_memo::names_attributes(path.as_ref()));
    if attributes && state.stale {
        return Err(
            "a .gitattributes changed, and files with stale stat data are not listed".to_owned(),
        );
    }
    for repository in repositories {
        if repository.contains_str("\u{FFFD}") {
            return Err("a name watchman cannot spell changed".to_owned());
        }
        candidates.push(repository);
    }
    for (path, new_dir) in files {
        if path.as_slice() == b".gitignore" {
            return Err("the top .gitignore changed".to_owned());
        }
        if path.contains_str("\u{FFFD}") {
            // watchman spells a name that is not UTF-8 with replacement characters.
            return Err("a name watchman cannot spell changed".to_owned());
        }
        if let Some(dir) = path.strip_suffix(b"/.gitignore") {
            // New rules below `dir`: everything in it is judged anew.
            subtrees.push(BString::from(dir));
        } else if new_dir {
            subtrees.push(path.clone());
        }
        candidates.push(path);
    }
    Ok((candidates, subtrees))
}

/// The directory of the repository below the worktree that `path` is in the git directory
/// of (`nested` for `nested/.git/HEAD`), if any.
fn repository_of(path: &gix::bstr::BStr) -> Option<&gix::bstr::BStr> {
    let mut start = 0;
    for part in path.split(|b| *b == b'/') {
        if part == b".git" {
            return (start > 0).then(|| path[..start - 1].as_bstr());
        }
        start += part.len() + 1;
    }
    None
}

fn listed(changes: &WorktreeChanges) -> Vec<String> {
    changes
        .removed
        .iter()
        .chain(&changes.to_hash)
        .map(|p| crate::oplog::to_hex(p))
        .collect()
}

/// Directories below this worktree that are other worktrees (sessions' worktrees inside the
/// main one): their changes are not this worktree's.
/// [`inner_worktrees`], kept in `state` while the list of worktrees has not changed.
fn inner_worktrees_kept(repo: &gix::Repository, workdir: &Path, state: &mut State) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let listed = std::fs::metadata(repo.common_dir().join("worktrees"))
        .map(|m| format!("{}.{}", m.mtime(), m.mtime_nsec()))
        .unwrap_or_default();
    if let Some((at, inner)) = &state.inner
        && *at == listed
    {
        return inner.clone();
    }
    let inner = inner_worktrees(repo, workdir);
    state.inner = Some((listed, inner.clone()));
    inner
}

fn inner_worktrees(repo: &gix::Repository, workdir: &Path) -> Vec<String> {
    below(&worktree_bases(repo), workdir)
}

/// The linked worktrees' directories as git records them.
fn worktree_bases(repo: &gix::Repository) -> Vec<PathBuf> {
    repo.worktrees()
        .map(|all| all.iter().filter_map(|p| p.base().ok()).collect())
        .unwrap_or_default()
}

/// Those of `bases` below `workdir`, relative to it. git records worktrees by absolute
/// path: compared as spelled, with `workdir` as given and resolved (resolving each of many
/// costs more than a scan). One missed only costs time: its changes are judged as the full
/// scan judges them (an ignored directory, or a nested repository).
fn below(bases: &[PathBuf], workdir: &Path) -> Vec<String> {
    let spellings = [workdir.to_owned(), crate::git::canonical(workdir)];
    bases
        .iter()
        .filter_map(|base| {
            spellings.iter().find_map(|w| {
                base.strip_prefix(w)
                    .ok()
                    .filter(|rel| !rel.as_os_str().is_empty())
                    .and_then(|rel| rel.to_str().map(str::to_owned))
            })
        })
        .collect()
}

/// Says whether anything changed in a set of worktrees since it last asked, one question per
/// watched root: for the live view, which rebuilds its snapshot only then.
pub struct Ticker {
    watchman: Watchman,
    common: PathBuf,
    /// Each watched root (a worktree, or a directory above several), the clock of the last
    /// question and watchman's recrawl count then (None before the first answer).
    roots: Vec<(Watched, String, Option<u64>)>,
}

impl Ticker {
    /// None when the monitor is off, no server answers, or a worktree cannot be watched.
    pub fn new(repo: &gix::Repository, worktrees: &[PathBuf]) -> Option<Ticker> {
        // On the live view's loader thread: nothing waits for this but the first look.
        let mut watchman = usable(repo, TICKER_SETUP_DEADLINE)?;
        let mut roots: Vec<(Watched, String, Option<u64>)> = Vec::new();
        for path in worktrees {
            let watched = watchman.watch(&crate::git::normalize(path)).ok()?;
            let root = Watched {
                root: watched.root,
                relative: None,
            };
            if roots.iter().any(|(w, ..)| *w == root) {
                continue;
            }
            let clock = watchman.clock(&root).ok()?;
            roots.push((root, clock, None));
        }
        watchman.set_deadline(DEADLINE).ok()?;
        Some(Ticker {
            watchman,
            common: repo.common_dir().to_owned(),
            roots,
        })
    }

    /// Whether a file changed under any root since the last call (`.git` directories left
    /// out); None when the monitor could not say (the caller rebuilds then). A restart or a
    /// recrawl since the last call counts as a change, and the next call asks from there.
    pub fn changed(&mut self) -> Option<bool> {
        // A question that went unanswered leaves the connection owing its answer: another.
        if self.watchman.owed() {
            self.watchman = Watchman::connect(&self.common).ok()?;
        }
        let mut any = false;
        for (root, clock, known) in &mut self.roots {
            let since = self.watchman.since(root, clock, &[]).ok()?;
            let lost = since.fresh || since.recrawled_since(*known);
            any |= lost || !since.files.is_empty();
            *known = since.known_recrawls();
            *clock = since.clock;
        }
        Some(any)
    }
}

#[cfg(test)]
mod tests {
    use super::{State, clock_pid, plan, recrawl_count, repository_of};
    use gix::bstr::{BString, ByteSlice};

    #[test]
    fn what_changed_in_a_nested_git_directory_stands_for_its_repository() {
        let reported: Vec<(BString, bool)> = vec![
            ("nested/.git/objects/ab".into(), true),
            ("nested/.git/HEAD".into(), false),
            ("a.txt".into(), false),
        ];
        let (candidates, subtrees) = plan(&State::default(), reported, 10).unwrap();
        assert_eq!(
            candidates,
            [BString::from("nested"), BString::from("a.txt")]
        );
        assert!(subtrees.is_empty(), "no walk inside a git directory");
        // A `git gc` in it is one path, not a reason for a full scan.
        let many: Vec<(BString, bool)> = (0..5000)
            .map(|i| (BString::from(format!("nested/.git/objects/{i}")), false))
            .collect();
        assert_eq!(plan(&State::default(), many, 10).unwrap().0, ["nested"]);
    }

    #[test]
    fn a_change_in_a_git_directory_names_its_repository() {
        let of = |p: &str| repository_of(p.as_bytes().as_bstr()).map(|r| r.to_string());
        assert_eq!(of("nested/.git/HEAD").as_deref(), Some("nested"));
        assert_eq!(of("a/b/.git/refs/heads/main").as_deref(), Some("a/b"));
        assert_eq!(of("a/b/.git").as_deref(), Some("a/b"));
        assert_eq!(of(".git/HEAD"), None, "the worktree's own");
        assert_eq!(of("a/.gitignore"), None);
        assert_eq!(of("a/x.git/HEAD"), None);
    }

    #[test]
    fn the_server_pid_is_read_from_a_clock() {
        assert_eq!(clock_pid("c:1796411976:10810:1:2"), Some(10810));
        assert_eq!(clock_pid("c:1796411976"), None);
        assert_eq!(clock_pid("n:named-cursor"), None);
    }

    #[test]
    fn the_recrawl_count_is_read_from_the_warning() {
        let warning = "Recrawled this watch 3 times, most recently because:\nMustScanSubDirs UserDroppedTo resolve";
        assert_eq!(recrawl_count(warning), 3);
        assert_eq!(
            recrawl_count("Recrawled this watch 1 time, most recently because:"),
            1
        );
        assert_eq!(recrawl_count("something else went wrong"), u64::MAX);
    }
}
