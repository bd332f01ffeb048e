//! Claude Code's hooks as operations: `WorktreeCreate` makes a session as `new` does (or
//! reopens one of that name as `resume` does), `WorktreeRemove` ends one (its work
//! checkpointed first), `Stop` checkpoints a dirty session after each agent turn. The
//! command layer reads the hook's JSON and prints what Claude Code reads. Never prints.

use std::path::{Path, PathBuf};

use crate::agent::claude::{self, HookInput};
use crate::config::Config;
use crate::git::{Repo, canonical};
use crate::lifecycle;
use crate::ops::base::{self, BaseSpec};
use crate::ops::create::{self, NewSession};
use crate::ops::resume::{self, Env};
use crate::ops::retire::{self, Retirement};
use crate::ops::{OpError, OpResult, Site};
use crate::report::Reporter;
use crate::session::{Agent, Event, EventKind, LocalStore, Session, Status};
use crate::transaction::Transaction;

/// The agent a hook's payload names.
pub fn agent(input: &HookInput) -> Agent {
    Agent {
        tool: claude::TOOL.to_owned(),
        session_id: input.session_id().map(str::to_owned),
        extra: Default::default(),
    }
}

/// Keeps Claude Code's transcript path in machine-local state (it is a path on this machine).
fn remember_transcript(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    input: &HookInput,
) -> OpResult {
    if let Some(transcript) = input.transcript_path.clone() {
        tx.local_update(local, &session.meta.id, move |s| {
            s.agent_transcript = Some(transcript)
        })?;
    }
    Ok(())
}

/// What `WorktreeCreate` made or reopened.
#[derive(Debug)]
pub struct Opened {
    pub session: Session,
    pub path: PathBuf,
    /// The worktree was made now: setup commands are due.
    pub made: bool,
}

/// `WorktreeCreate`: a session named as Claude Code asks, made as `new` makes one (with
/// `.worktreeinclude` applied, which Claude Code skips when a hook makes the worktree), or
/// reopened when it exists.
#[allow(clippy::too_many_arguments)]
pub fn worktree_create(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    site: Site<'_>,
    here: &Repo,
    config: &Config,
    input: &HookInput,
    reporter: &dyn Reporter,
) -> OpResult<Opened> {
    let repo = tx.repo();
    let name = input
        .worktree_name()
        .map_err(|e| OpError::refused(crate::text::one_line(&e)))?
        .to_owned();
    // The naming rule it breaks, not a ref error.
    crate::session::name::validate(&name).map_err(crate::session::StoreError::from)?;
    let branch_prefix = config
        .branch_prefix()
        .map_err(|e| OpError::refused(crate::text::one_line(&e)))?;
    if crate::session::Store::new(repo).exists(&name)? {
        return reopen(
            tx,
            local,
            site,
            &branch_prefix,
            config,
            input,
            &name,
            reporter,
        );
    }
    let placement = create::placement(repo, &site, &branch_prefix, &name, true)?;
    let base = base::resolve(
        repo,
        here,
        config,
        site.main_root,
        &BaseSpec::default(),
        reporter,
    )?;
    let by = match input.session_id() {
        Some(id) => format!(" by claude session {id}"),
        None => " by claude".to_owned(),
    };
    let spec = NewSession {
        name: name.clone(),
        placement,
        at: base.commit,
        base_ref: base.base_ref.clone(),
        parent: None,
        goal: None,
        context: None,
        agent: Some(agent(input)),
        owns: Vec::new(),
        event: Event::new(
            EventKind::Created,
            format!("{name} from {}{by}", base.base_ref),
        ),
        include_source: Some(site.main_root.to_owned()),
    };
    let created = create::start(tx, local, &site, spec, &base.base_ref, reporter)?;
    let path = created
        .worktree
        .clone()
        .expect("a session made with a worktree has one");
    remember_transcript(tx, local, &created.session, input)?;
    Ok(Opened {
        session: created.session,
        path,
        made: true,
    })
}

/// A session of this name exists: the agent is recorded and the session opened as `resume`
/// does.
#[allow(clippy::too_many_arguments)]
fn reopen(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    site: Site<'_>,
    branch_prefix: &str,
    config: &Config,
    input: &HookInput,
    name: &str,
    reporter: &dyn Reporter,
) -> OpResult<Opened> {
    let session = tx.load(name)?;
    let wanted = agent(input);
    if session.meta.agent.as_ref() != Some(&wanted) || session.meta.status != Status::Active {
        let detail = match input.session_id() {
            Some(id) => format!("by claude session {id}"),
            None => "by claude".to_owned(),
        };
        tx.record(
            name,
            Event::new(EventKind::Resumed, detail),
            move |meta, _| {
                meta.agent = Some(wanted.clone());
                meta.status = Status::Active;
            },
        )?;
    }
    reporter.status(&format!(
        "Reopening session '{}' for Claude Code",
        crate::text::escape(name)
    ));
    remember_transcript(tx, local, &session, input)?;
    let remote = config.string(&crate::config::REMOTE);
    let mut env = Env {
        tx,
        local,
        site,
        branch_prefix,
        default_remote: &remote,
        reporter,
    };
    let resumed = resume::resume(&mut env, name, false, false)?;
    Ok(Opened {
        session: resumed.session,
        path: resumed.path,
        made: resumed.made,
    })
}

/// What `WorktreeRemove` did.
#[derive(Debug)]
pub enum Removed {
    /// The path was gone and no session had it: nothing to do.
    Nothing,
    /// The session was ended.
    Ended {
        name: String,
        retirement: Box<Retirement>,
    },
}

/// `WorktreeRemove`: ends the session whose worktree is at `given`, checkpointing its work
/// first (Claude Code takes exit 0 to mean the worktree is gone).
pub fn worktree_remove(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    given: &Path,
) -> OpResult<Removed> {
    let repo = tx.repo();
    let exists = given.exists();
    let path = if exists {
        canonical(given)
    } else {
        crate::git::normalize(given)
    };
    let worktrees = repo.linked_worktrees()?;
    // A worktree already deleted by hand is found by the path recorded for it: the session
    // is still ended and its branch deleted, as Claude Code expects.
    let found = crate::session::Store::new(repo)
        .list()?
        .into_iter()
        .flatten()
        .find(|s| {
            lifecycle::find_worktree_in(&worktrees, local, s).as_deref() == Some(&path)
                || (!exists
                    && local
                        .get(&s.meta.id)
                        .worktree_of(s.name())
                        .map(crate::git::normalize)
                        == Some(path.clone()))
        });
    if found.is_none() && !exists {
        return Ok(Removed::Nothing);
    }
    let session = found.ok_or_else(|| {
        OpError::refused(format!(
            "{} is not the worktree of a git-session session here; it was left alone",
            path.display()
        ))
        .hint("remove it with `git worktree remove` if it is no longer needed")
    })?;
    let name = session.name().to_owned();
    let plan = retire::plan(repo, local, &session, None)?;
    // Asked for a path that is gone, while the session's worktree lives elsewhere (moved
    // with `git worktree move`): that one was kept on purpose and is not the one asked for.
    if let Some((elsewhere, _)) = &plan.worktree
        && canonical(elsewhere) != path
    {
        return Err(OpError::refused(format!(
            "{} is gone, but session '{}' now has its worktree at {}; both were left alone",
            path.display(),
            crate::text::escape(&name),
            elsewhere.display()
        ))
        .hint(format!("`git session end {name} --remove` removes it")));
    }
    // Claude Code treats exit 0 as "removed": work is checkpointed and the worktree goes.
    let retirement = retire::execute(tx, local, &session, &plan, true)?;
    let detail = match (&retirement.kept_because, retirement.removed) {
        (Some(why), _) => format!("worktree kept: {why}"),
        (None, true) => "worktree removed by claude".to_owned(),
        (None, false) => "no worktree".to_owned(),
    };
    tx.record(&name, Event::new(EventKind::Ended, detail), |meta, _| {
        meta.status = Status::Complete
    })?;
    Ok(Removed::Ended {
        name,
        retirement: Box::new(retirement),
    })
}

/// `Stop`: a checkpoint after an agent's turn, when the worktree changed. A worktree removed
/// while the turn ended records nothing (its removal checkpointed it).
pub fn stop(
    tx: &mut Transaction<'_>,
    local: &LocalStore,
    session: &Session,
    path: &Path,
    input: &HookInput,
) -> OpResult<bool> {
    let message = match input.session_id() {
        Some(id) => format!("after a claude turn (claude session {id})"),
        None => "after a claude turn".to_owned(),
    };
    // One scan: a clean worktree records nothing, nor does one the last checkpoint holds.
    match crate::ops::checkpoint::checkpoint_if_dirty(tx, local, session, path, &message) {
        Ok(recorded) => Ok(recorded.is_some()),
        Err(lifecycle::LifecycleError::NoWorktree { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
