//! `git session claude …`: Claude Code integration (DESIGN §6). `install`/`uninstall` put
//! our hooks into (or take them out of) `.claude/settings.local.json` or, with `--shared`,
//! the tracked `.claude/settings.json`. The other subcommands are those hooks: they read
//! Claude Code's JSON on stdin.
//!
//! - `worktree-create` makes a session as `new` does (and reopens one of that name as
//!   `resume` does), recording the agent, and prints only the worktree's path on stdout.
//! - `worktree-remove` ends the session, checkpointing any work first, and exits 0 only once
//!   the worktree is gone.
//! - `stop` checkpoints a dirty session worktree after each agent turn; `session-start`
//!   tells a starting agent about its session. Both never block the agent: problems are one
//!   warning line and exit 0.

use std::io::{IsTerminal, Read};
use std::path::Path;

use crate::agent::claude::{self, HookInput};
use crate::agent::settings;
use crate::agent::state::AgentState;
use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::git::canonical;
use crate::ops::{self, Site};
use crate::output::{ColorChoice, Output};
use crate::session::{Session, store};
use crate::text::{escape, escape_multiline};
use crate::transaction::Transaction;

/// Claude Code integration: install its hooks, and the hooks themselves.
///
/// After `git session claude install`, `claude --worktree <name>` creates a git-session
/// session (with .worktreeinclude applied), each agent turn leaves a checkpoint, an agent
/// starting in a session is told its goal, context and handoff, and removing the worktree
/// never loses work.
#[derive(Debug, clap::Args)]
pub struct ClaudeArgs {
    #[command(subcommand)]
    pub command: ClaudeCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ClaudeCommand {
    /// Add git-session's hooks to .claude/settings.local.json (all other settings are kept).
    Install(InstallArgs),
    /// Remove git-session's hooks (and nothing else) from the settings file.
    Uninstall(InstallArgs),
    /// Claude Code's WorktreeCreate hook: create (or reopen) the session named in the JSON on
    /// stdin and print its worktree's path.
    WorktreeCreate,
    /// Claude Code's WorktreeRemove hook: end the session, checkpointing its work, and remove
    /// its worktree and branch.
    WorktreeRemove,
    /// Claude Code's Stop hook: checkpoint the current session's worktree when it changed.
    Stop,
    /// Claude Code's SessionStart hook: print the current session's name, goal, context,
    /// latest handoff and uncommitted changes for the agent.
    SessionStart,
    /// Claude Code's PreToolUse hook: the agent is working; for the editing tools, when the
    /// file about to be edited lies outside the session's owns, inside another live session's
    /// owns, or is changed by another live session, answer as session.ownsPolicy says (warn,
    /// ask or deny).
    PreToolUse,
    /// Claude Code's UserPromptSubmit hook: the agent is working.
    UserPromptSubmit,
    /// Claude Code's Notification hook: the agent needs input.
    Notification,
    /// Claude Code's SessionEnd hook: the agent exited.
    SessionEnd,
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// Use the tracked .claude/settings.json, shared with everyone who clones the repository.
    #[arg(long)]
    pub shared: bool,
}

pub fn run(out: Output, args: ClaudeArgs) -> CommandResult {
    match args.command {
        ClaudeCommand::Install(a) => install(&Context::open(out)?, &a, true),
        ClaudeCommand::Uninstall(a) => install(&Context::open(out)?, &a, false),
        ClaudeCommand::WorktreeCreate => {
            let input = read_input(true)?;
            worktree_create(&open_at(out, &input)?, &input)
        }
        ClaudeCommand::WorktreeRemove => {
            let input = read_input(true)?;
            worktree_remove(&open_at(out, &input)?, &input)
        }
        ClaudeCommand::Stop => never_block(out, stop),
        ClaudeCommand::SessionStart => never_block(out, session_start),
        ClaudeCommand::PreToolUse => never_block(out, |ctx, input| {
            // The agent's own session: the one whose worktree it runs in.
            let me = ctx.current_session()?;
            if let Some(session) = &me {
                crate::commands::agent_state::report(ctx, session, "claude", AgentState::Working)?;
            }
            pre_tool_use(ctx, input, me)
        }),
        ClaudeCommand::UserPromptSubmit => {
            never_block(out, |ctx, _| report_state(ctx, AgentState::Working))
        }
        ClaudeCommand::Notification => {
            never_block(out, |ctx, _| report_state(ctx, AgentState::NeedsInput))
        }
        ClaudeCommand::SessionEnd => {
            never_block(out, |ctx, _| report_state(ctx, AgentState::Exited))
        }
    }
}

/// Records what Claude Code in the current session is doing (and notifies when it starts
/// needing the person or its turn ends).
fn report_state(ctx: &Context, state: AgentState) -> CommandResult {
    let Some(session) = ctx.current_session()? else {
        return Ok(());
    };
    crate::commands::agent_state::report(ctx, &session, "claude", state)
}

// ---- install -------------------------------------------------------------------------------

fn install(ctx: &Context, args: &InstallArgs, add: bool) -> CommandResult {
    let root = match ctx.here.workdir() {
        Some(root) => root,
        None => ctx.main_root()?,
    };
    let file = if args.shared {
        "settings.json"
    } else {
        "settings.local.json"
    };
    let path = root.join(".claude").join(file);
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(CommandError::user(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let merged = match (&existing, add) {
        (_, true) => settings::install(existing.as_deref()),
        (Some(text), false) => settings::uninstall(text),
        (None, false) => {
            ctx.out.status(&format!(
                "{} does not exist; nothing to remove",
                path.display()
            ));
            return Ok(());
        }
    }
    .map_err(|e| CommandError::user(format!("{} {e}", path.display())))?;
    // An operation of its own (undo puts the files back as they were).
    let mut tx = ctx.transaction();
    tx.watch_file(&path);
    tx.watch_file(&crate::git::exclude::path(&ctx.repo.common_dir()));
    // The local file holds nothing else once our hooks are out: it goes, as it came.
    let drop_file = !add && !args.shared && merged.changed && merged.empty && {
        let (_, tracked) = ctx
            .repo
            .open_worktree(&root)?
            .file_ignore_state(LOCAL_SETTINGS)?;
        !tracked
    };
    if drop_file {
        // Other worktrees' copies (made by .worktreeinclude) must stay ignored.
        if !copies_elsewhere(ctx, &root)? {
            let common = ctx.repo.common_dir();
            let line = [EXCLUDE_LINE.to_owned()];
            crate::git::exclude::remove(&common, Some(EXCLUDE_COMMENT), &line).map_err(|e| {
                CommandError::user(format!(
                    "cannot update {}: {e}",
                    crate::git::exclude::path(&common).display()
                ))
            })?;
        }
        std::fs::remove_file(&path)
            .map_err(|e| CommandError::user(format!("cannot remove {}: {e}", path.display())))?;
        // Only when empty: the directory may hold the user's own files.
        let _ = std::fs::remove_dir(root.join(".claude"));
    } else if merged.changed {
        write_atomically(&path, &merged.text)?;
    }
    if add && !args.shared {
        ignore_local_settings(ctx, &root)?;
    }
    tx.finish()?;
    let verb = if add { "Installed" } else { "Removed" };
    if merged.events.is_empty() {
        let state = if add {
            "already installed"
        } else {
            "not installed"
        };
        ctx.out.status(&format!(
            "git-session's Claude Code hooks are {state} in {}",
            path.display()
        ));
    } else {
        ctx.out.status(&format!(
            "{verb} git-session's Claude Code hooks ({}) in {}{}",
            merged.events.join(", "),
            path.display(),
            if drop_file {
                "; the file held nothing else and was deleted"
            } else {
                ""
            }
        ));
    }
    if add && !args.shared {
        ctx.out.hint(
            "claude started in this directory uses them (`claude --worktree <name>` makes sessions); \
             for claude started inside a session's worktree, list .claude/settings.local.json in \
             .worktreeinclude or install with --shared",
        );
    }
    ctx.out.answer(&path.to_string_lossy())
}

const LOCAL_SETTINGS: &str = ".claude/settings.local.json";
const EXCLUDE_LINE: &str = "/.claude/settings.local.json";
const EXCLUDE_COMMENT: &str = "Claude Code's local settings (git session claude install)";

/// Claude Code's local settings are this machine's: when git would neither ignore nor track
/// them, `info/exclude` says to ignore them (so they are not a session's uncommitted work,
/// and `.worktreeinclude` can copy them).
fn ignore_local_settings(ctx: &Context, root: &Path) -> CommandResult {
    let (ignored, tracked) = ctx
        .repo
        .open_worktree(root)?
        .file_ignore_state(LOCAL_SETTINGS)?;
    if ignored || tracked {
        return Ok(());
    }
    let common = ctx.repo.common_dir();
    let exclude = crate::git::exclude::path(&common);
    let fail =
        |e: std::io::Error| CommandError::user(format!("cannot update {}: {e}", exclude.display()));
    let line = [EXCLUDE_LINE.to_owned()];
    let added = crate::git::exclude::add(&common, Some(EXCLUDE_COMMENT), &line).map_err(fail)?;
    if added.is_empty() {
        return Ok(());
    }
    let (ignored, _) = ctx
        .repo
        .open_worktree(root)?
        .file_ignore_state(LOCAL_SETTINGS)?;
    if ignored {
        ctx.out.status(&format!(
            "Added {EXCLUDE_LINE} to {}: git ignores it in every worktree of this repository",
            exclude.display()
        ));
    } else {
        // A tracked .gitignore un-ignores it (`!…`): that is the project's choice.
        crate::git::exclude::remove(&common, Some(EXCLUDE_COMMENT), &line).map_err(fail)?;
        ctx.out.warn(&format!(
            "{LOCAL_SETTINGS} is not ignored (a .gitignore un-ignores it): it shows as untracked work"
        ));
    }
    Ok(())
}

/// Whether a worktree other than `root` holds Claude Code's local settings.
fn copies_elsewhere(ctx: &Context, root: &Path) -> CommandResult<bool> {
    let root = canonical(root);
    let mut roots = vec![ctx.main_root()?];
    roots.extend(
        ctx.repo
            .linked_worktrees()?
            .into_iter()
            .filter(|w| w.exists)
            .map(|w| w.path),
    );
    Ok(roots
        .iter()
        .any(|r| canonical(r) != root && r.join(LOCAL_SETTINGS).exists()))
}

/// Keeps the file's permissions (settings may hold tokens the user made private).
fn write_atomically(path: &Path, text: &str) -> CommandResult {
    crate::fsutil::write_atomic(path, text.as_bytes(), None)
        .map_err(|e| CommandError::user(format!("cannot write {}: {e}", path.display())))
}

// ---- hook input ----------------------------------------------------------------------------

/// Reads the hook's JSON from stdin. A terminal on stdin means a person ran the hook: that is
/// a usage error for the hooks that need input, an empty payload for the others.
fn read_input(required: bool) -> CommandResult<HookInput> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        if required {
            return Err(CommandError::usage(
                "this is a Claude Code hook: it reads the hook's JSON on stdin",
            )
            .hint("`git session claude install` sets it up for Claude Code"));
        }
        return Ok(HookInput::default());
    }
    let mut stdin = stdin.lock();
    let input = HookInput::read((&mut stdin).take(claude::MAX_PAYLOAD_BYTES));
    // Whatever came of it, the sender is not left writing into a closed pipe (within reason).
    let _ = std::io::copy(&mut stdin.take(1 << 30), &mut std::io::sink());
    Ok(input?)
}

/// Opens the repository where Claude Code says it is working (`cwd`), else here.
fn open_at(out: Output, input: &HookInput) -> CommandResult<Context> {
    if let Some(cwd) = input.cwd.as_deref().filter(|d| d.is_dir()) {
        std::env::set_current_dir(cwd)
            .map_err(|e| CommandError::user(format!("cannot enter {}: {e}", cwd.display())))?;
    }
    Context::open(out)
}

/// Runs a hook that must never stop the agent: any problem is one warning line, exit 0.
fn never_block(
    out: Output,
    hook: impl FnOnce(&Context, &HookInput) -> CommandResult,
) -> CommandResult {
    let result = read_input(false).and_then(|input| {
        let ctx = match open_at(out, &input) {
            Ok(ctx) => ctx,
            // Not in a repository (or it cannot be read): not a session, nothing to do.
            Err(_) => return Ok(()),
        };
        hook(&ctx, &input).map_err(|e| {
            ctx.out.warn(&format!("git session claude: {}", e.message));
            CommandError::user("")
        })
    });
    if let Err(e) = result
        && !e.message.is_empty()
    {
        Output::new(ColorChoice::Never).warn(&format!("git session claude: {}", e.message));
    }
    Ok(())
}

// ---- worktree-create -----------------------------------------------------------------------

fn worktree_create(ctx: &Context, input: &HookInput) -> CommandResult {
    let (main_root, worktree_dir) = ctx.site_paths()?;
    let config = ctx.config()?;
    let local = ctx.local();
    let mut tx = ctx.transaction();
    let opened = ops::claude::worktree_create(
        &mut tx,
        &local,
        Site {
            worktree_dir: &worktree_dir,
            main_root: &main_root,
        },
        &ctx.here,
        &config,
        input,
        &ctx.out,
    )?;
    tx.finish()?;
    if opened.made {
        crate::render::run_setup(ctx, &opened.session, &opened.path)?;
    }
    ctx.touch(&opened.session);
    ctx.out.answer(&opened.path.to_string_lossy())
}

// ---- worktree-remove -----------------------------------------------------------------------

fn worktree_remove(ctx: &Context, input: &HookInput) -> CommandResult {
    let given = input
        .worktree_path
        .as_deref()
        .ok_or(claude::PayloadError::Missing("worktree_path"))?;
    let mut tx = ctx.transaction();
    let removed = ops::claude::worktree_remove(&mut tx, &ctx.local(), given)?;
    tx.finish()?;
    let (name, retirement) = match removed {
        ops::claude::Removed::Nothing => {
            ctx.out.status(&format!(
                "{} does not exist; nothing to remove",
                given.display()
            ));
            return Ok(());
        }
        ops::claude::Removed::Ended { name, retirement } => (name, retirement),
    };
    if let Some(ckpt) = &retirement.checkpoint {
        ctx.out.status(&format!(
            "The work in '{}' is kept in checkpoint {ckpt}, reachable from {} (`git session resume {}` brings it back)",
            escape(&name),
            store::ref_name(&name),
            escape(&name)
        ));
    }
    if let Some(saved) = &retirement.saved_files {
        ctx.out.status(&crate::render::saved_files(saved));
    }
    for line in crate::render::removal_leftovers(
        &escape(&name),
        retirement.written_meanwhile.as_deref(),
        retirement.kept_files.as_ref(),
    ) {
        ctx.out.warn(&line);
    }
    if let Some(why) = retirement.kept_because.filter(|_| !retirement.removed) {
        return Err(CommandError::user(format!(
            "kept the worktree of '{}': {why}",
            escape(&name)
        )));
    }
    let path = if given.exists() {
        canonical(given)
    } else {
        crate::git::normalize(given)
    };
    if path.exists() {
        return Err(CommandError::user(format!(
            "{} is still there after removing it",
            path.display()
        )));
    }
    ctx.out.status(&format!(
        "Removed the worktree of '{}'{}",
        escape(&name),
        if retirement.branch_deleted {
            " and its branch"
        } else {
            ""
        }
    ));
    Ok(())
}

// ---- stop ----------------------------------------------------------------------------------

fn stop(ctx: &Context, input: &HookInput) -> CommandResult {
    let Some((session, path)) = ctx.current_session_and_worktree()? else {
        return Ok(());
    };
    crate::commands::agent_state::report(ctx, &session, "claude", AgentState::Idle)?;
    let mut tx = Transaction::start(&ctx.repo, "claude stop", true);
    let recorded = ops::claude::stop(&mut tx, &ctx.local(), &session, &path, input)?;
    tx.finish()?;
    if recorded {
        ctx.touch(&session);
    }
    Ok(())
}

// ---- pre-tool-use --------------------------------------------------------------------------

/// At most this many reasons in one answer.
const MAX_EDIT_REASONS: usize = 5;

fn pre_tool_use(ctx: &Context, input: &HookInput, me: Option<Session>) -> CommandResult {
    let Some(path) = input.edited_path() else {
        return Ok(());
    };
    let path = crate::git::clean_path(&crate::git::normalize(&path));
    let sessions: Vec<Session> = ctx.store().list()?.into_iter().flatten().collect();
    let local = ctx.local();
    // Where the file is: a session's worktree, or the main one.
    let mut roots: Vec<(Option<&Session>, std::path::PathBuf)> = sessions
        .iter()
        .filter_map(|s| {
            Some((
                Some(s),
                canonical(local.get(&s.meta.id).worktree_of(s.name())?),
            ))
        })
        .collect();
    if let Ok(main) = ctx.main_root() {
        roots.push((None, canonical(&main)));
    }
    // The deepest root that holds it (session worktrees sit inside the main one).
    roots.sort_by_key(|(_, root)| std::cmp::Reverse(root.components().count()));
    let Some((holder, rel)) = roots.iter().find_map(|(s, root)| {
        let rel: Vec<String> = path
            .strip_prefix(root)
            .ok()?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        (!rel.is_empty()).then(|| (*s, rel.join("/")))
    }) else {
        return Ok(());
    };
    let mut lines = Vec::new();
    if let Some(me) = &me
        && holder.is_none_or(|h| h.meta.id != me.meta.id)
    {
        lines.push(format!(
            "{rel} is in {}, not in the worktree of session '{}'",
            match holder {
                Some(h) => format!("the worktree of session '{}'", h.name()),
                None => "the main worktree".to_owned(),
            },
            me.name()
        ));
    }
    let judged_as = me.as_ref().or(holder);
    lines.extend(
        crate::footprint::touch_warnings(
            &ctx.repo,
            &local,
            &sessions,
            judged_as,
            &[rel],
            MAX_EDIT_REASONS,
        )
        .map_err(|e| CommandError::user(crate::text::one_line(&e)))?,
    );
    lines.truncate(MAX_EDIT_REASONS);
    if lines.is_empty() {
        return Ok(());
    }
    let reason = format!(
        "git-session: {}",
        lines
            .iter()
            .map(|l| escape(l))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let decision = |d: &str| {
        serde_json::json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": d,
            "permissionDecisionReason": reason,
        }})
    };
    let answer = match ctx.config()?.owns_policy()? {
        // The agent is told, and the edit goes on as the person's own settings decide
        // (an explicit "allow" would skip the permission prompt they configured).
        crate::config::OwnsPolicy::Warn => serde_json::json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "additionalContext": reason,
        }}),
        crate::config::OwnsPolicy::Ask => decision("ask"),
        crate::config::OwnsPolicy::Deny => decision("deny"),
    };
    ctx.out.answer(&answer.to_string())
}

// ---- session-start -------------------------------------------------------------------------

fn session_start(ctx: &Context, input: &HookInput) -> CommandResult {
    let Some((session, path)) = ctx.current_session_and_worktree()? else {
        return Ok(());
    };
    if let Some(transcript) = input.transcript_path.clone()
        && input.session_id().is_some()
    {
        let _ = ctx
            .local()
            .update(&session.meta.id, |s| s.agent_transcript = Some(transcript));
    }
    let meta = &session.meta;
    let mut text = format!(
        "You are working in git-session session '{}' (branch {}, worktree {}).\n",
        escape(&meta.name),
        escape(&meta.branch),
        escape(&path.to_string_lossy())
    );
    if let Some(goal) = meta.goal.as_deref().filter(|g| !g.trim().is_empty()) {
        text.push_str(&format!("Goal: {}\n", escape(goal.trim())));
    }
    if let Some(context) = session.context.as_deref().filter(|c| !c.trim().is_empty()) {
        text.push_str(&format!(
            "\nContext (context.md):\n{}\n",
            escape_multiline(context.trim_end())
        ));
    }
    if let Some(handoff) = handoff(ctx, &session)? {
        text.push_str(&format!(
            "\nLatest handoff (handoff.md):\n{}\n",
            escape_multiline(handoff.trim_end())
        ));
    }
    if !meta.owns.is_empty() {
        text.push_str(&format!(
            "\nThis session claims (owns): {}. Keep your edits inside these paths.\n",
            meta.owns
                .iter()
                .map(|s| escape(s))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let all: Vec<Session> = ctx.store().list()?.into_iter().flatten().collect();
    if let Ok(report) = crate::session_view::overlap_report(
        &ctx.repo,
        &ctx.local(),
        &all,
        false,
        Some(meta.name.as_str()),
    ) {
        for pair in &report.pairs {
            let other = if pair.sessions[0] == meta.name {
                &pair.sessions[1]
            } else {
                &pair.sessions[0]
            };
            let mut shown: Vec<String> = pair.files.iter().take(5).map(|p| escape(p)).collect();
            if pair.files.len() > 5 {
                shown.push(format!("and {} more", pair.files.len() - 5));
            }
            text.push_str(&format!(
                "Session '{}' also changed: {}. Coordinate before editing these files.\n",
                escape(other),
                shown.join(", ")
            ));
        }
        let claimed: Vec<&str> = all
            .iter()
            .filter(|s| s.meta.id != meta.id && s.meta.status.is_open() && !s.meta.owns.is_empty())
            .map(|s| s.name())
            .collect();
        for name in claimed {
            if let Some(other) = all.iter().find(|s| s.name() == name) {
                text.push_str(&format!(
                    "Session '{}' claims: {}.\n",
                    escape(name),
                    other
                        .meta
                        .owns
                        .iter()
                        .map(|s| escape(s))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    let changes = ctx.repo.open_worktree(&path)?.changed_paths()?;
    let line = if changes.is_empty() {
        "none".to_owned()
    } else {
        let mut shown: Vec<String> = changes.iter().take(5).map(|p| escape(p)).collect();
        if changes.len() > 5 {
            shown.push(format!("and {} more", changes.len() - 5));
        }
        format!("{} file(s): {}", changes.len(), shown.join(", "))
    };
    text.push_str(&format!("\nUncommitted changes: {line}\n"));
    ctx.out.answer(&text)
}

/// `handoff.md` from the session's newest log commit, when it has one.
fn handoff(ctx: &Context, session: &Session) -> CommandResult<Option<String>> {
    let tree = ctx.repo.read_commit(session.tip)?.tree;
    let Some(entry) = ctx
        .repo
        .read_tree(tree)?
        .into_iter()
        .find(|e| e.name == "handoff.md")
    else {
        return Ok(None);
    };
    if ctx.repo.object_size(entry.id)? > store::MAX_BLOB_BYTES {
        return Ok(Some("(handoff.md is too large to show)".to_owned()));
    }
    let bytes = ctx.repo.read_blob(entry.id)?;
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}
