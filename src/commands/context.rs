//! `git session context`: print or change the session's `context.md` (goal, decisions, next
//! steps). Printing reads one log commit and nothing else, since an agent's session-start hook
//! runs it on every start; a change is a `context:` event in the log.

use std::io::{IsTerminal, Read};

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::session::{Event, EventKind, store::MAX_BLOB_BYTES};

/// Print or change the session's context notes (context.md).
///
/// With no option, prints context.md (nothing when there is none). --set replaces it with a
/// file's contents (`-` reads stdin), --append adds a paragraph, --edit opens it in git's editor.
#[derive(Debug, clap::Args)]
pub struct ContextArgs {
    /// The session (default: the one whose worktree holds the current directory).
    pub name: Option<String>,
    /// Replace context.md with this file's contents (`-`: stdin).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["append", "edit"])]
    pub set: Option<std::path::PathBuf>,
    /// Append this text as a new paragraph.
    #[arg(long, value_name = "TEXT", conflicts_with = "edit")]
    pub append: Option<String>,
    /// Edit context.md in git's editor (GIT_EDITOR, core.editor, VISUAL, EDITOR).
    #[arg(long)]
    pub edit: bool,
}

pub fn run(ctx: &Context, args: ContextArgs) -> CommandResult {
    let session = ctx.session(args.name.as_deref())?;
    let current = session.context.clone().unwrap_or_default();
    fn appended(before: &str, text: &str) -> String {
        let mut new = before.to_owned();
        if !new.is_empty() && !new.ends_with("\n\n") {
            new.push_str(if new.ends_with('\n') { "\n" } else { "\n\n" });
        }
        new.push_str(text.trim_end());
        new.push('\n');
        new
    }
    let (new, detail) = if let Some(file) = &args.set {
        (read_input(file)?, "replaced")
    } else if let Some(text) = &args.append {
        (appended(&current, text), "appended")
    } else if args.edit {
        (edit_text(&current, "context.md")?, "edited")
    } else {
        if !current.is_empty() {
            // context.md may come from a fetched session: raw bytes only into a pipe or file.
            let text = current.trim_end_matches('\n');
            if ctx.out.stdout_is_terminal() {
                ctx.out.answer(&crate::text::escape_multiline(text))?;
            } else {
                ctx.out.answer(text)?;
            }
        }
        return Ok(());
    };
    if new.len() as u64 > MAX_BLOB_BYTES {
        return Err(CommandError::user(
            "context.md would be over 1 MiB, the most a session's log holds",
        ));
    }
    if new == current {
        ctx.out.status("context.md is unchanged");
        return Ok(());
    }
    // An edit replaces the whole text: not over a change made while the editor was open.
    let changed_meanwhile = args.edit
        && ctx
            .store()
            .load(session.name())
            .map_or(true, |now| now.context.unwrap_or_default() != current);
    if changed_meanwhile {
        let kept = ctx
            .repo
            .common_dir()
            .join("session")
            .join(format!("context-{}.md", session.meta.id));
        if let Some(dir) = kept.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(&kept, &new)
            .map_err(|e| CommandError::internal(format!("cannot write {}: {e}", kept.display())))?;
        return Err(CommandError::user(format!(
            "context.md changed (or the session went) while it was being edited; nothing was recorded, your text is in {}",
            kept.display()
        ))
        .hint("`git session context --edit` again starts from the new text"));
    }
    let mut tx = ctx.transaction();
    let append = args.append.clone();
    tx.record(
        session.name(),
        Event::new(EventKind::Context, detail),
        // An append goes onto the context as it is when recorded, so a change made
        // meanwhile (another append, a fast-forward) is kept.
        move |_, context| {
            *context = Some(match &append {
                Some(text) => appended(context.as_deref().unwrap_or(""), text),
                None => new.clone(),
            })
        },
    )?;
    tx.finish()?;
    ctx.out.status(&format!(
        "Updated the context of session '{}'",
        session.name()
    ));
    Ok(())
}

/// A file's text, or stdin's for `-`.
pub fn read_input(file: &std::path::Path) -> CommandResult<String> {
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .take(MAX_BLOB_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| CommandError::user(format!("cannot read stdin: {e}")))?;
    } else {
        text = std::fs::read_to_string(file)
            .map_err(|e| CommandError::user(format!("cannot read {}: {e}", file.display())))?;
    }
    Ok(text)
}

/// Lets the user edit `text` in the editor git would open (only on a terminal).
pub fn edit_text(text: &str, file_name: &str) -> CommandResult<String> {
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::user("--edit needs a terminal")
            .hint("pass the text with an option instead (see --help)"));
    }
    let editor = crate::git::runner::editor(std::path::Path::new("."))
        .or_else(|| std::env::var("VISUAL").ok())
        .or_else(|| std::env::var("EDITOR").ok())
        .unwrap_or_else(|| "vi".into());
    let dir = tempfile::tempdir()
        .map_err(|e| CommandError::internal(format!("cannot make a temporary directory: {e}")))?;
    let path = dir.path().join(file_name);
    std::fs::write(&path, text)
        .map_err(|e| CommandError::internal(format!("cannot write {}: {e}", path.display())))?;
    // The editor is the user's own setting, run as git runs core.editor: through the shell.
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg(&editor)
        .arg(&path)
        .status()
        .map_err(|e| CommandError::user(format!("cannot run the editor '{editor}': {e}")))?;
    if !status.success() {
        return Err(CommandError::user(format!(
            "the editor '{editor}' failed; nothing was changed"
        )));
    }
    std::fs::read_to_string(&path)
        .map_err(|e| CommandError::internal(format!("cannot read {}: {e}", path.display())))
}
