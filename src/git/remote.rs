//! Talking to remotes: the only code that runs `git fetch` and `git push` (through the user's
//! own `git`, via [`super::runner`], so credentials, SSH config and pre-push hooks apply).
//!
//! It knows refspecs and timeouts, never what a session is: which refs travel is decided in
//! `session::sync`. Pushes are atomic (`git push --atomic --porcelain`) and report, per ref,
//! what the remote did, so a caller can tell "the remote's notes moved" (retry) from "someone
//! else advanced the session" (refuse).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::runner::{GitError, git};
use super::{ObjectId, Repo};

/// The environment variable git-session sets on its own `git push`, so its pre-push hook
/// recognizes the push and stays quiet.
pub const PUSH_MARKER_ENV: &str = "GIT_SESSION_PUSH";

/// How long a fetch or push for sharing may take (they move a session's objects, which can
/// be large the first time).
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("no remote '{remote}' is configured")]
    NoRemote { remote: String },
    #[error("remote name '{remote}' cannot hold sessions: it must be one ref component (no '/')")]
    BadRemoteName { remote: String },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("could not read what `git fetch {remote} {refspec}` fetched")]
    FetchHead { remote: String, refspec: String },
}

/// Whether `remote` is configured (has a URL).
pub fn exists(repo: &Repo, remote: &str) -> bool {
    repo.config_string(&format!("remote.{remote}.url"))
        .is_some()
}

/// Refuses remotes git-session cannot keep apart under `refs/remote-sessions/<remote>/`.
pub fn check_name(repo: &Repo, remote: &str) -> Result<(), RemoteError> {
    if remote.is_empty() || remote.contains('/') || remote.starts_with('-') {
        return Err(RemoteError::BadRemoteName {
            remote: remote.to_owned(),
        });
    }
    if !exists(repo, remote) {
        return Err(RemoteError::NoRemote {
            remote: remote.to_owned(),
        });
    }
    Ok(())
}

/// `git fetch --no-tags <remote> [<refspec>…]`, bounded by `timeout`.
pub fn fetch(
    dir: &Path,
    remote: &str,
    refspecs: &[String],
    prune: bool,
    timeout: Duration,
) -> Result<(), RemoteError> {
    git(dir)
        // `--refmap=`: only these refspecs map refs, never the remote's configured ones (git
        // would otherwise also update what those name, a mirror's `refs/*` included).
        .args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--refmap=",
        ])
        .args(prune.then_some("--prune"))
        .args(["--", remote])
        .args(refspecs)
        .run_with_timeout(timeout)?;
    Ok(())
}

/// Fetches pull request `pr` (`refs/pull/<pr>/head`) from `remote` and returns its commit.
pub fn fetch_pull_request(
    repo: &Repo,
    dir: &Path,
    remote: &str,
    pr: u64,
) -> Result<ObjectId, RemoteError> {
    let refspec = pull_request_ref(pr);
    git(dir)
        .args(["fetch", "--quiet", "--no-tags", "--", remote, &refspec])
        .run_with_timeout(TRANSFER_TIMEOUT)?;
    let fetch_head: PathBuf = repo
        .gix()
        .main_repo()
        .map(|r| r.git_dir().join("FETCH_HEAD"))
        .unwrap_or_default();
    let text = std::fs::read_to_string(&fetch_head).unwrap_or_default();
    let hex: String = text.chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    ObjectId::from_hex(hex.as_bytes()).map_err(|_| RemoteError::FetchHead {
        remote: remote.to_owned(),
        refspec,
    })
}

pub fn pull_request_ref(pr: u64) -> String {
    format!("refs/pull/{pr}/head")
}

/// What the remote did with one ref of a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefResult {
    /// The remote ref (`refs/sessions/x`).
    pub remote_ref: String,
    pub ok: bool,
    /// git's summary (`[rejected]`, `[up to date]`, `abc..def`) and reason, e.g. `fetch first`.
    pub summary: String,
}

impl RefResult {
    /// Rejected only because another ref of the atomic push was.
    pub fn atomic_casualty(&self) -> bool {
        !self.ok
            && (self.summary.contains("atomic push failed")
                || self.summary.contains("atomic transaction failed"))
    }
}

/// The outcome of `git push --atomic --porcelain`.
#[derive(Debug, Clone)]
pub struct PushReport {
    pub ok: bool,
    pub refs: Vec<RefResult>,
    /// git's stderr (what a hook or the transport said), for a failure without ref results.
    pub stderr: String,
}

impl PushReport {
    /// Refs the remote refused for a reason of their own (not as a casualty of atomicity).
    pub fn rejected(&self) -> Vec<&RefResult> {
        self.refs
            .iter()
            .filter(|r| !r.ok && !r.atomic_casualty())
            .collect()
    }
}

/// `git push --atomic --porcelain <remote> <refspec>…`, marked as git-session's own push.
/// A rejection is a report, not an error; an error is git failing to push at all.
pub fn push_atomic(
    dir: &Path,
    remote: &str,
    refspecs: &[String],
    dry_run: bool,
) -> Result<PushReport, RemoteError> {
    // No `--no-verify`: the user's pre-push hooks (git-lfs's among them) must run.
    let mut cmd = git(dir)
        .args(["push", "--atomic", "--porcelain"])
        .env(PUSH_MARKER_ENV, "1");
    if dry_run {
        cmd = cmd.arg("--dry-run");
    }
    let output = cmd
        .arg("--")
        .arg(remote)
        .args(refspecs)
        .output_with_timeout(TRANSFER_TIMEOUT)?;
    let refs = parse_porcelain(&output.stdout);
    let ok = output.success && refs.iter().all(|r| r.ok);
    if !output.success && refs.is_empty() {
        return Err(GitError::Failed {
            argv: format!("push --atomic {remote}"),
            code: output.code,
            stderr: output.stderr,
        }
        .into());
    }
    Ok(PushReport {
        ok,
        refs,
        stderr: output.stderr,
    })
}

/// Parses `git push --porcelain` output: `<flag>\t<from>:<to>\t<summary> (<reason>)`.
fn parse_porcelain(stdout: &str) -> Vec<RefResult> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, '\t');
            let flag = parts.next()?;
            let spec = parts.next()?;
            let summary = parts.next().unwrap_or_default();
            if flag.chars().count() != 1 {
                return None;
            }
            let remote_ref = spec.rsplit_once(':').map_or(spec, |(_, to)| to);
            Some(RefResult {
                remote_ref: remote_ref.to_owned(),
                ok: flag != "!",
                summary: summary.to_owned(),
            })
        })
        .collect()
}

/// Merges the notes at `other` (a ref under `refs/notes/`) into the notes ref `notes` with
/// the `cat_sort_uniq` strategy (both sides' lines kept, sorted, duplicates dropped).
pub fn merge_notes(dir: &Path, notes: &str, other: &str) -> Result<(), RemoteError> {
    git(dir)
        .args([
            "notes",
            &format!("--ref={notes}"),
            "merge",
            "--quiet",
            "--strategy=cat_sort_uniq",
            other,
        ])
        .run()?;
    Ok(())
}

/// Adds a value to a multi-valued key in the repository's config.
pub fn config_add(dir: &Path, key: &str, value: &str) -> Result<(), RemoteError> {
    git(dir).args(["config", "--add", key, value]).run()?;
    Ok(())
}

/// Whether `git lfs` can run here.
pub fn lfs_available(dir: &Path) -> bool {
    git(dir).args(["lfs", "version"]).run().is_ok()
}

/// Uploads the LFS objects the given refs reach (`git lfs push <remote> <ref>…`).
pub fn lfs_push(dir: &Path, remote: &str, refs: &[String]) -> Result<(), RemoteError> {
    git(dir)
        .args(["lfs", "push", "--", remote])
        .args(refs)
        .env(PUSH_MARKER_ENV, "1")
        .run_with_timeout(TRANSFER_TIMEOUT)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn porcelain_rejections_are_told_apart() {
        let out = "To /tmp/remote.git\n\
            !\trefs/sessions/a:refs/sessions/a\t[rejected] (atomic push failed)\n\
            !\trefs/notes/sessions:refs/notes/sessions\t[rejected] (fetch first)\n\
            =\trefs/heads/session/a:refs/heads/session/a\t[up to date]\n\
            Done\n";
        let refs = parse_porcelain(out);
        assert_eq!(refs.len(), 3);
        assert!(refs[0].atomic_casualty());
        assert!(!refs[1].ok && !refs[1].atomic_casualty());
        assert_eq!(refs[1].remote_ref, "refs/notes/sessions");
        assert!(refs[2].ok);
    }
}
