//! Git notes, in-process through gix: read the note on a commit and write one with a
//! compare-and-swap update of the notes ref (retried from a fresh read on conflict), in the
//! fanout layout `git notes` and `git fsck` accept.

use super::{GixContext, ObjectId, Repo, RepoError};

impl Repo {
    /// The note on `commit` in `notes_ref`, if any.
    pub fn note(&self, notes_ref: &str, commit: ObjectId) -> Result<Option<Vec<u8>>, RepoError> {
        let mut notes = self
            .gix()
            .notes()
            .context(|| "reading notes".into())?
            .with_refs([notes_ref])
            .context(|| format!("reading {notes_ref}"))?;
        let found = notes
            .get(commit)
            .context(|| format!("reading the note on {commit} in {notes_ref}"))?;
        Ok(found.first().map(|note| note.blob.data.clone()))
    }

    /// Sets the note on `commit` to what `update` makes of the current one (None: leave it
    /// as it is). Retried from a fresh read when another process moved the notes ref.
    pub fn update_note(
        &self,
        notes_ref: &str,
        commit: ObjectId,
        message: &str,
        mut update: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<bool, RepoError> {
        let mut last_error = None;
        for _ in 0..10 {
            let current = self.note(notes_ref, commit)?;
            let Some(new) = update(current.as_deref()) else {
                return Ok(false);
            };
            let mut notes = self
                .gix()
                .notes()
                .context(|| "writing notes".into())?
                .with_commit_message(message);
            match super::writes::guarded(|| notes.replace(notes_ref, commit, new)) {
                Ok(_) => return Ok(true),
                Err(e) => {
                    last_error = Some(e);
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            }
        }
        Err(last_error
            .map(|e| RepoError::Gix {
                context: format!("writing the note on {commit} in {notes_ref}"),
                source: e.into(),
            })
            .unwrap_or(RepoError::RefConflict {
                ref_name: notes_ref.to_owned(),
            }))
    }
}
