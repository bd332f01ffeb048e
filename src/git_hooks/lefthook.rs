//! Chaining into lefthook, which rewrites the hook files it owns on every `lefthook install`
//! (and on its own automatic re-sync), so a block inside them does not last. lefthook merges
//! an untracked local config (`lefthook-local.yml`) into its main one: our jobs go there,
//! between the same marker comments as the blocks in hook files, so they survive lefthook's
//! reinstall and come out byte for byte. lefthook reads the config of the worktree it runs
//! in, so every worktree gets one.
//!
//! Only events lefthook already runs are chained (its hook file is in place, or its main
//! config names the event): adding a new event to lefthook's config would make lefthook take
//! that hook file over and move the user's own hook aside to `<hook>.old`, which it never runs.
//! Pure text work; the caller in `crate::git_hooks` reads and writes the files.

use std::path::{Path, PathBuf};

use super::{BEGIN, END, END_NO_EOL, find, find_block, replace_block};

/// lefthook's local config names and extensions, in the order it looks for them (the first
/// existing file wins, so ours must be that file when there is one).
const LOCAL_NAMES: [&str; 3] = [
    "lefthook-local",
    ".lefthook-local",
    ".config/lefthook-local",
];
const MAIN_NAMES: [&str; 3] = ["lefthook", ".lefthook", ".config/lefthook"];
const EXTENSIONS: [&str; 5] = [".yml", ".yaml", ".json", ".jsonc", ".toml"];
/// The local config install creates when there is none.
pub const DEFAULT_LOCAL: &str = "lefthook-local.yml";

fn first_existing(root: &Path, names: &[&str]) -> Option<PathBuf> {
    EXTENSIONS.iter().find_map(|ext| {
        names
            .iter()
            .map(|name| root.join(format!("{name}{ext}")))
            .find(|p| p.is_file())
    })
}

/// lefthook's main config in the worktree `root`, when there is one.
pub fn main_config(root: &Path) -> Option<PathBuf> {
    first_existing(root, &MAIN_NAMES)
}

/// Whether `path` is named as lefthook's local config is.
pub fn is_local_config_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    LOCAL_NAMES.iter().any(|local| {
        let stem = local.rsplit('/').next().unwrap_or(local);
        EXTENSIONS.iter().any(|ext| name == format!("{stem}{ext}"))
    })
}

/// The local config lefthook reads in `root`: the existing one, else where install creates
/// it. The flag says whether it is YAML (our block can only go into YAML).
pub fn local_config(root: &Path) -> (PathBuf, bool) {
    let path = first_existing(root, &LOCAL_NAMES).unwrap_or_else(|| root.join(DEFAULT_LOCAL));
    let yaml = path.extension().is_some_and(|e| e == "yml" || e == "yaml");
    (path, yaml)
}

/// Whether a hook file hands the hook to lefthook (lefthook's own file says `LEFTHOOK`; a
/// hand-written one calls `lefthook run`).
pub fn runs_lefthook(content: &[u8]) -> bool {
    find(content, b"lefthook").is_some() || find(content, b"LEFTHOOK").is_some()
}

/// Whether config text defines `event` as a top-level key (YAML `event:`, JSON `"event":`,
/// TOML `[event]`/`[event.…]`), outside our block.
pub fn defines(content: &[u8], event: &str) -> bool {
    let outside = match find_block(content) {
        Some((start, end, _)) => [&content[..start], &content[end..]].concat(),
        None => content.to_vec(),
    };
    String::from_utf8_lossy(&outside).lines().any(|line| {
        let yaml = line
            .strip_prefix(event)
            .or_else(|| {
                line.strip_prefix(&format!("\"{event}\""))
                    .or_else(|| line.strip_prefix(&format!("'{event}'")))
            })
            .is_some_and(|rest| rest.trim_start().starts_with(':'));
        let json = line
            .trim_start()
            .strip_prefix(&format!("\"{event}\""))
            .is_some_and(|rest| rest.trim_start().starts_with(':'));
        let toml = line
            .trim_start()
            .strip_prefix('[')
            .and_then(|r| r.strip_prefix(event))
            .is_some_and(|rest| rest.starts_with(']') || rest.starts_with('.'));
        yaml || json || toml
    })
}

/// The YAML for our jobs, one per event, between the marker lines. Hooks that read standard
/// input get it (`use_stdin`); git's arguments are passed through `{0}`.
pub fn block(events: &[&str]) -> String {
    let mut text = format!("{BEGIN}\n");
    for event in events {
        text.push_str(&format!(
            "{event}:\n  jobs:\n    - name: git-session\n      run: 'if command -v git-session >/dev/null 2>&1; then git-session hook {event} {{0}} || true; fi'\n"
        ));
        if matches!(*event, "pre-push" | "post-rewrite") {
            text.push_str("      use_stdin: true\n");
        }
    }
    text.push_str(END);
    text.push('\n');
    text
}

/// `content` (None: no file yet) with our block for `events` in place: replaced where it is,
/// else appended at the end (after a newline install adds, and uninstall takes away, when the
/// file does not end with one).
pub fn with_block(content: Option<&[u8]>, events: &[&str]) -> Vec<u8> {
    let block = block(events);
    let Some(content) = content else {
        return block.into_bytes();
    };
    if let Some(out) = replace_block(content, &block) {
        return out;
    }
    let mut out = content.to_vec();
    if out.is_empty() || out.ends_with(b"\n") {
        out.extend_from_slice(block.as_bytes());
    } else {
        out.push(b'\n');
        out.extend_from_slice(block.replace(END, END_NO_EOL).as_bytes());
    }
    out
}

/// Whether our block in `content` has the job for `event`.
pub fn has_job(content: &[u8], event: &str) -> bool {
    let Some((start, end, _)) = find_block(content) else {
        return false;
    };
    let ours = &content[start..end];
    find(ours, format!("\n{event}:\n").as_bytes()).is_some()
        && find(ours, format!("git-session hook {event} {{0}}").as_bytes()).is_some()
}

/// The events our block in `content` has jobs for.
pub fn events_in(content: &[u8]) -> Vec<&'static str> {
    super::EVENTS
        .into_iter()
        .filter(|e| has_job(content, e))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_is_appended_and_comes_out_byte_for_byte() {
        let events = ["post-commit", "pre-push"];
        for original in [
            &b"pre-commit:\n  jobs:\n    - run: true\n"[..],
            b"# no newline",
            b"",
        ] {
            let with = with_block(Some(original), &events);
            assert!(with.starts_with(original));
            assert!(has_job(&with, "post-commit") && has_job(&with, "pre-push"));
            assert!(!has_job(&with, "post-checkout"));
            assert_eq!(with_block(Some(&with), &events), with, "idempotent");
            assert_eq!(super::super::without_block(&with).unwrap(), original);
        }
        let created = with_block(None, &events);
        assert_eq!(super::super::without_block(&created).unwrap(), b"");
        assert!(
            String::from_utf8(created)
                .unwrap()
                .contains("use_stdin: true")
        );
    }

    #[test]
    fn top_level_hook_keys_are_found_outside_our_block() {
        assert!(defines(b"post-commit:\n  jobs: []\n", "post-commit"));
        assert!(defines(b"'post-commit' :\n", "post-commit"));
        assert!(defines(b"[post-commit.jobs]\n", "post-commit"));
        assert!(defines(b"{\n  \"post-commit\": {}\n}", "post-commit"));
        assert!(!defines(b"pre-commit:\n  post-commit: x\n", "post-commit"));
        assert!(!defines(b"post-commit-x:\n", "post-commit"));
        let ours = with_block(None, &["post-commit"]);
        assert!(!defines(&ours, "post-commit"));
    }
}
