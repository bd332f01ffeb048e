//! `git session fetch`: bring a remote's sessions into `refs/remote-sessions/<remote>/*`
//! (never over a local session), its branches, and its provenance notes merged into the
//! local ones; then judge every fetched log, one warning per session that is refused.

use crate::command_context::Context;
use crate::config;
use crate::error::{CommandError, CommandResult};
use crate::git::remote;
use crate::session::sync;

/// Fetch a remote's sessions and provenance notes.
///
/// Sessions land in refs/remote-sessions/<remote>/<name> (see them with `list --all`, take
/// one up with `resume <name>`), branches in refs/remotes/<remote>/, and the remote's notes
/// are merged into refs/notes/sessions. Each fetched session is checked; a malformed or
/// hostile one is reported and left unused.
#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// The remote (default: session.remote, else origin).
    pub remote: Option<String>,
    /// Drop fetched sessions the remote no longer has (and, as `git fetch --prune` does,
    /// remote-tracking branches it deleted). Local sessions are never touched.
    #[arg(short, long)]
    pub prune: bool,
    /// Print what was fetched as JSON (on stdout; narration stays on stderr).
    #[arg(long)]
    pub json: bool,
}

/// What a fetch brought, for `--json` (people read the same on stderr).
#[derive(Debug, Default, serde::Serialize)]
pub struct FetchReport {
    pub remote: String,
    /// New or updated fetched sessions that passed the checks.
    pub sessions: Vec<FetchedSession>,
    /// Fetched sessions dropped by `--prune`.
    pub pruned: Vec<String>,
    /// Why each refused item was refused (one line each).
    pub refused: Vec<String>,
    /// Whether the remote's notes were merged into the local ones.
    pub notes_merged: bool,
}

#[derive(Debug, serde::Serialize)]
pub struct FetchedSession {
    pub name: String,
    /// `<remote>/<name>`.
    pub remote_name: String,
    /// How the local session of that name relates to it (`ahead`, `behind`, …), if any.
    pub local: Option<String>,
}

pub fn run(ctx: &Context, args: FetchArgs) -> CommandResult {
    let config = ctx.config()?;
    let main_root = ctx.main_root()?;
    let remote_name = args
        .remote
        .clone()
        .unwrap_or_else(|| config.string(&config::REMOTE));
    remote::check_name(&ctx.repo, &remote_name)?;
    let before: Vec<sync::RemoteEntry> =
        sync::remote_entries(&ctx.repo, std::slice::from_ref(&remote_name))?;
    let configured = ctx
        .repo
        .config_strings(&format!("remote.{remote_name}.fetch"));
    let refspecs = sync::fetch_all_refspecs(&remote_name, &configured);
    ctx.out
        .status(&format!("Fetching sessions from {remote_name}"));
    remote::fetch(
        &main_root,
        &remote_name,
        &refspecs,
        args.prune,
        remote::TRANSFER_TIMEOUT,
    )?;
    let mut report = FetchReport {
        remote: remote_name.clone(),
        ..Default::default()
    };
    match sync::merge_remote_notes(&ctx.repo, &main_root, &remote_name) {
        Ok(sync::NotesMerge::Merged) => {
            report.notes_merged = true;
            ctx.out.status(&format!(
                "Merged {remote_name}'s provenance notes into refs/notes/sessions"
            ))
        }
        Ok(_) => {}
        Err(e @ sync::SyncError::HostileNotes { .. }) => {
            let line = crate::text::one_line(&e);
            ctx.out.error(&line);
            report.refused.push(line);
        }
        Err(e) => return Err(e.into()),
    }
    let store = ctx.store();
    let after = sync::remote_entries(&ctx.repo, std::slice::from_ref(&remote_name))?;
    for gone in before
        .iter()
        .filter(|b| !after.iter().any(|a| a.name == b.name))
    {
        ctx.out.status(&format!(
            "  pruned {} (the remote no longer has it)",
            crate::text::escape(&gone.display())
        ));
        report.pruned.push(gone.display());
    }
    for entry in after {
        let previous = before.iter().find(|b| b.name == entry.name).map(|b| b.tip);
        if previous == Some(entry.tip) {
            continue;
        }
        // What was checked before (the previous copy, the local log) need not be again.
        let mut known: Vec<_> = previous.into_iter().collect();
        if let Ok(Some(local)) = ctx
            .repo
            .read_ref(&crate::session::store::ref_name(&entry.name))
        {
            known.push(local);
        }
        match sync::check_log(&ctx.repo, &entry, &known) {
            Ok(session) => {
                sync::remember_checked(&ctx.repo, entry.tip);
                let relation = match store.load(&entry.name) {
                    Ok(local) if local.meta.id != session.meta.id => {
                        Some(sync::Relation::Unrelated)
                    }
                    Ok(local) => Some(sync::relate(&ctx.repo, local.tip, entry.tip)?),
                    Err(_) => None,
                };
                let note = match relation {
                    None => String::new(),
                    Some(r) => format!(" (local session: {})", r.as_str()),
                };
                ctx.out.status(&format!(
                    "  {}{note}",
                    crate::text::escape(&entry.display())
                ));
                report.sessions.push(FetchedSession {
                    name: entry.name.clone(),
                    remote_name: entry.display(),
                    local: relation.map(|r| r.as_str().to_owned()),
                });
            }
            Err(e) => {
                let line = crate::text::one_line(&e);
                ctx.out.error(&line);
                report.refused.push(line);
                // Not kept: the copy fetched before (if any) stays, or nothing does, so
                // `list --all` and `resume` never meet it; the next fetch judges it again.
                let tracking = sync::remote_ref(&remote_name, &entry.name);
                let _ = match previous {
                    Some(old) => ctx.repo.update_ref(
                        &tracking,
                        old,
                        crate::git::Expect::At(entry.tip),
                        "session: refused copy dropped",
                    ),
                    None => ctx.repo.delete_ref(&tracking, entry.tip),
                };
            }
        }
    }
    ctx.out.status(&format!(
        "Fetched {} new or updated session(s) from {remote_name}",
        report.sessions.len()
    ));
    if args.json {
        ctx.out.json(&report)?;
    }
    if !report.refused.is_empty() {
        return Err(CommandError::user(format!(
            "{} fetched item(s) from {remote_name} were refused (see above); the others are usable",
            report.refused.len()
        )));
    }
    Ok(())
}
