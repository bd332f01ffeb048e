//! The handle every command gets: the repository (opened once per process), output, and
//! accessors for the stores and settings that hang off it. Commands never discover the
//! repository themselves.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::{CommandError, CommandResult};
use crate::git::{Repo, canonical};
use crate::lifecycle;
use crate::output::Output;
use crate::session::{LocalStore, Session, Store};

pub struct Context {
    /// The repository as seen from the main worktree: refs, objects, config and worktrees.
    /// Commands use this one, so removing the worktree they were started in (`end` from
    /// inside a session) does not pull the ground from under them.
    pub repo: Repo,
    /// The repository as discovered from the current directory: its HEAD is what "the
    /// current HEAD" means.
    pub here: Repo,
    pub out: Output,
    pub cwd: PathBuf,
    /// `session.worktreeDir` resolved once for [`Context::local`] (None: not configured
    /// readably, so only recorded worktrees are found).
    default_worktree_dir: std::cell::OnceCell<Option<PathBuf>>,
    /// The settings, read once per process (a git hook would otherwise read them several
    /// times on every commit).
    config: std::cell::OnceCell<std::rc::Rc<Config>>,
}

impl Context {
    pub fn open(out: Output) -> CommandResult<Context> {
        let cwd = std::env::current_dir()
            .map_err(|e| CommandError::user(format!("cannot read the current directory: {e}")))?;
        let mut here = Repo::discover(&cwd)?;
        let repo = here.main()?;
        here.read_objects_through(&repo);
        let out = out.with_git_color(repo.config_string("color.ui").as_deref());
        Ok(Context {
            repo,
            here,
            out,
            cwd: canonical(&cwd),
            default_worktree_dir: std::cell::OnceCell::new(),
            config: std::cell::OnceCell::new(),
        })
    }

    /// The main worktree's root; sessions need one.
    pub fn main_root(&self) -> CommandResult<PathBuf> {
        self.repo.workdir().ok_or_else(|| {
            CommandError::user("this is a bare repository; git-session needs a main worktree")
                .hint("run it from a clone with a working tree")
        })
    }

    /// The settings; their warnings (e.g. an unknown key in `.git-session.yaml`) go to
    /// stderr the first time.
    pub fn config(&self) -> CommandResult<std::rc::Rc<Config>> {
        if let Some(config) = self.config.get() {
            return Ok(config.clone());
        }
        let config = std::rc::Rc::new(Config::load(&self.repo, self.repo.workdir().as_deref())?);
        // Inside a git hook (quiet) they would repeat on every commit: commands say them.
        if !self.out.is_quiet() {
            for warning in config.warnings() {
                self.out.warn(warning);
            }
        }
        Ok(self.config.get_or_init(|| config).clone())
    }

    /// The progress line for a `.worktreeinclude` copy (on stderr, only on a terminal).
    pub fn copy_progress(&self) -> crate::progress::CopyProgress {
        crate::progress::CopyProgress::new()
    }

    pub fn store(&self) -> Store<'_> {
        Store::new(&self.repo)
    }

    /// Where session worktrees go (`session.worktreeDir`, checked by [`Config::worktree_dir`]),
    /// refused when the repository tracks files there: its line in `info/exclude` would make
    /// new files in them ignored, in every worktree, and so invisible to checkpoints.
    pub fn worktree_dir(&self, config: &Config, main_root: &Path) -> CommandResult<PathBuf> {
        let dir = config.worktree_dir(main_root)?;
        let root = canonical(main_root);
        if let Ok(rel) = dir.strip_prefix(&root)
            && self.repo.tracks_at_or_below(rel)?
        {
            return Err(CommandError::user(format!(
                "session.worktreeDir '{}' holds tracked files; session worktrees need a directory of their own",
                rel.display()
            ))
            .hint("set session.worktreeDir to a new directory, e.g. .worktrees"));
        }
        Ok(dir)
    }

    /// Machine-local state; it knows where `new` puts worktrees when the configuration can
    /// be read (otherwise only recorded worktrees are found).
    pub fn local(&self) -> LocalStore {
        let worktree_dir = self.default_worktree_dir.get_or_init(|| {
            let root = self.repo.workdir()?;
            self.config().ok()?.worktree_dir(&root).ok()
        });
        LocalStore::new(&self.repo.common_dir()).with_worktree_dir(worktree_dir.clone())
    }

    /// The session named `name`, or with no name, the one whose worktree holds the current
    /// directory.
    pub fn session(&self, name: Option<&str>) -> CommandResult<Session> {
        match name {
            Some(name) => match self.store().load(name) {
                Err(crate::session::store::StoreError::NotFound { .. })
                    if let Some(copy) = self.fetched_copy(name).map(|c| c.display()) =>
                {
                    Err(CommandError::user(format!(
                        "no local session named '{}'; '{}' is a fetched session",
                        crate::text::escape(name),
                        crate::text::escape(&copy)
                    ))
                    .hint(format!(
                        "`git session resume {}` takes it up here; `git session list --all` lists fetched sessions",
                        crate::text::shell_word(&copy)
                    )))
                }
                loaded => Ok(loaded?),
            },
            None => self.current_session()?.ok_or_else(|| {
                CommandError::user("not inside a session's worktree, and no session was named")
                    .hint("name one, or run `git session list` to see sessions")
            }),
        }
    }

    /// The fetched copy `name` (`<remote>/<name>`, or a bare name) stands for, when there is
    /// exactly one.
    pub fn fetched_copy(&self, name: &str) -> Option<crate::session::sync::RemoteEntry> {
        match crate::session::sync::find_remote(&self.repo, name)
            .ok()?
            .as_slice()
        {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// The session whose worktree holds the current directory, if any.
    pub fn current_session(&self) -> CommandResult<Option<Session>> {
        Ok(self
            .current_session_and_worktree()?
            .map(|(session, _)| session))
    }

    /// [`Context::current_session`] with the path of that worktree.
    pub fn current_session_and_worktree(&self) -> CommandResult<Option<(Session, PathBuf)>> {
        Ok(self
            .current_session_listing()?
            .and_then(|listed| listed.here))
    }

    /// [`Context::current_session_and_worktree`] for a caller that needs every session too:
    /// None outside git's linked worktrees (in the main worktree, say), where no session is
    /// read; else every session (read once) and the one here, if any.
    pub fn current_session_listing(&self) -> CommandResult<Option<SessionsHere>> {
        let here = self.here.workdir();
        // At the top of the main worktree (where git runs its hooks) no linked worktree
        // holds the directory: listing them costs a millisecond with fifty.
        if here.as_deref() == Some(self.cwd.as_path())
            && self.here.git_dir() == self.repo.common_dir()
        {
            return Ok(None);
        }
        let local = self.local();
        let worktrees = self.repo.linked_worktrees()?;
        let inside = |path: &std::path::Path| {
            here.as_deref().is_some_and(|h| h == path) || self.cwd.starts_with(path)
        };
        if !worktrees.iter().any(|w| w.exists && inside(&w.path)) {
            return Ok(None);
        }
        let sessions: Vec<Session> = self.store().list()?.into_iter().flatten().collect();
        let here = sessions.iter().find_map(|session| {
            let path = lifecycle::find_worktree_in(&worktrees, &local, session)?;
            inside(&path).then(|| (session.clone(), path))
        });
        Ok(Some(SessionsHere {
            here,
            all: sessions,
        }))
    }

    /// The transaction a state-changing command runs in (one per command).
    pub fn transaction(&self) -> crate::transaction::Transaction<'_> {
        crate::transaction::Transaction::start(
            &self.repo,
            &crate::transaction::command_line(),
            false,
        )
    }

    /// Where session worktrees go here, with the settings that say so checked.
    pub fn site_paths(&self) -> CommandResult<(PathBuf, PathBuf)> {
        let main_root = self.main_root()?;
        let config = self.config()?;
        let worktree_dir = self.worktree_dir(&config, &main_root)?;
        Ok((main_root, worktree_dir))
    }

    /// Records that the session was used now (for `list` and `gc`).
    pub fn touch(&self, session: &Session) {
        if let Ok(now) = self.repo.now() {
            let _ = self
                .local()
                .update(&session.meta.id, |s| s.last_active = Some(now));
        }
    }
}

/// Every session, and the one whose worktree a command runs in ([`Context::current_session_listing`]).
pub struct SessionsHere {
    /// The session here, with its worktree's path.
    pub here: Option<(Session, PathBuf)>,
    pub all: Vec<Session>,
}
