//! `git session own`: the paths a session claims (`owns` in session.yaml, git pathspecs), so
//! `overlaps`, the git hooks and the agent's `PreToolUse` hook can say when parallel work
//! strays into them. A change is an `owns:` event, undoable like any other.

use serde::Serialize;

use crate::command_context::Context;
use crate::error::{CommandError, CommandResult};
use crate::session::{Event, EventKind};

/// Show or change the paths a session claims.
///
/// With pathspecs and no option they replace what it claims; --add and --remove change it;
/// --clear claims nothing. Without pathspecs or options it prints what the session claims.
/// Pathspecs use git's syntax: a directory claims everything below it; `:(glob)**/*.rs`;
/// `:!path` leaves a path out.
#[derive(Debug, clap::Args)]
pub struct OwnArgs {
    /// The session.
    pub name: String,
    /// Add these pathspecs to what it claims.
    #[arg(long, conflicts_with_all = ["remove", "clear"])]
    pub add: bool,
    /// Remove these pathspecs from what it claims.
    #[arg(long, conflicts_with = "clear")]
    pub remove: bool,
    /// Claim nothing.
    #[arg(long)]
    pub clear: bool,
    /// Print what it claims as JSON.
    #[arg(long)]
    pub json: bool,
    /// Git pathspecs (begin the list with `--` when one starts with `-`).
    #[arg(value_name = "PATHSPEC")]
    pub pathspecs: Vec<String>,
}

#[derive(Serialize)]
struct Claimed<'a> {
    name: &'a str,
    owns: &'a [String],
}

/// What to do with the pathspecs given.
#[derive(Clone, Copy)]
enum Change {
    Replace,
    Add,
    Remove,
    Clear,
}

pub fn run(ctx: &Context, args: OwnArgs) -> CommandResult {
    let change = match (args.add, args.remove, args.clear) {
        (true, _, _) => Change::Add,
        (_, true, _) => Change::Remove,
        (_, _, true) => Change::Clear,
        _ => Change::Replace,
    };
    let session = ctx.session(Some(&args.name))?;
    if matches!(change, Change::Clear) && !args.pathspecs.is_empty() {
        return Err(CommandError::usage("--clear takes no pathspecs"));
    }
    let read_only = matches!(change, Change::Replace) && args.pathspecs.is_empty();
    if !read_only && !matches!(change, Change::Clear) && args.pathspecs.is_empty() {
        return Err(CommandError::usage("name the pathspecs to add or remove"));
    }
    if read_only {
        return render(ctx, session.name(), &session.meta.owns, args.json);
    }
    let given = args.pathspecs.clone();
    let next = move |current: &[String]| -> Vec<String> {
        match change {
            Change::Replace => dedup(given.clone()),
            Change::Add => dedup(current.iter().chain(&given).cloned().collect()),
            Change::Remove => current
                .iter()
                .filter(|s| !given.contains(s))
                .cloned()
                .collect(),
            Change::Clear => Vec::new(),
        }
    };
    // Checked before anything is recorded: what the session would claim, whole.
    let wanted = next(&session.meta.owns);
    crate::git::pathspec::Owns::new(&wanted).map_err(CommandError::user)?;
    if matches!(change, Change::Remove)
        && let Some(missing) = args
            .pathspecs
            .iter()
            .find(|s| !session.meta.owns.contains(s))
    {
        return Err(CommandError::user(format!(
            "session '{}' does not claim '{}'",
            session.name(),
            crate::text::escape(missing)
        ))
        .hint(format!(
            "`git session own {}` lists what it claims",
            session.name()
        )));
    }
    if wanted == session.meta.owns {
        ctx.out.status("nothing changed");
        return render(ctx, session.name(), &wanted, args.json);
    }
    let detail = if wanted.is_empty() {
        "nothing".to_owned()
    } else {
        wanted.join(" ")
    };
    let mut tx = ctx.transaction();
    let recorded = tx.record(
        session.name(),
        Event::new(EventKind::Owns, detail),
        // Applied to the session as it is when recorded, so an `own --add` racing another
        // keeps both.
        move |meta, _| {
            let owns = next(&meta.owns);
            // Two additions at once never make a claim that could not be read back.
            if crate::git::pathspec::Owns::new(&owns).is_ok() {
                meta.owns = owns;
            }
        },
    )?;
    tx.finish()?;
    let owns = recorded.meta.owns.clone();
    ctx.out.status(&format!(
        "Session '{}' claims {}",
        session.name(),
        if owns.is_empty() {
            "nothing".to_owned()
        } else {
            format!("{} pathspec(s)", owns.len())
        }
    ));
    render(ctx, session.name(), &owns, args.json)
}

fn dedup(mut specs: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    specs.retain(|s| seen.insert(s.clone()));
    specs
}

fn render(ctx: &Context, name: &str, owns: &[String], json: bool) -> CommandResult {
    if json {
        return ctx.out.json(&Claimed { name, owns });
    }
    if owns.is_empty() {
        ctx.out.status(&format!("session '{name}' claims nothing"));
        return Ok(());
    }
    let mut text = String::new();
    for spec in owns {
        text.push_str(&crate::text::escape(spec));
        text.push('\n');
    }
    ctx.out.answer(&text)
}
