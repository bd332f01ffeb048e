#!/usr/bin/env bash
# (A copy of shared/bench/make-repo.sh, so the benchmark runs from this repository alone.)
# make-repo.sh DIR [TRACKED_FILES] [IGNORED_FILES]
# Builds a deterministic benchmark repository at DIR:
#   - TRACKED_FILES small source files (default 100000) in a two-level tree, one commit;
#   - a gitignored node_modules/ with IGNORED_FILES files (default 30000), plus .env and .env.local;
#   - a .worktreeinclude that names .env, .env.local and node_modules/.
# Same arguments give the same tree and the same commit id on any machine.
set -euo pipefail
dir=${1:?usage: make-repo.sh DIR [TRACKED_FILES] [IGNORED_FILES]}
tracked=${2:-100000}
ignored=${3:-30000}
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' GIT_COMMITTER_DATE='2026-01-01T00:00:00Z'
rm -rf "$dir"
git init -q -b main "$dir"
cd "$dir"
python3 - "$tracked" "$ignored" <<'PY'
import os, sys
tracked, ignored = int(sys.argv[1]), int(sys.argv[2])
def write(path, text):
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
for i in range(tracked):
    write(f"src/d{i // 1000:03d}/s{(i // 100) % 10}/f{i}.rs",
          f"// file {i}\npub fn f{i}() -> u64 {{ {i} }}\n" + "// padding line\n" * (i % 40))
for i in range(ignored):
    write(f"node_modules/pkg{i // 50}/lib/m{i}.js", f"module.exports = {i};\n" * (1 + i % 20))
write(".env", "SECRET=bench\n")
write(".env.local", "PORT=3000\n")
write(".gitignore", "node_modules/\n.env\n.env.local\ntarget/\n")
write(".worktreeinclude", ".env\n.env.local\nnode_modules/\n")
PY
git add -A
git commit -q -m "benchmark tree: $tracked tracked, $ignored ignored"
git rev-parse HEAD
