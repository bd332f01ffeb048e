//! Secrets a push must not publish by accident. A checkpoint holds untracked files nobody
//! chose to commit, so before `push` sends one, the files it publishes for the first time
//! are judged by name (`.env*`, `*.pem`, `id_*` …) and by how their content starts (private
//! key headers, cloud and forge token formats). Pure judgement plus a tree walk; never prints.

use std::collections::BTreeMap;

use gix::bstr::ByteSlice;

use crate::git::{ObjectId, Repo, RepoError};

/// Content prefixes read per file: enough for every pattern below.
const HEAD_BYTES: usize = 512;
/// The largest blob that can be a Git LFS pointer.
const MAX_POINTER_BYTES: usize = 1024;
// What a capture keeps of each file it hashed is enough to judge it as its blob would be.
const _: () = assert!(
    crate::git::batch::LEADING_BYTES >= HEAD_BYTES
        && crate::git::batch::LEADING_BYTES >= MAX_POINTER_BYTES
);
/// Larger files are judged by name only (secrets are small; reading big blobs is slow).
const MAX_CONTENT_BYTES: u64 = 256 * 1024;

/// A file a push would publish that looks like a secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub path: String,
    /// Why: "its name" or the kind of content.
    pub why: String,
}

/// Whether a file name looks like a secret's.
pub fn secret_name(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let examples = [".env.example", ".env.sample", ".env.template", ".env.dist"];
    // `.env*` as the issue says: `.env`, `.env.production`, `.envrc`, `.env_local` …
    if file.starts_with(".env") && !examples.contains(&file.as_str()) {
        return true;
    }
    let public_key = file.ends_with(".pub");
    (file.starts_with("id_") && !public_key)
        || file.starts_with("credentials")
        || [
            ".pem",
            ".key",
            ".p12",
            ".pfx",
            ".jks",
            ".keystore",
            ".ppk",
            ".asc",
        ]
        .iter()
        .any(|ext| file.ends_with(ext))
        || [
            ".netrc",
            "_netrc",
            ".npmrc",
            ".pypirc",
            ".htpasswd",
            "secrets.json",
            "secrets.yaml",
            "secrets.yml",
            ".git-credentials",
        ]
        .contains(&file.as_str())
}

/// The kind of secret `content` starts like, if any (leading whitespace ignored).
pub fn secret_content(content: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(&content[..content.len().min(HEAD_BYTES)]);
    let text = text.trim_start();
    let header = text.lines().next().unwrap_or_default();
    if header.starts_with("-----BEGIN") && header.contains("PRIVATE KEY") {
        return Some("a private key");
    }
    if text.starts_with("PuTTY-User-Key-File") {
        return Some("a private key");
    }
    let token_prefixes: [(&str, usize, &str); 12] = [
        ("AKIA", 16, "an AWS access key"),
        ("ASIA", 16, "an AWS access key"),
        ("ghp_", 36, "a GitHub token"),
        ("gho_", 36, "a GitHub token"),
        ("ghu_", 36, "a GitHub token"),
        ("ghs_", 36, "a GitHub token"),
        ("ghr_", 36, "a GitHub token"),
        ("github_pat_", 22, "a GitHub token"),
        ("glpat-", 20, "a GitLab token"),
        ("xoxb-", 10, "a Slack token"),
        ("sk-ant-", 20, "an Anthropic API key"),
        ("AIza", 35, "a Google API key"),
    ];
    // The token may be the whole file or a `KEY=value` line's value.
    let first = text.lines().next().unwrap_or_default();
    let candidates = [
        first,
        first
            .split_once('=')
            .map_or("", |(_, v)| v.trim().trim_matches('"')),
    ];
    for candidate in candidates {
        for (prefix, rest, what) in token_prefixes {
            if let Some(tail) = candidate.strip_prefix(prefix)
                && tail.get(..rest).is_some_and(|t| {
                    t.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                })
            {
                return Some(what);
            }
        }
    }
    None
}

/// Where the LFS store keeps the object a Git LFS pointer names (`version
/// https://git-lfs.github.com/spec/v1`, `oid sha256:<64 hex>`); None for any other blob.
fn lfs_object(repo: &Repo, blob: &[u8]) -> Option<std::path::PathBuf> {
    if blob.len() > MAX_POINTER_BYTES
        || !blob.starts_with(b"version https://git-lfs.github.com/spec/v1")
    {
        return None;
    }
    let text = std::str::from_utf8(blob).ok()?;
    let oid = text
        .lines()
        .find_map(|l| l.strip_prefix("oid sha256:"))?
        .trim();
    if oid.len() != 64 || !oid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let storage = repo
        .config_string("lfs.storage")
        .map(std::path::PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                repo.common_dir().join(p)
            }
        })
        .unwrap_or_else(|| repo.common_dir().join("lfs"));
    Some(
        storage
            .join("objects")
            .join(&oid[..2])
            .join(&oid[2..4])
            .join(oid),
    )
}

fn read_head(path: &std::path::Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(HEAD_BYTES as u64).read_to_end(&mut head);
    }
    head
}

/// Blobs in `tree` that differ from `base` (added or changed, by path), skipping subtrees
/// with the same id: what a checkpoint adds on top of its HEAD.
pub fn changed_blobs(
    repo: &Repo,
    tree: ObjectId,
    base: Option<ObjectId>,
) -> Result<BTreeMap<String, ObjectId>, RepoError> {
    Ok(repo
        .tree_changes(base, tree)?
        .into_iter()
        .filter_map(|change| {
            let (mode, id) = change.new?;
            let content_changed = change.old.is_none_or(|(_, old)| old != id);
            ((mode.is_blob() || mode.is_link()) && content_changed)
                .then(|| (change.path.to_str_lossy().into_owned(), id))
        })
        .collect())
}

/// Judges published files by name and content. A blob's content is read and judged once,
/// however many paths and checkpoints hold it.
pub struct Judge<'r> {
    repo: &'r Repo,
    /// What each blob read so far starts like, if anything.
    verdicts: std::collections::HashMap<ObjectId, Option<&'static str>>,
}

impl<'r> Judge<'r> {
    pub fn new(repo: &'r Repo) -> Self {
        Judge {
            repo,
            verdicts: Default::default(),
        }
    }

    /// Judges the files `published` (path → blob) by name and content.
    pub fn scan(
        &mut self,
        published: &BTreeMap<String, ObjectId>,
    ) -> Result<Vec<Finding>, RepoError> {
        let mut out = Vec::new();
        for (path, id) in published {
            if secret_name(path) {
                out.push(Finding {
                    path: path.clone(),
                    why: "its name".into(),
                });
                continue;
            }
            let verdict = match self.verdicts.get(id) {
                Some(verdict) => *verdict,
                None => {
                    let verdict = self.content(*id)?;
                    self.verdicts.insert(*id, verdict);
                    verdict
                }
            };
            if let Some(what) = verdict {
                out.push(Finding {
                    path: path.clone(),
                    why: format!("it starts like {what}"),
                });
            }
        }
        Ok(out)
    }

    /// Takes what blobs start with, as a capture hashed them, instead of reading them back.
    pub fn know(
        &mut self,
        leading: &std::collections::HashMap<ObjectId, crate::git::batch::Leading>,
    ) {
        for (id, start) in leading {
            if self.verdicts.contains_key(id) {
                continue;
            }
            let verdict = if start.size > MAX_CONTENT_BYTES {
                None
            } else if start.size > start.bytes.len() as u64 {
                // Too large for a Git LFS pointer, and the start is all that is judged.
                secret_content(&start.bytes)
            } else {
                self.blob_content(&start.bytes)
            };
            self.verdicts.insert(*id, verdict);
        }
    }

    /// What blob `id`'s content starts like; large blobs are judged by name only.
    fn content(&self, id: ObjectId) -> Result<Option<&'static str>, RepoError> {
        if self.repo.object_size(id)? > MAX_CONTENT_BYTES {
            return Ok(None);
        }
        Ok(self.blob_content(&self.repo.read_blob(id)?))
    }

    /// What a whole blob starts like. An LFS-tracked file's blob is a pointer: its content
    /// is in the LFS store, and that is what the push's LFS upload publishes.
    fn blob_content(&self, blob: &[u8]) -> Option<&'static str> {
        match lfs_object(self.repo, blob) {
            Some(path) => match std::fs::metadata(&path) {
                Ok(meta) if meta.len() <= MAX_CONTENT_BYTES => secret_content(&read_head(&path)),
                _ => None,
            },
            None => secret_content(blob),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for bad in [
            ".env",
            "config/.env.production",
            "id_ed25519",
            "keys/server.pem",
            "tls.key",
            "credentials.json",
            "cert.p12",
        ] {
            assert!(secret_name(bad), "{bad}");
        }
        for good in [
            ".env.example",
            "id_ed25519.pub",
            "src/main.rs",
            "environment.md",
            "keyboard.rs",
        ] {
            assert!(!secret_name(good), "{good}");
        }
    }

    /// What a capture kept of each file it hashed gives the verdict reading the blob back
    /// gives: small and large files, secrets past the start, a large file that begins like
    /// a Git LFS pointer.
    #[test]
    fn what_a_capture_kept_judges_as_the_blob_does() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo::from_gix_handle(gix::init_bare(dir.path()).unwrap());
        let pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:";
        let contents: Vec<Vec<u8>> = vec![
            b"fn main() {}\n".to_vec(),
            b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n".to_vec(),
            b"TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n".to_vec(),
            [b"AKIAABCDEFGHIJKLMNOP\n".as_slice(), &[b'x'; 4000]].concat(),
            [&[b' '; 600][..], b"AKIAABCDEFGHIJKLMNOP\n"].concat(),
            [pointer.as_bytes(), &[b'a'; 2000]].concat(),
            [
                b"-----BEGIN OPENSSH PRIVATE KEY-----\n".as_slice(),
                &[b'k'; 300_000],
            ]
            .concat(),
        ];
        let mut leading = std::collections::HashMap::new();
        let mut published = BTreeMap::new();
        for (i, content) in contents.iter().enumerate() {
            let id = repo.write_blob(content).unwrap();
            let size = content.len();
            let start = content[..size.min(crate::git::batch::LEADING_BYTES)].to_vec();
            leading.insert(
                id,
                crate::git::batch::Leading {
                    size: size as u64,
                    bytes: start,
                },
            );
            published.insert(format!("file{i}"), id);
        }
        let read_back = Judge::new(&repo).scan(&published).unwrap();
        let mut knowing = Judge::new(&repo);
        knowing.know(&leading);
        assert_eq!(knowing.scan(&published).unwrap(), read_back);
        let found: Vec<&str> = read_back.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(found, ["file1", "file2", "file3"]);
    }

    #[test]
    fn contents() {
        assert!(secret_content(b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blb...").is_some());
        assert!(secret_content(b"  -----BEGIN RSA PRIVATE KEY-----\n").is_some());
        assert!(secret_content(b"AKIAABCDEFGHIJKLMNOP\n").is_some());
        assert!(secret_content(b"TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789\n").is_some());
        assert!(secret_content(b"-----BEGIN CERTIFICATE-----\n").is_none());
        assert!(secret_content(b"fn main() {}\n").is_none());
        assert!(secret_content(b"ghp_short").is_none());
    }
}
