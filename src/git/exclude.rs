//! `$GIT_COMMON_DIR/info/exclude`: the repository's own ignore rules, shared by every worktree
//! and never tracked. git-session adds lines here (its worktree directory, hook files it
//! created inside a worktree, Claude Code's local settings) and takes back only lines it added.
//! The file is handled as bytes: git accepts patterns that are not UTF-8.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file, for messages.
pub fn path(common_dir: &Path) -> PathBuf {
    common_dir.join("info").join("exclude")
}

fn read(path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// The file's lines, each with its `\n` (the last may lack one).
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split_inclusive(|b| *b == b'\n')
}

fn bare(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// Appends the `lines` not there yet, after `comment` (a `# …` line) when any is added.
/// Returns the lines it added.
pub fn add(common_dir: &Path, comment: Option<&str>, wanted: &[String]) -> io::Result<Vec<String>> {
    let path = path(common_dir);
    let existing = read(&path)?;
    let mut added: Vec<String> = Vec::new();
    for line in wanted {
        if !lines(&existing).any(|l| bare(l) == line.as_bytes()) && !added.contains(line) {
            added.push(line.clone());
        }
    }
    if added.is_empty() {
        return Ok(added);
    }
    fs::create_dir_all(path.parent().expect("info/exclude has a directory"))?;
    let mut text = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        text.push('\n');
    }
    if let Some(comment) = comment {
        text.push_str(&format!("# {comment}\n"));
    }
    for line in &added {
        text.push_str(line);
        text.push('\n');
    }
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?
        .write_all(text.as_bytes())?;
    Ok(added)
}

/// Removes these exact lines. With `comment`, only those in the block that comment opens
/// (the comment goes too): the same line elsewhere is the user's.
pub fn remove(common_dir: &Path, comment: Option<&str>, unwanted: &[String]) -> io::Result<()> {
    let path = path(common_dir);
    let text = read(&path)?;
    let comment = comment.map(|c| format!("# {c}"));
    let all: Vec<&[u8]> = lines(&text).collect();
    let ours = |l: &[u8]| unwanted.iter().any(|e| bare(l) == e.as_bytes());
    let mut kept: Vec<u8> = Vec::with_capacity(text.len());
    let mut in_block = comment.is_none();
    for (i, line) in all.iter().enumerate() {
        let opens_block = comment
            .as_deref()
            .is_some_and(|c| bare(line) == c.as_bytes())
            && all.get(i + 1).is_some_and(|next| ours(next));
        if opens_block {
            in_block = true;
            continue;
        }
        if in_block && ours(line) {
            continue;
        }
        in_block = comment.is_none();
        kept.extend_from_slice(line);
    }
    if kept != text {
        fs::write(&path, kept)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_then_remove_gives_the_file_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = path(dir.path());
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        // Not UTF-8, and no final newline: both are the user's business.
        fs::write(&file, b"# mine \xff\n*.tmp").unwrap();
        let lines = vec!["/a".to_owned(), "*.tmp".to_owned(), "/b".to_owned()];
        let added = add(dir.path(), Some("by git-session"), &lines).unwrap();
        assert_eq!(
            added,
            ["/a", "/b"],
            "lines already there are not added twice"
        );
        assert_eq!(
            fs::read(&file).unwrap(),
            b"# mine \xff\n*.tmp\n# by git-session\n/a\n/b\n"
        );
        assert!(
            add(dir.path(), Some("by git-session"), &lines)
                .unwrap()
                .is_empty()
        );
        remove(dir.path(), Some("by git-session"), &added).unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"# mine \xff\n*.tmp\n");
        // The same line outside the block is the user's.
        fs::write(&file, "/a\n# by git-session\n/a\n/b\nlast").unwrap();
        remove(dir.path(), Some("by git-session"), &added).unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "/a\nlast");
        remove(dir.path(), None, &added).unwrap();
        assert_eq!(fs::read_to_string(&file).unwrap(), "last");
    }
}
