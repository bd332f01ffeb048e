//! `git session handoff`: write `handoff.md` into the session's log, for whoever (person or
//! agent, here or after a push elsewhere) takes the session up next. The computed parts come
//! from the log and the branch; the author's parts from `-m`/`-F` or a template in git's editor.

use std::io::IsTerminal;

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::git::{ObjectId, Repo};
use crate::lifecycle;
use crate::secrets;
use crate::session::store::{HANDOFF_FILE, MAX_BLOB_BYTES};
use crate::session::{Event, EventKind, Session, time};

use super::context::{edit_text, read_input};

/// Items listed per computed section.
const LIST_LIMIT: usize = 50;

const TEMPLATE: &str =
    "## Behaviour changed\n\n\n## Commands run\n\n\n## Known risks\n\n\n## Follow-up work\n\n";

/// Write a handoff note (handoff.md) into the session's log.
///
/// Lists the commits and files changed since the base and the last checkpoint (a dirty
/// worktree is checkpointed first), with the author's notes: behaviour changed, commands
/// run, known risks, follow-up work. `show` prints the latest handoff and `resume` repeats it.
#[derive(Debug, clap::Args)]
pub struct HandoffArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
    /// The author's notes.
    #[arg(short, long, value_name = "TEXT", conflicts_with = "file")]
    pub message: Option<String>,
    /// Read the author's notes from a file (`-`: stdin).
    #[arg(short = 'F', long, value_name = "FILE")]
    pub file: Option<std::path::PathBuf>,
    /// Who takes over (a person or an agent).
    #[arg(long, value_name = "WHO")]
    pub to: Option<String>,
}

pub fn run(ctx: &Context, args: HandoffArgs) -> CommandResult {
    let mut session = ctx.session(args.name.as_deref())?;
    let notes = match (&args.message, &args.file) {
        (Some(text), _) => text.clone(),
        (None, Some(file)) => read_input(file)?,
        (None, None) if std::io::stdin().is_terminal() => {
            let text = edit_text(TEMPLATE, "handoff.md")?;
            if text.trim() == TEMPLATE.trim() || text.trim().is_empty() {
                return Err(CommandError::user(
                    "the handoff is empty; nothing was written",
                ));
            }
            text
        }
        (None, None) => {
            return Err(CommandError::usage(
                "say what the next person needs to know with -m <text> or -F <file>",
            ));
        }
    };
    let mut tx = ctx.transaction();
    // One scan: nothing is recorded for a clean worktree.
    if let Some(path) = lifecycle::find_worktree(&ctx.repo, &ctx.local(), &session)?
        && let Some(recorded) = crate::ops::checkpoint::checkpoint_if_dirty(
            &mut tx,
            &ctx.local(),
            &session,
            &path,
            "before handoff",
        )?
    {
        if recorded.new {
            ctx.out.status(&format!(
                "Checkpointed the uncommitted work ({})",
                &crate::git::short_id(recorded.id)
            ));
        }
        session = tx.load(session.name())?;
    }
    let text = compose(&ctx.repo, &session, &notes, args.to.as_deref())?;
    if text.len() as u64 > MAX_BLOB_BYTES {
        return Err(CommandError::user("the handoff would be over 1 MiB"));
    }
    let detail = match &args.to {
        Some(who) => format!("to {who}"),
        None => "written".into(),
    };
    tx.record(
        session.name(),
        Event::new(EventKind::Handoff, detail).with_file(HANDOFF_FILE, text),
        |_, _| {},
    )?;
    tx.finish()?;
    ctx.out.status(&format!(
        "Wrote the handoff of session '{}' (`git session show` prints it; push to share it)",
        session.name()
    ));
    Ok(())
}

fn compose(repo: &Repo, session: &Session, notes: &str, to: Option<&str>) -> CommandResult<String> {
    let meta = &session.meta;
    let mut text = format!("# Handoff: {}\n\n", meta.name);
    if let Some(who) = to {
        text.push_str(&format!("To: {who}  \n"));
    }
    text.push_str(&format!(
        "Date: {}  \nSession: {} ({}), branch {}, base {} ({})\n\n",
        time::format_rfc3339(repo.now()?),
        meta.name,
        meta.id,
        meta.branch,
        &meta.base[..meta.base.len().min(12)],
        meta.base_ref
    ));
    text.push_str(notes.trim_end());
    text.push_str("\n\n");
    let base = ObjectId::from_hex(meta.base.as_bytes())
        .ok()
        .filter(|b| repo.has_object(*b));
    let checkpoint = meta.last_checkpoint_id().filter(|c| repo.has_object(*c));
    let head = match checkpoint {
        Some(c) => repo.read_commit(c)?.parents.first().copied(),
        None => repo.read_ref(&format!("refs/heads/{}", meta.branch))?,
    };
    // Commits since the base, newest first, along the first parents.
    let mut commits = Vec::new();
    let mut next = head;
    while let Some(id) = next {
        if Some(id) == base || commits.len() > LIST_LIMIT {
            break;
        }
        let commit = repo.read_commit(id)?;
        commits.push(format!(
            "- {} {}",
            &crate::git::short_id(id),
            commit.message.lines().next().unwrap_or_default()
        ));
        next = commit.parents.first().copied();
    }
    text.push_str(&format!(
        "## Commits since the base ({})\n\n",
        list_count(commits.len())
    ));
    push_list(&mut text, &commits);
    let work_tree = match (checkpoint, head) {
        (Some(c), _) => Some(repo.read_commit(c)?.tree),
        (None, Some(h)) => Some(repo.read_commit(h)?.tree),
        (None, None) => None,
    };
    let files: Vec<String> = match work_tree {
        Some(tree) => {
            let base_tree = base
                .map(|b| repo.read_commit(b).map(|c| c.tree))
                .transpose()?;
            secrets::changed_blobs(repo, tree, base_tree)?
                .into_keys()
                .map(|p| format!("- {p}"))
                .collect()
        }
        None => Vec::new(),
    };
    text.push_str(&format!(
        "## Files added or changed since the base ({}, uncommitted work included)\n\n",
        files.len()
    ));
    push_list(&mut text, &files);
    text.push_str("## Last checkpoint\n\n");
    match checkpoint {
        Some(c) => text.push_str(&format!(
            "{} (`git session diff` shows it; `git session rewind` restores it)\n",
            &crate::git::short_id(c)
        )),
        None => text.push_str("none\n"),
    }
    Ok(text)
}

fn list_count(n: usize) -> String {
    if n > LIST_LIMIT {
        format!("more than {LIST_LIMIT}")
    } else {
        n.to_string()
    }
}

fn push_list(text: &mut String, items: &[String]) {
    if items.is_empty() {
        text.push_str("none\n\n");
        return;
    }
    for item in items.iter().take(LIST_LIMIT) {
        text.push_str(item);
        text.push('\n');
    }
    if items.len() > LIST_LIMIT {
        text.push_str(&format!("- … {} more\n", items.len() - LIST_LIMIT));
    }
    text.push('\n');
}
