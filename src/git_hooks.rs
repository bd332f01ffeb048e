//! Installing git-session's shims into the hook files git really runs, without owning them.
//!
//! Each hook file gets a few lines between marked begin and end lines, right after the
//! shebang, so a user hook ending in `exec …` or `exit` still lets ours run; everything else
//! in the file is the user's (or a hook manager's) and is never touched. Install is
//! idempotent, uninstall removes exactly the block (and the files install created), so the
//! file is restored byte for byte. Hook managers are detected and chained where they offer a
//! way: pre-commit runs `<hook>.legacy`, husky runs `.husky/<hook>` (tracked: only with
//! `--tracked`), lefthook runs a job in its local config (`lefthook`).
//!
//! Where hooks live follows git: `core.hooksPath` (a relative value is relative to the root
//! of the worktree git runs in, so each worktree may have its own directory), else
//! `$GIT_COMMON_DIR/hooks`. What install did is recorded machine-locally, so uninstall undoes
//! only that. This module never prints.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::git::{Repo, RepoError};

mod lefthook;

/// The events git-session handles (post-rewrite tidies the notes an amend copies;
/// post-merge notes a merge commit, for which git runs no post-commit).
pub const EVENTS: [&str; 5] = [
    "post-commit",
    "post-checkout",
    "pre-push",
    "post-rewrite",
    "post-merge",
];

const BEGIN: &str = "# >>> git-session: added by `git session hooks install`; `git session hooks uninstall` removes it >>>";
const END: &str = "# <<< git-session <<<";
/// The end line when install had to end the shebang line with a newline first.
const END_NO_EOL: &str = "# <<< git-session (no newline after the first line) <<<";
const SHIM: &str = include_str!("../hooks/shim.sh");
const SHIM_STDIN: &str = include_str!("../hooks/shim-stdin.sh");
const STATE_FILE: &str = "hooks.json";

#[derive(Debug, thiserror::Error)]
pub enum HooksError {
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Git(#[from] crate::git::GitError),
    #[error(
        "this repository has no worktree for hooks to run in (a bare repository with no linked worktree): make one, then install"
    )]
    NoWorktree,
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> HooksError + 'a {
    move |source| HooksError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// The block for `event`, begin and end lines included.
pub fn block(event: &str) -> String {
    // Hooks that read standard input get it, and pass it on to the rest of the file.
    let body = if matches!(event, "pre-push" | "post-rewrite") {
        SHIM_STDIN
    } else {
        SHIM
    };
    format!("{BEGIN}\n{}{END}\n", body.replace("EVENT", event))
}

/// Whether a hook file's first line makes it a shell script our shim can run in. Without a
/// shebang git runs a text file with the shell, but a compiled program (`cp /bin/true
/// .git/hooks/pre-push`) is executed as it is: a block prepended to it breaks it.
fn is_shell_script(content: &[u8]) -> bool {
    let Some(rest) = content.strip_prefix(b"#!") else {
        return !is_binary(content);
    };
    let line = rest.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let mut program = words.next().unwrap_or_default();
    if program.ends_with("/env") {
        program = words.find(|w| !w.starts_with('-')).unwrap_or_default();
    }
    let name = program.rsplit('/').next().unwrap_or_default();
    matches!(
        name,
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "busybox"
    )
}

/// A compiled program (ELF, Mach-O, PE) or any file git would not take for text (a NUL byte
/// in its first 8 KiB, as git's own binary check).
fn is_binary(content: &[u8]) -> bool {
    const MAGIC: [&[u8]; 5] = [
        b"\x7fELF",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ];
    MAGIC.iter().any(|m| content.starts_with(m)) || content[..content.len().min(8000)].contains(&0)
}

/// Where an existing block is: (start, end) byte offsets, end past its end line.
fn find_block(content: &[u8]) -> Option<(usize, usize, bool)> {
    let text = content;
    let begin = find(text, BEGIN.as_bytes())?;
    if begin != 0 && text[begin - 1] != b'\n' {
        return None;
    }
    let after = begin + BEGIN.len();
    for (end_line, no_eol) in [(END_NO_EOL, true), (END, false)] {
        if let Some(at) = find(&text[after..], end_line.as_bytes()) {
            let mut end = after + at + end_line.len();
            if text.get(end) == Some(&b'\n') {
                end += 1;
            }
            return Some((begin, end, no_eol));
        }
    }
    None
}

/// `content` with its block (if it has one) replaced by `block`, keeping the no-newline
/// marker where install had to add a newline: the one way both hook files and lefthook's
/// config are updated in place.
fn replace_block(content: &[u8], block: &str) -> Option<Vec<u8>> {
    let (start, end, no_eol) = find_block(content)?;
    let block = if no_eol {
        block.replace(END, END_NO_EOL)
    } else {
        block.to_owned()
    };
    let mut out = content[..start].to_vec();
    out.extend_from_slice(block.as_bytes());
    out.extend_from_slice(&content[end..]);
    Some(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `content` (None: no file yet) with our block for `event` in place: replaced where it is,
/// else right after the shebang line (at the top when there is none). A new file gets
/// `#!/bin/sh`.
pub fn with_block(content: Option<&[u8]>, event: &str) -> Vec<u8> {
    let block = block(event);
    let Some(content) = content else {
        return format!("#!/bin/sh\n{block}").into_bytes();
    };
    if let Some(out) = replace_block(content, &block) {
        return out;
    }
    if !content.starts_with(b"#!") {
        let mut out = block.into_bytes();
        out.extend_from_slice(content);
        return out;
    }
    match content.iter().position(|b| *b == b'\n') {
        Some(eol) => {
            let mut out = content[..=eol].to_vec();
            out.extend_from_slice(block.as_bytes());
            out.extend_from_slice(&content[eol + 1..]);
            out
        }
        None => {
            let mut out = content.to_vec();
            out.push(b'\n');
            out.extend_from_slice(block.replace(END, END_NO_EOL).as_bytes());
            out
        }
    }
}

/// `content` without our block (None when it has none): exactly the bytes before install.
pub fn without_block(content: &[u8]) -> Option<Vec<u8>> {
    let (start, end, no_eol) = find_block(content)?;
    let mut out = content[..start].to_vec();
    if no_eol && out.last() == Some(&b'\n') {
        out.pop();
    }
    out.extend_from_slice(&content[end..]);
    Some(out)
}

/// Whether `content` holds our current block for `event`.
pub fn has_current_block(content: &[u8], event: &str) -> bool {
    let block = block(event);
    find(content, block.as_bytes()).is_some()
        || find(content, block.replace(END, END_NO_EOL).as_bytes()).is_some()
}

/// A hook manager found in charge of a hooks directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Manager {
    Husky,
    PreCommit,
    Lefthook,
}

impl Manager {
    pub fn as_str(self) -> &'static str {
        match self {
            Manager::Husky => "husky",
            Manager::PreCommit => "pre-commit",
            Manager::Lefthook => "lefthook",
        }
    }
}

const PRE_COMMIT_MARK: &[u8] = b"File generated by pre-commit: https://pre-commit.com";

fn managed_by_pre_commit(content: &[u8]) -> bool {
    find(content, PRE_COMMIT_MARK).is_some()
}

/// The events lefthook runs in the worktree `root` (its hook file is in place, or its main
/// config names the event): ours are chained through its local config for those.
fn lefthook_events(location: &HooksDir, root: &Path) -> Vec<&'static str> {
    if location.manager != Some(Manager::Lefthook) {
        return Vec::new();
    }
    let main = lefthook::main_config(root).and_then(|p| fs::read(p).ok());
    EVENTS
        .into_iter()
        .filter(|e| {
            fs::read(location.dir.join(e)).is_ok_and(|c| lefthook::runs_lefthook(&c))
                || main.as_deref().is_some_and(|m| lefthook::defines(m, e))
        })
        .collect()
}

/// Whether lefthook runs `event` from its hook file: our job in its config does the work, and
/// a block in the file would run the handler a second time.
fn lefthook_runs_file(location: &HooksDir, event: &str) -> bool {
    location.manager == Some(Manager::Lefthook)
        && fs::read(location.dir.join(event)).is_ok_and(|c| lefthook::runs_lefthook(&c))
}

/// Where git runs one worktree's hooks from, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HooksDir {
    pub dir: PathBuf,
    /// `core.hooksPath` as configured, when it is set.
    pub hooks_path: Option<String>,
    /// A relative `core.hooksPath`: each worktree has a directory of its own.
    pub per_worktree: bool,
    /// An absolute `core.hooksPath` outside this repository (often set globally): other
    /// repositories may run the same hook files.
    pub shared: bool,
    pub manager: Option<Manager>,
}

/// The hooks directory git uses in the worktree `wt` (the oracle is `git rev-parse
/// --git-path hooks` run there).
pub fn hooks_dir(wt: &Repo) -> HooksDir {
    let configured = wt.config_string("core.hooksPath").filter(|v| !v.is_empty());
    let (dir, per_worktree) = match &configured {
        Some(value) => {
            let expanded = match value.strip_prefix("~/") {
                Some(rest) => std::env::var_os("HOME")
                    .map(|home| PathBuf::from(home).join(rest))
                    .unwrap_or_else(|| PathBuf::from(value)),
                None => PathBuf::from(value),
            };
            if expanded.is_absolute() {
                (expanded, false)
            } else {
                let base = wt.workdir().unwrap_or_else(|| wt.git_dir());
                (base.join(expanded), true)
            }
        }
        None => (wt.common_dir().join("hooks"), false),
    };
    let manager = detect_manager(&dir, configured.as_deref(), wt.workdir().as_deref());
    let dir = crate::git::normalize(&dir);
    let inside = |root: Option<PathBuf>| root.is_some_and(|r| dir.starts_with(r));
    let shared = configured.is_some()
        && !per_worktree
        && !inside(Some(wt.common_dir()))
        && !inside(wt.main().ok().and_then(|m| m.workdir()));
    HooksDir {
        dir,
        hooks_path: configured,
        per_worktree,
        shared,
        manager,
    }
}

/// The file in a shared hooks directory that records which repositories (their git common
/// directories) installed our shims there, and which hook files an install created.
const USERS_FILE: &str = ".git-session.json";

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct SharedRecord {
    #[serde(default)]
    repositories: Vec<PathBuf>,
    #[serde(default)]
    created: Vec<PathBuf>,
}

fn shared_record(dir: &Path) -> SharedRecord {
    fs::read(dir.join(USERS_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Holds the shared directory's record still while one repository changes it, so two
/// installs at once both end up in it (the lock is a file of its own: the record is replaced
/// by rename, and a lock on a replaced file locks nothing).
fn lock_shared_record(dir: &Path) -> Result<fs::File, HooksError> {
    let path = dir.join(".git-session.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open", &path))?;
    rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| io_err("lock", &path)(e.into()))?;
    Ok(file)
}

fn write_shared_record(dir: &Path, record: &SharedRecord) -> Result<(), HooksError> {
    let path = dir.join(USERS_FILE);
    if record.repositories.is_empty() {
        // The last one out leaves nothing of git-session's behind, the lock file included.
        let _ = fs::remove_file(dir.join(".git-session.lock"));
        return match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("delete", &path)(e)),
            _ => Ok(()),
        };
    }
    let bytes = serde_json::to_vec_pretty(record).expect("serializes");
    crate::fsutil::write_atomic(&path, &bytes, None).map_err(io_err("write", &path))
}

/// Records that the repository at `common_dir` installed our shims in the shared `dir`,
/// creating the files `created` there.
fn register_user(dir: &Path, common_dir: &Path, created: &[PathBuf]) -> Result<(), HooksError> {
    let _lock = lock_shared_record(dir)?;
    let mut record = shared_record(dir);
    if !record.repositories.iter().any(|u| u == common_dir) {
        record.repositories.push(common_dir.to_owned());
    }
    for file in created.iter().filter(|f| f.starts_with(dir)) {
        if !record.created.contains(file) {
            record.created.push(file.clone());
        }
    }
    write_shared_record(dir, &record)
}

/// The other repositories that installed our shims in the shared `dir` and still exist.
pub fn other_users(dir: &Path, common_dir: &Path) -> Vec<PathBuf> {
    shared_record(dir)
        .repositories
        .into_iter()
        .filter(|u| u != common_dir && u.join("HEAD").exists())
        .collect()
}

fn detect_manager(dir: &Path, hooks_path: Option<&str>, root: Option<&Path>) -> Option<Manager> {
    if hooks_path.is_some_and(|p| p.trim_end_matches('/').ends_with(".husky/_"))
        || dir.join("husky.sh").is_file()
        || (dir.join("h").is_file() && dir.ends_with(".husky/_"))
    {
        return Some(Manager::Husky);
    }
    let hook_files = EVENTS
        .iter()
        .chain(&["pre-commit", "commit-msg"])
        .filter_map(|e| fs::read(dir.join(e)).ok())
        .collect::<Vec<_>>();
    if hook_files.iter().any(|c| managed_by_pre_commit(c)) {
        return Some(Manager::PreCommit);
    }
    let lefthook_config = root.is_some_and(|r| lefthook::main_config(r).is_some());
    if lefthook_config || hook_files.iter().any(|c| lefthook::runs_lefthook(c)) {
        return Some(Manager::Lefthook);
    }
    None
}

/// What install and uninstall did, recorded machine-locally.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct InstallState {
    /// Hooks are installed: new worktrees get the shims where each has its own directory.
    pub installed: bool,
    /// Tracked hook files may be edited (`--tracked`).
    #[serde(default)]
    pub tracked: bool,
    /// Files install created (deleted again by uninstall when nothing else was added).
    #[serde(default)]
    pub created: Vec<PathBuf>,
    /// Files install put a block into.
    #[serde(default)]
    pub edited: Vec<PathBuf>,
    /// Lines install added to `info/exclude` (hook files it created inside worktrees).
    #[serde(default)]
    pub excluded: Vec<String>,
    /// Config values install added.
    #[serde(default)]
    pub added_rewrite_ref: bool,
    #[serde(default)]
    pub added_merge_strategy: bool,
}

fn state_path(common_dir: &Path) -> PathBuf {
    common_dir.join("session").join(STATE_FILE)
}

pub fn load_state(common_dir: &Path) -> InstallState {
    fs::read(state_path(common_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(common_dir: &Path, state: &InstallState) -> Result<(), HooksError> {
    let path = state_path(common_dir);
    let bytes = serde_json::to_vec_pretty(state).expect("state serializes");
    crate::fsutil::write_atomic(&path, &bytes, None).map_err(io_err("write", &path))
}

/// What happened (or would happen) to one hook file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileReport {
    pub event: String,
    pub path: PathBuf,
    /// installed, created, unchanged, updated, removed, deleted, skipped, missing, overwritten
    pub action: &'static str,
    /// Why it was skipped, or what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Whether git will run it: the file is executable (and in the directory git uses).
    pub runs: bool,
}

/// One hooks directory and what was done in it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DirReport {
    #[serde(flatten)]
    pub location: HooksDir,
    /// The worktree it serves (the main worktree, or a session's when per worktree).
    pub worktree: PathBuf,
    pub files: Vec<FileReport>,
}

/// Options for [`install`].
#[derive(Debug, Clone, Copy, Default)]
pub struct InstallOptions {
    /// Rewrite a block that differs from this version's (`--force`).
    pub force: bool,
    /// Edit tracked hook files too (`--tracked`).
    pub tracked: bool,
}

/// The worktrees whose hooks directories matter: the main one, and every linked worktree
/// when `core.hooksPath` is relative (each has its own).
fn worktrees(repo: &Repo) -> Result<Vec<PathBuf>, HooksError> {
    let mut out: Vec<PathBuf> = repo.workdir().into_iter().collect();
    out.extend(
        repo.linked_worktrees()?
            .into_iter()
            .filter(|w| w.exists)
            .map(|w| w.path),
    );
    Ok(out)
}

/// Every file install or uninstall may write in this repository (hook files and the files
/// hook managers chain to, lefthook's local configs, `info/exclude`, the git config, the
/// machine-local record of what install did), so the operation log can record them.
pub fn files_touched(repo: &Repo) -> Result<Vec<PathBuf>, HooksError> {
    let common = repo.common_dir();
    let mut out = vec![
        state_path(&common),
        crate::git::exclude::path(&common),
        common.join("config"),
    ];
    for worktree in worktrees(repo)? {
        let location = hooks_dir(&repo.open_worktree(&worktree)?);
        out.push(lefthook::local_config(&worktree).0);
        if location.shared {
            out.push(location.dir.join(USERS_FILE));
        }
        for event in EVENTS {
            out.push(location.dir.join(event));
            out.push(location.dir.join(format!("{event}.legacy")));
            out.push(location.dir.join(format!("{event}.old")));
            out.push(worktree.join(".husky").join(event));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Installs the shims into every hooks directory git uses for this repository.
pub fn install(repo: &Repo, options: InstallOptions) -> Result<Vec<DirReport>, HooksError> {
    let common = repo.common_dir();
    let mut state = load_state(&common);
    state.installed = true;
    state.tracked |= options.tracked;
    let mut reports: Vec<DirReport> = Vec::new();
    let worktrees = worktrees(repo)?;
    if worktrees.is_empty() {
        return Err(HooksError::NoWorktree);
    }
    for worktree in worktrees {
        let wt = repo.open_worktree(&worktree)?;
        let location = hooks_dir(&wt);
        // lefthook reads the config of the worktree it runs in: every worktree gets ours.
        let chained = install_lefthook(&wt, &location, &mut state, options)?;
        match reports.iter_mut().find(|r| r.location.dir == location.dir) {
            Some(report) => report.files.extend(chained),
            None => {
                let mut report = install_dir(&wt, location, &mut state, options)?;
                report.files.extend(chained);
                reports.push(report);
            }
        }
    }
    for report in reports.iter().filter(|r| r.location.shared) {
        register_user(&report.location.dir, &common, &state.created)?;
    }
    configure_notes(repo, &mut state)?;
    save_state(&common, &state)?;
    Ok(reports)
}

/// Installs the shims into a worktree created while hooks are installed, when it has a hooks
/// directory of its own (relative `core.hooksPath`). None when there is nothing to do.
pub fn install_for_new_worktree(
    repo: &Repo,
    worktree: &Path,
) -> Result<Option<DirReport>, HooksError> {
    let common = repo.common_dir();
    let mut state = load_state(&common);
    if !state.installed {
        return Ok(None);
    }
    let wt = repo.open_worktree(worktree)?;
    let location = hooks_dir(&wt);
    if !location.per_worktree && location.manager != Some(Manager::Lefthook) {
        return Ok(None);
    }
    // Tracked hook files reach a new worktree with the checkout; editing them there would
    // make them the session's uncommitted work.
    let options = InstallOptions {
        force: false,
        tracked: false,
    };
    let chained = install_lefthook(&wt, &location, &mut state, options)?;
    let mut report = if location.per_worktree {
        install_dir(&wt, location, &mut state, options)?
    } else {
        DirReport {
            location,
            worktree: wt.workdir().unwrap_or_else(|| wt.git_dir()),
            files: Vec::new(),
        }
    };
    report.files.extend(chained);
    save_state(&common, &state)?;
    Ok(Some(report))
}

fn install_dir(
    wt: &Repo,
    location: HooksDir,
    state: &mut InstallState,
    options: InstallOptions,
) -> Result<DirReport, HooksError> {
    let root = wt.workdir().unwrap_or_else(|| wt.git_dir());
    let mut files = Vec::new();
    for event in EVENTS {
        files.push(install_file(wt, &location, &root, event, state, options)?);
    }
    if location.per_worktree {
        // Only files inside the hooks directory (not a tracked `.husky/<hook>`, which is
        // meant to be committed).
        let inside: Vec<FileReport> = files
            .iter()
            .filter(|f| f.path.starts_with(&location.dir))
            .cloned()
            .collect();
        exclude_created(wt, &root, &inside, state)?;
    }
    Ok(DirReport {
        location,
        worktree: root,
        files,
    })
}

/// The file our block goes into for `event` in `location`: the hook file itself, or where
/// the manager chains to (pre-commit's `<hook>.legacy`; husky's `.husky/<hook>` with
/// `--tracked`).
fn target_file(location: &HooksDir, root: &Path, event: &str, tracked: bool) -> PathBuf {
    let hook = location.dir.join(event);
    match location.manager {
        Some(Manager::PreCommit) if fs::read(&hook).is_ok_and(|c| managed_by_pre_commit(&c)) => {
            location.dir.join(format!("{event}.legacy"))
        }
        Some(Manager::Husky) if tracked && root.join(".husky").is_dir() => {
            root.join(".husky").join(event)
        }
        _ => hook,
    }
}

fn install_file(
    wt: &Repo,
    location: &HooksDir,
    root: &Path,
    event: &str,
    state: &mut InstallState,
    options: InstallOptions,
) -> Result<FileReport, HooksError> {
    let path = target_file(location, root, event, options.tracked);
    let mut report = FileReport {
        event: event.to_owned(),
        path: path.clone(),
        action: "unchanged",
        note: None,
        runs: false,
    };
    if lefthook_runs_file(location, event) {
        // Ours is a job in lefthook's local config; a block left here by an earlier install
        // would run the handler twice (and lefthook's reinstall drops it anyway).
        if let Ok(content) = fs::read(&path)
            && let Some(without) = without_block(&content)
        {
            write_keeping_mode(&path, &without, false)?;
        }
        report.action = "chained";
        report.note = Some("lefthook runs it; ours is a job in lefthook's local config".into());
        report.runs = is_executable(&path);
        return Ok(report);
    }
    if let Ok(rel) = path.strip_prefix(root)
        && wt.tracks_at_or_below(rel)?
        && !options.tracked
    {
        report.action = "skipped";
        report.note = Some("tracked by the repository; `--tracked` edits it".into());
        report.runs = is_executable(&path);
        return Ok(report);
    }
    if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
        // Writing through it would change the file it points at (often tracked), and
        // replacing it would lose the link.
        report.action = "skipped";
        report.note = Some(format!(
            "a symlink; add {} to the file it points at",
            manual_call(event)
        ));
        report.runs = is_executable(&path);
        return Ok(report);
    }
    let existing = match fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    if let Some(content) = &existing
        && !is_shell_script(content)
    {
        report.action = "skipped";
        report.note = Some(not_shell_note(content, event));
        report.runs = is_executable(&path);
        return Ok(report);
    }
    // Moving to a chained file (husky's tracked `.husky/<hook>`): the block leaves the hook
    // file itself, or it would run twice.
    let direct = location.dir.join(event);
    if path != direct
        && let Ok(content) = fs::read(&direct)
        && let Some(without) = without_block(&content)
    {
        write_keeping_mode(&direct, &without, false)?;
    }
    let updated = with_block(existing.as_deref(), event);
    if existing.as_deref() == Some(updated.as_slice()) {
        report.runs = is_executable(&path);
        return Ok(report);
    }
    if let Some(content) = &existing
        && find_block(content).is_some()
        && !options.force
        && !has_current_block(content, event)
    {
        // An older version's block: replaced, as the user asked for an install.
        report.note = Some("replaced the block of an older git-session".into());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_err("create", parent))?;
    }
    write_keeping_mode(&path, &updated, existing.is_none())?;
    if existing.is_none() {
        report.action = "created";
        if !state.created.contains(&path) {
            state.created.push(path.clone());
        }
    } else {
        report.action = if find_block(existing.as_deref().unwrap_or_default()).is_some() {
            "updated"
        } else {
            "installed"
        };
        if !state.edited.contains(&path) && !state.created.contains(&path) {
            state.edited.push(path.clone());
        }
    }
    report.runs = is_executable(&path) || !path.starts_with(&location.dir);
    if !report.runs {
        report.note = Some("not executable, so git does not run it (chmod +x)".into());
    }
    Ok(report)
}

/// Our jobs in the lefthook local config of the worktree `wt`, for the events lefthook runs
/// there. A tracked config is edited only with `--tracked`; an event the file already defines
/// is left to the user (a note says what to add); a config that is not YAML is not edited.
fn install_lefthook(
    wt: &Repo,
    location: &HooksDir,
    state: &mut InstallState,
    options: InstallOptions,
) -> Result<Vec<FileReport>, HooksError> {
    let root = wt.workdir().unwrap_or_else(|| wt.git_dir());
    let events = lefthook_events(location, &root);
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let (path, yaml) = lefthook::local_config(&root);
    let name = path
        .strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string();
    let report = |event: &str, action: &'static str, note: Option<String>| FileReport {
        event: event.to_owned(),
        path: path.clone(),
        action,
        note,
        runs: action != "skipped" && lefthook_runs_file(location, event),
    };
    let add_by_hand = |event: &str| {
        let stdin = if matches!(event, "pre-push" | "post-rewrite") {
            " with use_stdin: true"
        } else {
            ""
        };
        format!("add a job running `git-session hook {event} {{0}}`{stdin}")
    };
    let skip_all = |note: &dyn Fn(&str) -> String| {
        events
            .iter()
            .map(|e| report(e, "skipped", Some(note(e))))
            .collect::<Vec<_>>()
    };
    if let Ok(rel) = path.strip_prefix(&root)
        && !options.tracked
        && wt.tracks_at_or_below(rel)?
    {
        return Ok(skip_all(&|e| {
            format!(
                "{name} is tracked; `--tracked` edits it, or {}",
                add_by_hand(e)
            )
        }));
    }
    if !yaml {
        return Ok(skip_all(&|e| {
            format!("{name} is not YAML; {}", add_by_hand(e))
        }));
    }
    let existing = match fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err("read", &path)(e)),
    };
    let (ours, theirs): (Vec<&str>, Vec<&str>) = events
        .iter()
        .partition(|e| !existing.as_deref().is_some_and(|c| lefthook::defines(c, e)));
    let mut reports: Vec<FileReport> = theirs
        .iter()
        .map(|e| {
            report(
                e,
                "skipped",
                Some(format!("{name} already defines {e}; {}", add_by_hand(e))),
            )
        })
        .collect();
    let updated = match (&existing, ours.is_empty()) {
        (None, true) => return Ok(reports),
        (Some(content), true) => without_block(content).unwrap_or_else(|| content.clone()),
        (_, false) => lefthook::with_block(existing.as_deref(), &ours),
    };
    let action = match &existing {
        Some(content) if *content == updated => "unchanged",
        Some(content) => {
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(io_err("create", parent))?;
            }
            write_keeping_mode(&path, &updated, false)?;
            if !state.edited.contains(&path) && !state.created.contains(&path) {
                state.edited.push(path.clone());
            }
            if find_block(content).is_some() {
                "updated"
            } else {
                "installed"
            }
        }
        None => {
            fs::write(&path, &updated).map_err(io_err("write", &path))?;
            if !state.created.contains(&path) {
                state.created.push(path.clone());
            }
            "created"
        }
    };
    reports.extend(ours.iter().map(|e| report(e, action, None)));
    // A config install created is not the worktree's work.
    exclude_created(wt, &root, &reports, state)?;
    Ok(reports)
}

/// Writes `bytes` to `path` atomically, keeping the file's mode; a created file is made
/// executable.
fn write_keeping_mode(path: &Path, bytes: &[u8], created: bool) -> Result<(), HooksError> {
    crate::fsutil::write_atomic(path, bytes, created.then_some(0o755))
        .map_err(io_err("write", path))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Why a hook file gets no block, and how to chain ours by hand.
fn not_shell_note(content: &[u8], event: &str) -> String {
    if is_binary(content) {
        format!(
            "a compiled program, left as it is; to chain ours, rename it to {event}.program and make {event} a script that runs it and then {}",
            manual_call(event)
        )
    } else {
        format!("not a shell script; call {} from it", manual_call(event))
    }
}

/// How a user's own hook file calls ours. pre-push and post-rewrite get their input on
/// stdin, which our handler reads to the end: the hook must keep a copy for the rest of it.
fn manual_call(event: &str) -> String {
    match event {
        "pre-push" | "post-rewrite" => format!(
            "`input=$(cat); printf '%s\\n' \"$input\" | git session hook {event} \"$@\"` (it reads stdin to the end: give \"$input\" to the rest of the hook the same way)"
        ),
        _ => format!("`git session hook {event} \"$@\"`"),
    }
}

/// Hook files created inside a worktree (a relative `core.hooksPath`) are listed in
/// `info/exclude`, so they are not untracked work of the session.
fn exclude_created(
    wt: &Repo,
    root: &Path,
    files: &[FileReport],
    state: &mut InstallState,
) -> Result<(), HooksError> {
    let lines: Vec<String> = files
        .iter()
        .filter(|f| f.action == "created")
        .filter_map(|f| f.path.strip_prefix(root).ok())
        .map(|rel| {
            // The directory pattern without its trailing `/`: these are files.
            let mut literal = crate::git::gitignore_literal(rel.as_os_str().as_encoded_bytes());
            literal.pop();
            String::from_utf8_lossy(&literal).into_owned()
        })
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    let common = wt.common_dir();
    let added = crate::git::exclude::add(&common, None, &lines)
        .map_err(io_err("write", &crate::git::exclude::path(&common)))?;
    state.excluded.extend(added);
    Ok(())
}

/// Provenance survives amend and rebase (`notes.rewriteRef`) and merges keep both sides
/// (`notes.sessions.mergeStrategy`); only what was not set already is added.
fn configure_notes(repo: &Repo, state: &mut InstallState) -> Result<(), HooksError> {
    let root = repo.workdir().unwrap_or_else(|| repo.git_dir());
    if !repo
        .config_strings("notes.rewriteRef")
        .iter()
        .any(|l| l.trim() == crate::provenance::NOTES_REF)
    {
        crate::git::git(&root)
            .args([
                "config",
                "--add",
                "notes.rewriteRef",
                crate::provenance::NOTES_REF,
            ])
            .run()?;
        state.added_rewrite_ref = true;
    }
    if repo.config_string("notes.sessions.mergeStrategy").is_none() {
        crate::git::git(&root)
            .args(["config", "notes.sessions.mergeStrategy", "cat_sort_uniq"])
            .run()?;
        state.added_merge_strategy = true;
    }
    Ok(())
}

/// Removes the blocks install added (and the files it created, when nothing else was added
/// to them), and the config values it added.
pub fn uninstall(repo: &Repo) -> Result<Vec<FileReport>, HooksError> {
    let common = repo.common_dir();
    let state = load_state(&common);
    let mut reports = Vec::new();
    let mut paths: Vec<(PathBuf, bool)> = state
        .created
        .iter()
        .map(|p| (p.clone(), true))
        .chain(state.edited.iter().map(|p| (p.clone(), false)))
        .collect();
    // Shared directories other repositories still run our shims from: left as they are.
    // (directory, why its shims stay)
    let mut kept_for: Vec<(PathBuf, String)> = Vec::new();
    let mut shared_seen: Vec<PathBuf> = Vec::new();
    // Blocks in files install does not remember (a state file lost) are removed too.
    for worktree in worktrees(repo)? {
        let location = hooks_dir(&repo.open_worktree(&worktree)?);
        if location.shared && !shared_seen.contains(&location.dir) {
            shared_seen.push(location.dir.clone());
            let _lock = lock_shared_record(&location.dir)?;
            if !location.dir.join(USERS_FILE).exists() {
                // Shims with no record of who installed them (an older git-session): other
                // repositories may run them, so they stay.
                kept_for.push((
                    location.dir.clone(),
                    "the directory is shared and nothing records which repositories use these hooks: \
                     remove the git-session block from them by hand once none does"
                        .into(),
                ));
            } else {
                let mut record = shared_record(&location.dir);
                record.repositories.retain(|u| *u != common);
                let others = other_users(&location.dir, &common);
                if others.is_empty() {
                    // The last one out: files any install created there go as created.
                    for file in std::mem::take(&mut record.created) {
                        match paths.iter_mut().find(|(p, _)| *p == file) {
                            Some(entry) => entry.1 = true,
                            None => paths.push((file, true)),
                        }
                    }
                    record.repositories.clear();
                } else {
                    let names: Vec<String> =
                        others.iter().map(|o| o.display().to_string()).collect();
                    kept_for.push((
                        location.dir.clone(),
                        format!(
                            "the directory is shared: {} still run these hooks (uninstall there too)",
                            names.join(", ")
                        ),
                    ));
                }
                write_shared_record(&location.dir, &record)?;
            }
        }
        let local = lefthook::local_config(&worktree).0;
        if !paths.iter().any(|(p, _)| *p == local) {
            paths.push((local, false));
        }
        for event in EVENTS {
            for candidate in [
                location.dir.join(event),
                location.dir.join(format!("{event}.legacy")),
                // lefthook moves a hook file it takes over to `<hook>.old`.
                location.dir.join(format!("{event}.old")),
                worktree.join(".husky").join(event),
            ] {
                if !paths.iter().any(|(p, _)| *p == candidate) {
                    paths.push((candidate, false));
                }
            }
        }
    }
    for (path, created) in paths {
        let Ok(content) = fs::read(&path) else {
            continue;
        };
        let Some(restored) = without_block(&content) else {
            continue;
        };
        if let Some((_, why)) = kept_for.iter().find(|(dir, _)| path.starts_with(dir)) {
            reports.push(FileReport {
                event: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path,
                action: "kept",
                note: Some(why.clone()),
                runs: true,
            });
            continue;
        }
        // By name, not by content: a hook file without a shebang starts with our block too.
        let lefthook_config = lefthook::is_local_config_name(&path);
        let event = if lefthook_config {
            lefthook::events_in(&content).join(",")
        } else {
            path.file_name()
                .map(|n| {
                    let n = n.to_string_lossy();
                    let n = n.trim_end_matches(".legacy").trim_end_matches(".old");
                    n.to_owned()
                })
                .unwrap_or_default()
        };
        // pre-commit moved a file install created to `<hook>.legacy`, lefthook to
        // `<hook>.old`: still install's.
        let created = created
            || path
                .to_str()
                .and_then(|p| p.strip_suffix(".legacy").or_else(|| p.strip_suffix(".old")))
                .is_some_and(|hook| state.created.iter().any(|c| c == Path::new(hook)));
        let action = if created && (restored == b"#!/bin/sh\n" || restored.is_empty()) {
            fs::remove_file(&path).map_err(io_err("delete", &path))?;
            "deleted"
        } else {
            write_keeping_mode(&path, &restored, false)?;
            "removed"
        };
        reports.push(FileReport {
            event,
            path,
            action,
            note: None,
            runs: false,
        });
    }
    if !state.excluded.is_empty() {
        crate::git::exclude::remove(&common, None, &state.excluded)
            .map_err(io_err("write", &crate::git::exclude::path(&common)))?;
    }
    let root = repo.workdir().unwrap_or_else(|| repo.git_dir());
    if state.added_rewrite_ref {
        let _ = crate::git::git(&root)
            .args([
                "config",
                "--fixed-value",
                "--unset",
                "notes.rewriteRef",
                crate::provenance::NOTES_REF,
            ])
            .run();
    }
    if state.added_merge_strategy
        && repo
            .config_string("notes.sessions.mergeStrategy")
            .as_deref()
            == Some("cat_sort_uniq")
    {
        let _ = crate::git::git(&root)
            .args(["config", "--unset", "notes.sessions.mergeStrategy"])
            .run();
    }
    save_state(&common, &InstallState::default())?;
    Ok(reports)
}

/// The state of every hooks directory, judged without changing anything.
pub fn status(repo: &Repo) -> Result<Vec<DirReport>, HooksError> {
    let state = load_state(&repo.common_dir());
    let mut reports = Vec::new();
    let mut seen = Vec::new();
    for worktree in worktrees(repo)? {
        let wt = repo.open_worktree(&worktree)?;
        let location = hooks_dir(&wt);
        if seen.contains(&location.dir) {
            continue;
        }
        seen.push(location.dir.clone());
        let root = wt.workdir().unwrap_or_else(|| wt.git_dir());
        let files = EVENTS
            .iter()
            .map(|event| {
                let path = target_file(&location, &root, event, state.tracked);
                if lefthook_runs_file(&location, event) {
                    let has_block = fs::read(&path).is_ok_and(|c| find_block(&c).is_some());
                    return FileReport {
                        event: event.to_string(),
                        note: Some(if has_block {
                            "lefthook runs it; a block left in it runs ours twice: run `git session hooks install`".into()
                        } else {
                            "lefthook runs it; ours is a job in lefthook's local config".into()
                        }),
                        runs: is_executable(&path),
                        path,
                        action: "chained",
                    };
                }
                let content = fs::read(&path).ok();
                let installed = content
                    .as_deref()
                    .is_some_and(|c| has_current_block(c, event));
                let remembered = state.created.contains(&path) || state.edited.contains(&path);
                let (action, note) = match (&content, installed) {
                    (_, true) => ("installed", None),
                    (Some(c), false) if find_block(c).is_some() => {
                        ("outdated", Some("an older block; run `git session hooks install`".into()))
                    }
                    (Some(c), false) if !is_shell_script(c) => {
                        ("not installed", Some(not_shell_note(c, event)))
                    }
                    (_, false) if state.installed && remembered => (
                        "overwritten",
                        Some("our block is gone (a hook manager rewrote the file?); run `git session hooks install`".into()),
                    ),
                    _ => ("not installed", None),
                };
                let runs = installed && is_executable(&path) && hook_chain_runs(&location, &path, event);
                FileReport {
                    event: event.to_string(),
                    path,
                    action,
                    note,
                    runs,
                }
            })
            .collect();
        reports.push(DirReport {
            location,
            worktree: root,
            files,
        });
    }
    // lefthook's local config, in every worktree.
    for worktree in worktrees(repo)? {
        let wt = repo.open_worktree(&worktree)?;
        let location = hooks_dir(&wt);
        let root = wt.workdir().unwrap_or_else(|| wt.git_dir());
        let (path, _) = lefthook::local_config(&root);
        let content = fs::read(&path).ok();
        let remembered = state.created.contains(&path) || state.edited.contains(&path);
        let files = lefthook_events(&location, &root).into_iter().map(|event| {
            let c = content.as_deref().unwrap_or_default();
            let (action, note) = if lefthook::has_job(c, event) {
                ("installed", None)
            } else if lefthook::defines(c, event) {
                ("skipped", Some(format!("the file defines {event} itself; add a job running `git-session hook {event} {{0}}`")))
            } else if state.installed && remembered {
                ("overwritten", Some("our job is gone; run `git session hooks install`".into()))
            } else {
                ("missing", Some("lefthook runs this hook; `git session hooks install` adds ours".into()))
            };
            FileReport {
                event: event.to_string(),
                path: path.clone(),
                action,
                note,
                runs: action == "installed" && lefthook_runs_file(&location, event),
            }
        });
        if let Some(report) = reports.iter_mut().find(|r| r.location.dir == location.dir) {
            report.files.extend(files);
        }
    }
    Ok(reports)
}

/// Whether git reaches `path` for `event`: it is the hook file itself, or the file the
/// manager's hook (executable) chains to.
fn hook_chain_runs(location: &HooksDir, path: &Path, event: &str) -> bool {
    let hook = location.dir.join(event);
    path == hook || is_executable(&hook)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_goes_after_the_shebang_and_comes_out_byte_for_byte() {
        for original in [
            &b"#!/bin/sh\necho user\nexec true\n"[..],
            b"#!/bin/sh",
            b"#!/usr/bin/env bash\n",
            b"echo no shebang\n",
            b"",
        ] {
            let with = with_block(Some(original), "post-commit");
            assert!(with.starts_with(b"#!") || !original.starts_with(b"#!"));
            assert!(has_current_block(&with, "post-commit"));
            assert_eq!(with_block(Some(&with), "post-commit"), with, "idempotent");
            assert_eq!(without_block(&with).unwrap(), original);
        }
        let created = with_block(None, "pre-push");
        assert!(created.starts_with(b"#!/bin/sh\n# >>> git-session"));
        assert_eq!(without_block(&created).unwrap(), b"#!/bin/sh\n");
        assert!(without_block(b"#!/bin/sh\n").is_none());
    }

    #[test]
    fn only_shell_scripts_get_a_block() {
        assert!(is_shell_script(b"#!/bin/sh\n"));
        assert!(is_shell_script(b"#!/usr/bin/env bash\n"));
        assert!(is_shell_script(b"#!/usr/bin/env -S bash -e\n"));
        assert!(is_shell_script(b"no shebang"));
        assert!(!is_shell_script(b"\x7fELF\x02\x01\x01\0\0"));
        assert!(!is_shell_script(b"text with a \0 byte"));
        assert!(!is_shell_script(b"#!/usr/bin/env python3\n"));
        assert!(!is_shell_script(b"#!/usr/bin/node\n"));
    }
}
