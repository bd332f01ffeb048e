//! `git session fetch`: bring a remote's sessions into `refs/remote-sessions/<remote>/*`
//! (never over a local session), its branches, and its provenance notes merged into the
//! local ones; then judge every fetched log, one warning per session that is refused.

use crate::config;
use crate::context::Context;
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
    let configured = remote::config_values(&main_root, &format!("remote.{remote_name}.fetch"))?;
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
    let mut refused = 0;
    match sync::merge_remote_notes(&ctx.repo, &main_root, &remote_name) {
        Ok(sync::NotesMerge::Merged) => ctx.out.status(&format!(
            "Merged {remote_name}'s provenance notes into refs/notes/sessions"
        )),
        Ok(_) => {}
        Err(e @ sync::SyncError::HostileNotes { .. }) => {
            refused += 1;
            ctx.out.error(&crate::text::one_line(&e));
        }
        Err(e) => return Err(e.into()),
    }
    let store = ctx.store();
    let mut fetched = 0;
    let after = sync::remote_entries(&ctx.repo, std::slice::from_ref(&remote_name))?;
    for gone in before
        .iter()
        .filter(|b| !after.iter().any(|a| a.name == b.name))
    {
        ctx.out.status(&format!(
            "  pruned {} (the remote no longer has it)",
            crate::text::escape(&gone.display())
        ));
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
                fetched += 1;
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
            }
            Err(e) => {
                refused += 1;
                ctx.out.error(&crate::text::one_line(&e));
            }
        }
    }
    ctx.out.status(&format!(
        "Fetched {fetched} new or updated session(s) from {remote_name}"
    ));
    if refused > 0 {
        return Err(CommandError::user(format!(
            "{refused} fetched item(s) from {remote_name} were refused (see above); the others are usable"
        )));
    }
    Ok(())
}
