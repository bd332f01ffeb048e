//! Where a new session starts: a revision the user named, a pull request, the current HEAD,
//! or `origin/HEAD` after a short fetch (`session.baseRef = fresh`), with a free generated
//! name when none was given. Never prints (notes go to the reporter).

use std::path::Path;
use std::time::Duration;

use crate::config::{self, Config};
use crate::git::{ObjectId, Repo, remote};
use crate::ops::{OpError, OpResult};
use crate::report::Reporter;
use crate::session::{Store, name};

/// A new session's starting commit and how the user named it.
pub struct Base {
    pub commit: ObjectId,
    pub base_ref: String,
}

/// What the user asked the base to be.
#[derive(Debug, Clone, Default)]
pub struct BaseSpec {
    /// `--base <rev>`.
    pub rev: Option<String>,
    /// `--head`.
    pub head: bool,
    /// `--pr <n>`.
    pub pr: Option<u64>,
}

/// A generated name no session has (nor collides with).
pub fn generate_free_name(repo: &Repo) -> OpResult<String> {
    let existing = Store::new(repo).names()?;
    let mut seed = name::random_seed();
    for _ in 0..50 {
        let candidate = name::generated(seed);
        if !existing.iter().any(|e| name::collides(e, &candidate)) {
            return Ok(candidate);
        }
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    Err(OpError::refused("could not find a free generated name").hint("name the session yourself"))
}

/// The commit a new session starts from and how the user named it (--base, --pr,
/// session.baseRef). `here` is the repository as seen from the current directory.
pub fn resolve(
    repo: &Repo,
    here: &Repo,
    config: &Config,
    main_root: &Path,
    spec: &BaseSpec,
    reporter: &dyn Reporter,
) -> OpResult<Base> {
    let remote = config.string(&config::REMOTE);
    if let Some(rev) = &spec.rev {
        let commit = here.resolve_commit(rev)?;
        return Ok(Base {
            commit,
            base_ref: rev.clone(),
        });
    }
    if let Some(pr) = spec.pr {
        return fetch_pull_request(repo, main_root, &remote, pr, reporter);
    }
    let head = || -> OpResult<Base> {
        let commit = here.head_commit()?.ok_or_else(|| {
            OpError::refused("this repository has no commits yet")
                .hint("make a first commit, then start a session")
        })?;
        // The branch HEAD is on, by name: what the session lands into and syncs with stays
        // that branch when the worktree later switches to another one.
        let base_ref = here
            .head_ref_name()?
            .and_then(|r| r.strip_prefix("refs/heads/").map(str::to_owned))
            .unwrap_or_else(|| "HEAD".into());
        Ok(Base { commit, base_ref })
    };
    let mode = config.string(&config::BASE_REF);
    if spec.head || mode == "head" {
        return head();
    }
    if mode != "fresh" {
        return Err(OpError::refused(format!(
            "session.baseRef = '{mode}' is invalid: expected 'fresh' or 'head'"
        )));
    }
    if repo
        .config_string(&format!("remote.{remote}.url"))
        .is_none()
    {
        reporter.status(&format!("note: no remote '{remote}'; starting from HEAD"));
        return head();
    }
    let timeout = Duration::from_secs(
        config
            .number(&config::FETCH_TIMEOUT_SECS)
            .map_err(|e| OpError::refused(crate::text::one_line(&e)))?,
    );
    // Only remote-tracking branches move (`origin/HEAD` is what this is for).
    let configured = repo.config_strings(&format!("remote.{remote}.fetch"));
    let specs = crate::session::sync::branch_refspecs(&remote, &configured);
    let fetched = remote::fetch(main_root, &remote, &specs, false, timeout);
    if let Err(e) = fetched {
        reporter.status(&format!(
            "note: fetching {remote} failed ({}); starting from HEAD",
            crate::text::one_line(&e)
        ));
        return head();
    }
    match repo.read_ref(&format!("refs/remotes/{remote}/HEAD"))? {
        Some(commit) => Ok(Base {
            commit,
            base_ref: format!("{remote}/HEAD"),
        }),
        None => {
            reporter.status(&format!(
                "note: {remote}/HEAD is not set (`git remote set-head {remote} --auto` sets it); starting from HEAD"
            ));
            head()
        }
    }
}

fn fetch_pull_request(
    repo: &Repo,
    main_root: &Path,
    remote_name: &str,
    pr: u64,
    reporter: &dyn Reporter,
) -> OpResult<Base> {
    if !remote::exists(repo, remote_name) {
        return Err(
            OpError::refused(format!("no remote '{remote_name}' is configured"))
                .hint("pull requests are fetched from session.remote (default: origin)"),
        );
    }
    let refspec = remote::pull_request_ref(pr);
    reporter.status(&format!("Fetching {refspec} from {remote_name}"));
    let commit = remote::fetch_pull_request(repo, main_root, remote_name, pr).map_err(|e| {
        OpError::refused(crate::text::one_line(&e))
            .hint(format!("does {remote_name} have pull request {pr}?"))
    })?;
    Ok(Base {
        commit,
        base_ref: refspec,
    })
}
