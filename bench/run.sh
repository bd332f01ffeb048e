#!/usr/bin/env bash
# bench/run.sh [new|list|checkpoint|fork|hooks|push|resume|oplog|overlaps|land|fsmonitor|cold|ui|all] — DESIGN §7 budgets, as ratios against stock git in the same run,
# on the repository bench/make-repo.sh builds (100,000 tracked files, 30,000 ignored in
# node_modules/). Prints one line per operation: stock git ms, git-session ms, ratio, budget.
#
# Environment: BENCH_DIR (default /tmp/git-session-bench), BENCH_TRACKED, BENCH_IGNORED,
# BENCH_RUNS (default 3; the median is reported; the commit cases take at least 9 pairs),
# BENCH_BEFORE_REV (oplog: the build to compare with, default the last one without the
# transaction).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
work=${BENCH_DIR:-/tmp/git-session-bench}
tracked=${BENCH_TRACKED:-100000}
ignored=${BENCH_IGNORED:-30000}
runs=${BENCH_RUNS:-3}
[ "$runs" -ge 1 ] 2>/dev/null || { echo "bench: BENCH_RUNS must be a number of runs, 1 or more" >&2; exit 2; }
# The commit cases measure a hook of 10-20 ms inside commits whose own time varies by 30 ms
# from one to the next (git's preload and index write): at least 9 interleaved pairs.
pairs=$((runs > 9 ? runs : 9))
what=${1:-all}

cargo build --release --quiet --manifest-path "$root/Cargo.toml"
export PATH="$root/target/release:$PATH"
# No watchman unless a case starts its own (bench_fsmonitor): the other cases measure the
# scans without a monitor, as on a machine without watchman.
export WATCHMAN_SOCK="$work/no-watchman.sock"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

repo="$work/repo-$tracked-$ignored"
if [ ! -f "$repo/.git/bench-ready" ]; then
  echo "building the benchmark repository in $repo (takes a few minutes)…" >&2
  mkdir -p "$work"
  "$here/make-repo.sh" "$repo" "$tracked" "$ignored" >/dev/null
  git -C "$repo" config session.baseRef head
  printf '/.bench/\n' >> "$repo/.git/info/exclude"
  git -C "$repo" status --porcelain >/dev/null # let git refresh the index once, as a user's would be
  touch "$repo/.git/bench-ready"
fi
cd "$repo"
# git's automatic maintenance (a gc repacking 370,000 objects, half a minute of CPU) would run
# in the background of later cases, set off by earlier ones (each push adds a pack here and at
# the remote): off in the benchmark's repositories, the packs folded before anything is measured.
git config maintenance.auto false
git config gc.auto 0
[ "$(find .git/objects/pack -name '*.pack' | wc -l)" -le 10 ] || git repack -a -d -q

ms() { # runs "$@" quietly, prints wall-clock milliseconds
  local start end
  sync # earlier runs' deletions must not be written back while this one is measured
  start=$(date +%s%N)
  # A command that fails fast would look fast: stop the benchmark instead.
  "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; return 1; }
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
# Takes the untracked cache out of a worktree's index. Plain `git status` (core.untrackedCache
# unset, "keep") uses and updates one it finds there, and the fsmonitor case leaves one in
# bench-ckpt's index when it measures git with its watchman hook and the untracked cache: in
# later runs "plain" status then read 8 directories instead of 1,100 (80 ms against 113 here).
plain_index() { git -C "$1" update-index --no-untracked-cache; }
# Waits for git-session's background work an earlier case set off (the hooks' refresh, which
# scans every worktree in full once watchman is gone; a checkpoint or sync after a commit):
# it runs at nice 10, but still takes the other core and the caches from what is measured.
quiesce() {
  local waited=0
  while pgrep -f "git-session hook (refresh|auto-checkpoint|auto-sync)" >/dev/null && [ "$waited" -lt 600 ]; do
    sleep 0.5
    waited=$((waited + 1))
  done
}
median() { sort -n | awk '{v[NR] = $1} END {m = int((NR + 1) / 2); print (NR % 2 ? v[m] : int((v[m] + v[m + 1]) / 2 + 0.5))}'; }
report() { # name git_ms ours_ms budget
  awk -v n="$1" -v g="$2" -v o="$3" -v b="$4" \
    'BEGIN {r = o / g; printf "%-44s git %7d ms   git-session %7d ms   ratio %.2f   budget %.2f   %s\n", n, g, o, r, b, (r <= b ? "ok" : "OVER")}'
}

bench_new() {
  local git_times=() our_times=() side
  for i in $(seq "$runs"); do
    # As in bench_resume: creating 130,000 files right after as many were deleted is several
    # times slower here, so the sides take turns going first and each waits for the
    # deletions before it to settle.
    for side in $( ((i % 2)) && echo "git ours" || echo "ours git"); do
      sync; sleep 5
      if [ "$side" = git ]; then
        git_times+=("$(ms bash -c "git worktree add -q -b bench-base-$i .bench/base-$i HEAD && cp -a .env .env.local node_modules .bench/base-$i/")")
        git worktree remove --force ".bench/base-$i" && git branch -q -D "bench-base-$i"
      else
        our_times+=("$(ms git session new "bench-new-$i")")
        git session rm --force "bench-new-$i" >/dev/null 2>&1
      fi
    done
  done
  git for-each-ref --format='%(refname)' refs/sessions-trash/ | xargs -r -n1 git update-ref -d
  report "new (with .worktreeinclude copying)" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 1.0
}

bench_list() {
  local n=20
  for i in $(seq "$n"); do
    [ -d ".worktrees/bench-list-$i" ] || git session new --no-include "bench-list-$i" >/dev/null 2>&1
  done
  # a little work in some of them
  for i in 1 5 9; do echo change >> ".worktrees/bench-list-$i/src/d000/s0/f0.rs"; echo new > ".worktrees/bench-list-$i/new.txt"; done
  # git's side covers every worktree list looks at (other benchmarks may have left sessions)
  local worktrees
  worktrees=$(git session list --json | sed -n 's/.*"worktree": "\(.*\)".*/\1/p')
  n=$(echo "$worktrees" | wc -l)
  for wt in $worktrees; do git -C "$wt" status --porcelain >/dev/null; done # warm up
  local git_times=() our_times=()
  for _ in $(seq "$runs"); do
    git_times+=("$(ms bash -c "for wt in $(echo $worktrees); do git -C \$wt status --porcelain; done")")
    our_times+=("$(ms git session list)")
  done
  report "list over $n sessions" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 0.5
}

bench_checkpoint() {
  local wt=.worktrees/bench-ckpt
  [ -d "$wt" ] || git session new --no-include bench-ckpt >/dev/null 2>&1
  plain_index "$wt"
  git -C "$wt" status --porcelain >/dev/null
  # 100 modified tracked files, spread over the tree, and 100 new ones
  git -C "$wt" ls-files src | awk 'NR % 997 == 1' | head -n 100 | while read -r f; do echo "// changed" >> "$wt/$f"; done
  for i in $(seq 0 99); do
    mkdir -p "$wt/new/n$((i % 10))"
    echo "new file $i" > "$wt/new/n$((i % 10))/file$i.rs"
  done
  local gitdir index git_times=() our_times=() same_times=() status_times=()
  gitdir=$(git -C "$wt" rev-parse --absolute-git-dir)
  index=$(mktemp)
  for i in $(seq "$runs"); do
    echo "$i" >> "$wt/new/n0/file0.rs" # a new state each run, so neither side can reuse a result
    git_times+=("$(ms bash -c "cd $wt && cp '$gitdir/index' '$index' && tree=\$(GIT_INDEX_FILE='$index' git add -A && GIT_INDEX_FILE='$index' git write-tree) && git commit-tree \$tree -p HEAD -m bench")")
    echo "$i" >> "$wt/new/n0/file1.rs"
    our_times+=("$(ms git session checkpoint bench-ckpt)")
    same_times+=("$(ms git session checkpoint bench-ckpt)")
    status_times+=("$(ms git -C "$wt" status --porcelain)")
  done
  rm -f "$index"
  report "checkpoint, 100 changed + 100 new files" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 0.5
  report "checkpoint, nothing changed" \
    "$(printf '%s\n' "${status_times[@]}" | median)" "$(printf '%s\n' "${same_times[@]}" | median)" 1.0
  # The same in a session just made: its checkout left part of its files racily clean (written
  # in the second of the index), which every status reads until something writes the index
  # again. git's first status does; the first checkpoint does too (not measured here), and
  # the ones after it are measured against git's status after its first.
  local fresh=.worktrees/bench-ckpt-new fresh_git=() fresh_ours=()
  git session rm --force bench-ckpt-new >/dev/null 2>&1 || :
  sync; sleep 5 # (the deletions just made slow the checkout: see bench_new)
  git session new --head --no-include bench-ckpt-new >/dev/null 2>&1
  sleep 1
  git session checkpoint bench-ckpt-new >/dev/null 2>&1
  git -C "$fresh" status --porcelain >/dev/null
  for i in $(seq "$runs"); do
    fresh_git+=("$(ms git -C "$fresh" status --porcelain)")
    fresh_ours+=("$(ms git session checkpoint bench-ckpt-new)")
  done
  git session rm --force bench-ckpt-new >/dev/null 2>&1 || :
  report "checkpoint, nothing changed, session just made" \
    "$(printf '%s\n' "${fresh_git[@]}" | median)" "$(printf '%s\n' "${fresh_ours[@]}" | median)" 1.0
}

bench_fork() {
  bench_checkpoint >/dev/null
  local git_times=() our_times=()
  for i in $(seq "$runs"); do
    git_times+=("$(ms git worktree add -q -b "bench-fork-base-$i" ".bench/fork-$i" HEAD)")
    git worktree remove --force ".bench/fork-$i" && git branch -q -D "bench-fork-base-$i"
    our_times+=("$(ms git session fork --no-include bench-ckpt "bench-fork-$i")")
    git session rm --force "bench-fork-$i" >/dev/null 2>&1
  done
  git for-each-ref --format='%(refname)' refs/sessions-trash/ | xargs -r -n1 git update-ref -d
  report "fork with 200 changed files (vs worktree add)" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 99
}

bench_hooks() {
  # 5 session worktrees, 2 of them dirty; commits of one changed file in the main worktree,
  # with the hooks installed and without any hooks (core.hooksPath at an empty directory).
  for i in 1 2 3 4 5; do
    [ -d ".worktrees/bench-hook-$i" ] || git session new --no-include "bench-hook-$i" >/dev/null 2>&1
  done
  for i in 1 2; do echo wip >> ".worktrees/bench-hook-$i/wip.txt"; done
  git session hooks install >/dev/null
  local empty git_times=() our_times=()
  empty=$(mktemp -d)
  git session hook refresh # the status cache the warnings read, as a background scan leaves it
  for i in $(seq "$pairs"); do
    echo "$i" >> bench-commit.txt && git add bench-commit.txt
    git_times+=("$(ms git -c core.hooksPath="$empty" commit -q -m "bench without hooks $i")")
    echo "$i" >> bench-commit.txt && git add bench-commit.txt
    our_times+=("$(ms git commit -q -m "bench with hooks $i")")
  done
  report "git commit with hooks, 5 sessions (2 dirty)" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 1.25
  # The unlucky case: a commit in a session worktree whose last checkpoint is older than
  # session.checkpointInterval (a fresh session has none): the hook must decide whether to
  # checkpoint without scanning 100,000 files.
  local wt=.worktrees/bench-hook-1 fresh_git=() fresh_ours=()
  quiesce
  for i in $(seq "$pairs"); do
    echo "$i" >> "$wt/bench-commit.txt" && git -C "$wt" add bench-commit.txt
    fresh_git+=("$(ms git -C "$wt" -c core.hooksPath="$empty" commit -q -m "fresh without hooks $i")")
    sleep 2 # older than the interval below, and any background look finished
    echo "$i" >> "$wt/bench-commit.txt" && git -C "$wt" add bench-commit.txt
    fresh_ours+=("$(ms git -C "$wt" -c session.checkpointInterval=1s commit -q -m "fresh with hooks $i")")
    sleep 2
    quiesce # the look the commit started, when it runs longer
  done
  rmdir "$empty"
  git session hooks uninstall >/dev/null
  report "git commit with hooks in a session, no recent checkpoint" \
    "$(printf '%s\n' "${fresh_git[@]}" | median)" "$(printf '%s\n' "${fresh_ours[@]}" | median)" 1.25
}

# A local bare remote that already has the base, and a second clone for resume.
sharing_setup() {
  remote="$work/remote-$tracked-$ignored.git"
  clone="$work/clone-$tracked-$ignored"
  if [ ! -d "$remote" ]; then
    git init -q --bare "$remote"
    git push -q "$remote" HEAD:refs/heads/main
  fi
  git -C "$remote" config maintenance.auto false
  git -C "$remote" config gc.auto 0
  [ "$(find "$remote/objects/pack" -name '*.pack' | wc -l)" -le 10 ] || git -C "$remote" repack -a -d -q
  git remote get-url bench >/dev/null 2>&1 || git remote add bench "$remote"
  if [ ! -d "$clone" ]; then
    git clone -q --no-checkout "$remote" "$clone"
    git -C "$clone" checkout -q main
    git -C "$clone" config session.baseRef head
    git -C "$clone" status --porcelain >/dev/null
  fi
}

# A session with 100 modified and 100 new files, as in the checkpoint benchmark.
# The 100 files are written afresh each time (as committed, plus a line naming this call), so
# the work measured is the same in every run: appended to, they grew by a line per run and
# bench run (to 15 KB each), and hashing them came to dominate the case.
sharing_session() { # name
  local wt=".worktrees/$1" i pristine="$work/pristine-$tracked-$ignored" stamp
  [ -d "$wt" ] || git session new --no-include "$1" >/dev/null 2>&1
  stamp="$1 $(date +%s%N)"
  git -C "$wt" ls-files src | awk 'NR % 997 == 1' | head -n 100 | while read -r f; do
    if [ ! -f "$pristine/$f" ]; then
      mkdir -p "$(dirname "$pristine/$f")"
      git show "HEAD:$f" > "$pristine/$f"
    fi
    { cat "$pristine/$f"; echo "// changed $stamp"; } > "$wt/$f"
  done
  # new content each visit: a session visited again has 100 new files to hash again
  for i in $(seq 0 99); do
    mkdir -p "$wt/new/n$((i % 10))"
    echo "new file $i of $stamp" > "$wt/new/n$((i % 10))/file$i.rs"
  done
}

bench_push() {
  sharing_setup
  local git_times=() our_times=() push_times=()
  for i in $(seq "$runs"); do
    # stock git after a manual checkpoint: `git session checkpoint`, then one atomic push of the
    # same refs (log, branch, and the notes when there are any), timed together
    sharing_session "bench-push-git-$i"
    local refs=("refs/sessions/bench-push-git-$i" "refs/heads/session/bench-push-git-$i")
    git rev-parse -q --verify refs/notes/sessions >/dev/null && refs+=(refs/notes/sessions)
    git_times+=("$(ms bash -c 'git session checkpoint "$1" && shift && git push -q --atomic bench "$@"' _ "bench-push-git-$i" "${refs[@]}")")
    # the push alone, for the record: the same refs after one more checkpoint, not timed
    sharing_session "bench-push-git-$i"
    git session checkpoint "bench-push-git-$i" >/dev/null 2>&1
    push_times+=("$(ms git push -q --atomic bench "${refs[@]}")")
    sharing_session "bench-push-$i"
    our_times+=("$(ms git session push bench "bench-push-$i")")
  done
  report "push, 100 changed + 100 new files" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 1.3
  report "  (vs the git push alone, no budget)" \
    "$(printf '%s\n' "${push_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 1.3 | sed 's/ok$\|OVER$/-/'
}

bench_resume() {
  sharing_setup
  local git_times=() our_times=()
  for i in $(seq "$runs"); do
    if ! git -C "$remote" rev-parse -q --verify "refs/sessions/bench-resume-$i" >/dev/null; then
      sharing_session "bench-resume-$i"
      git session push bench "bench-resume-$i" >/dev/null 2>&1
    fi
    git -C "$clone" fetch -q origin "+refs/heads/*:refs/remotes/origin/*"
    git -C "$clone" session fetch origin >/dev/null 2>&1
    # Creating 100,000 files right after 100,000 were deleted is several times slower on this
    # machine, so the sides take turns going first, and each waits for the deletions to settle.
    local side
    for side in $( ((i % 2)) && echo "git ours" || echo "ours git"); do
      sync; sleep 5
      if [ "$side" = git ]; then
        git_times+=("$(ms git -C "$clone" worktree add -q -b "bench-resume-base-$i" "$clone/.bench/resume-$i" "origin/session/bench-resume-$i")")
        git -C "$clone" worktree remove --force "$clone/.bench/resume-$i" && git -C "$clone" branch -q -D "bench-resume-base-$i"
      else
        our_times+=("$(ms git -C "$clone" session resume --no-include "bench-resume-$i")")
        git -C "$clone" session rm --force "bench-resume-$i" >/dev/null 2>&1
        git -C "$clone" for-each-ref --format='%(refname)' refs/sessions-trash/ | xargs -r -n1 git -C "$clone" update-ref -d
      fi
    done
  done
  report "resume of a pushed session (vs worktree add)" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 1.2
  # Each create-and-delete cycle of 100,000 files makes the next one slower here (5 s, 10 s,
  # 14 s, 20 s for four identical `git worktree add`s in a row), so the medians above mostly
  # measure that drift. The geometric mean of each run's ratio, the sides taking turns going
  # first, cancels it: the drift helps each side as often as it hurts it (with an even
  # BENCH_RUNS; with an odd one, the side that goes second more often pays more).
  printf '%s\n' "${git_times[@]}" | paste - <(printf '%s\n' "${our_times[@]}") |
    awk '{s += log($2 / $1); n++} END {r = exp(s / n); printf "%-44s pairs %d   ratio %.2f   budget 1.20   %s\n", "  (paired, geometric mean)", n, r, (r <= 1.2 ? "ok" : "OVER")}'
}

# The transaction and the operation log: what they add to `checkpoint` and `new
# --no-worktree`, against the last build without them (BENCH_BEFORE_REV, built once into
# $work), and `op log -n 20` with 10,000 operations in the log.
before_bin() {
  local sha dir
  sha=$(git -C "$root" rev-parse --short "${BENCH_BEFORE_REV:-dffeba1^}")
  dir="$work/before-$sha"
  if [ ! -x "$dir/bin/git-session" ]; then
    echo "building git-session $sha to compare with (once, a few minutes)…" >&2
    rm -rf "$dir" && mkdir -p "$dir/src" "$dir/bin"
    git -C "$root" archive "$sha" | tar -x -C "$dir/src"
    CARGO_TARGET_DIR="$dir/target" cargo build --release --quiet --locked --manifest-path "$dir/src/Cargo.toml"
    cp "$dir/target/release/git-session" "$dir/bin/"
  fi
  echo "$dir/bin/git-session"
}
report_added() { # name before_ms after_ms budget_ms
  awk -v n="$1" -v b="$2" -v a="$3" -v m="$4" \
    'BEGIN {d = a - b; printf "%-44s before %5d ms   now %5d ms   added %+4d ms   budget %d ms   %s\n", n, b, a, d, m, (d <= m ? "ok" : "OVER")}'
}
bench_oplog() {
  local old wt=.worktrees/bench-ckpt
  old=$(before_bin)
  [ -d "$wt" ] || git session new --no-include bench-ckpt >/dev/null 2>&1
  git -C "$wt" status --porcelain >/dev/null
  local before_c=() now_c=() before_n=() now_n=()
  for i in $(seq "$runs"); do
    # Each side checkpoints a new state, so neither reuses a result.
    echo "before $i" >> "$wt/oplog-bench.txt"
    before_c+=("$(ms "$old" checkpoint bench-ckpt)")
    echo "now $i" >> "$wt/oplog-bench.txt"
    now_c+=("$(ms git-session checkpoint bench-ckpt)")
    before_n+=("$(ms "$old" new --no-worktree "bench-tx-before-$i")")
    now_n+=("$(ms git-session new --no-worktree "bench-tx-now-$i")")
  done
  for i in $(seq "$runs"); do
    git session rm --force "bench-tx-before-$i" >/dev/null 2>&1 || true
    git session rm --force "bench-tx-now-$i" >/dev/null 2>&1 || true
  done
  git for-each-ref --format='%(refname)' refs/sessions-trash/ | xargs -r -n1 git update-ref -d
  report_added "checkpoint (transaction and log added)" \
    "$(printf '%s\n' "${before_c[@]}" | median)" "$(printf '%s\n' "${now_c[@]}" | median)" 10
  report_added "new --no-worktree (transaction and log added)" \
    "$(printf '%s\n' "${before_n[@]}" | median)" "$(printf '%s\n' "${now_n[@]}" | median)" 10
  # 10,000 operations: real records (a checkpoint's, with its refs), each with its own id.
  local small="$work/oplog-10000"
  if [ ! -f "$small/.git/session/oplog.jsonl" ] || [ "$(wc -l < "$small/.git/session/oplog.jsonl")" -lt 10000 ]; then
    rm -rf "$small" && git init -q "$small"
    (cd "$small" && git commit -q --allow-empty -m base && git session new --head --no-include s >/dev/null 2>&1 &&
      echo work > .worktrees/s/work.txt && git session checkpoint s >/dev/null)
    local line
    line=$(tail -n 1 "$small/.git/session/oplog.jsonl")
    awk -v l="$line" 'BEGIN {for (i = 0; i < 10000; i++) {r = l; sub(/"id":"[0-9a-f]*"/, sprintf("\"id\":\"%012x\"", i), r); print r}}' \
      > "$small/.git/session/oplog.jsonl"
  fi
  local log_times=()
  for _ in $(seq "$runs"); do
    log_times+=("$(ms git -C "$small" session op log -n 20)")
  done
  awk -v n="op log -n 20, 10,000 operations" -v t="$(printf '%s\n' "${log_times[@]}" | median)" \
    'BEGIN {printf "%-44s %7d ms   budget 50 ms   %s\n", n, t, (t <= 50 ? "ok" : "OVER")}'
}

# 20 live sessions, each with 200 changed files (100 committed, 100 only in a checkpoint),
# neighbours sharing 20 of them: `overlaps` (cold: no diff kept yet; warm), and Claude
# Code's PreToolUse hook for a file nothing claims and for one another session changed.
report_abs() { # name ms budget_ms
  awk -v n="$1" -v t="$2" -v b="$3" \
    'BEGIN {printf "%-44s %7d ms   budget %d ms   %s\n", n, t, b, (t <= b ? "ok" : "OVER")}'
}
bench_overlaps() {
  local files
  files=$(git ls-files src | awk 'NR % 23 == 0 && ++n <= 3700')
  for i in $(seq 20); do
    local wt=".worktrees/bench-ov-$i" list=".git/bench-ov-files-$i"
    [ -d "$wt" ] || git session new --no-include "bench-ov-$i" >/dev/null 2>&1
    if [ ! -f ".git/bench-ov-done-$i" ]; then
      # Session i changes files [180 (i-1), 180 (i-1) + 200): 20 shared with the next one.
      echo "$files" | sed -n "$((180 * (i - 1) + 1)),$((180 * (i - 1) + 200))p" > "$list"
      [ "$(wc -l < "$list")" -eq 200 ] || { echo "bench: too few files for session $i" >&2; return 1; }
      head -n 100 "$list" | while read -r f; do echo "// session $i" >> "$wt/$f"; done
      git -C "$wt" commit -qam "bench overlaps $i"
      tail -n 100 "$list" | while read -r f; do echo "// session $i, uncommitted" >> "$wt/$f"; done
      git session checkpoint "bench-ov-$i" >/dev/null
      touch ".git/bench-ov-done-$i"
    fi
  done
  local cold=() warm=()
  for _ in $(seq "$runs"); do
    rm -f .git/session/cache/changes.json
    cold+=("$(ms git session overlaps)")
    warm+=("$(ms git session overlaps)")
  done
  local n
  n=$(git session list --json | grep -c '"name"')
  report_abs "overlaps over $n sessions, first run" "$(printf '%s\n' "${cold[@]}" | median)" 500
  report_abs "overlaps over $n sessions, diffs kept" "$(printf '%s\n' "${warm[@]}" | median)" 500
  # PreToolUse from session 1: a file nobody changed, and one session 2 changed too.
  local wt1 free shared
  wt1="$PWD/.worktrees/bench-ov-1"
  free="$wt1/$(git ls-files src | awk 'NR % 23 == 7 && ++n == 1')"
  shared="$wt1/$(sed -n 190p .git/bench-ov-files-1)"
  payload() { printf '{"session_id":"b","cwd":"%s","hook_event_name":"PreToolUse","tool_name":"Edit","tool_input":{"file_path":"%s"}}' "$wt1" "$1"; }
  local free_t=() shared_t=() first_t=()
  for _ in $(seq "$runs"); do
    rm -f .git/session/cache/changes.json
    first_t+=("$(ms bash -c "$(declare -f payload); payload '$free' | git session claude pre-tool-use")")
    free_t+=("$(ms bash -c "$(declare -f payload); payload '$free' | git session claude pre-tool-use")")
    shared_t+=("$(ms bash -c "$(declare -f payload); payload '$shared' | git session claude pre-tool-use")")
  done
  payload "$shared" | git session claude pre-tool-use | grep -q "also changed by session 'bench-ov-2'" ||
    { echo "bench: PreToolUse did not see the shared file" >&2; return 1; }
  report_abs "PreToolUse, a file nothing claims" "$(printf '%s\n' "${free_t[@]}" | median)" 50
  report_abs "PreToolUse, a file another session changed" "$(printf '%s\n' "${shared_t[@]}" | median)" 150
  report_abs "PreToolUse, first after the tips moved" "$(printf '%s\n' "${first_t[@]}" | median)" 150
}

# land --squash of a 20-commit session into a branch checked out in a worktree, against
# `git merge --squash` + `git commit` there by hand; sync --all with nothing to do.
bench_land() {
  local target=.bench/land-target start
  if [ ! -d "$target" ]; then
    git worktree add -q -b bench-land-target "$target" HEAD
  fi
  start=$(git -C "$target" rev-parse HEAD)
  local files
  files=$(git ls-files src | awk 'NR % 997 == 3 && ++n <= 20')
  local git_times=() our_times=() full_times=()
  for i in $(seq "$runs"); do
    local name="bench-land-$i" wt=".worktrees/bench-land-$i"
    [ -d "$wt" ] || git session new --no-include --base "$start" "$name" >/dev/null 2>&1
    if [ "$(git -C "$wt" rev-list --count "$start..HEAD")" -lt 20 ]; then
      local n=0
      for f in $files; do
        n=$((n + 1))
        echo "// landing $i, commit $n" >> "$wt/$f"
        git -C "$wt" commit -qam "bench land $i: commit $n"
      done
    fi
    # The undo of the last run's full landing wrote a 100,000-file worktree again: both sides
    # start once its writing has settled (it slowed both, git's side to 257 ms from 200).
    sync; sleep 5
    git_times+=("$(ms bash -c "git -C $target merge -q --squash session/$name && git -C $target commit -qm 'squash by hand'")")
    git -C "$target" reset -q --hard "$start"
    our_times+=("$(ms git session land "$name" --into bench-land-target --squash --keep)")
    git session undo >/dev/null 2>&1
    full_times+=("$(ms git session land "$name" --into bench-land-target --squash)")
    git session undo >/dev/null 2>&1
  done
  report "land --squash --keep, 20 commits" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 1.5
  report "  land --squash (then ends: removes a worktree)" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${full_times[@]}" | median)" 99
  # sync --all, everyone current first.
  git session sync --all >/dev/null 2>&1 || true
  local n sync_times=()
  n=$(git session list --json | grep -c '"worktree": "/')
  for _ in $(seq "$runs"); do
    sync_times+=("$(ms_any git session sync --all)")
  done
  report_abs "sync --all over $n sessions, nothing to do" "$(printf '%s\n' "${sync_times[@]}" | median)" 300
}
ms_any() { # as ms, whatever the exit status (sessions that cannot sync exit 1)
  local start end
  sync
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || true
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

# With a watchman of the benchmark's own: the issue-19 budgets. Each case is measured warm
# (the monitor has answered before) and, for the record, cold (the first scan after watchman
# restarted, or after git rewrote the index: a full scan that takes the clock).
watchman_start() {
  wm="$work/watchman"
  mkdir -p "$wm"
  watchman --sockname="$wm/sock" --statefile="$wm/state" --logfile="$wm/log" \
    --pidfile="$wm/pid" --no-save-state get-sockname >/dev/null
  export WATCHMAN_SOCK="$wm/sock"
}
# Waits until watchman has crawled the repository's root (all the worktrees inside it): a
# case that is not about the crawl (the first scan after a restart is measured on its own)
# must not measure a server busy crawling 4 million files, nor the recrawl watchman 4.9 sets
# off on this machine when a new worktree appears inside a watched root.
watchman_settle() {
  echo "[\"clock\", \"$PWD\", {\"sync_timeout\": 300000}]" |
    watchman --sockname="$wm/sock" --no-spawn -j >/dev/null 2>&1 || :
}
watchman_stop() {
  local pid
  pid=$(cat "$wm/pid" 2>/dev/null || :)
  watchman --sockname="$wm/sock" shutdown-server >/dev/null 2>&1 || :
  while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$wm/sock"
  export WATCHMAN_SOCK="$work/no-watchman.sock"
}
# Right after watchman (re)started ($1 says how, the function $3 restarts it), in
# bench_fsmonitor's session `$wt`: the first checkpoint after each of three restarts, then one
# changed file each while the server crawls, against git's status while it crawls (the crawl
# takes a core of the two) and, when given, $2 (git's status before). The first has nothing
# to checkpoint (the row it is the cold case of). Four restarts: one sample was at the
# mercy of whatever else the machine did in that second. The two sides take turns at going
# first after a restart (git's status does not ask watchman, so ours is still the first
# checkpoint after it): whichever went first met the crawl at another stage. Each from a
# settled server that has answered a checkpoint since, as a restart finds it (one within
# seconds of the last finds the server marked busy, and asks it less).
after_restart() {
  local firsts=() git_times=() our_times=()
  for k in 1 2 3 4; do
    if [ "$k" -gt 1 ]; then
      watchman_settle
      sleep 11 # past the window in which a server that did not answer is only probed
      git session checkpoint bench-ckpt >/dev/null 2>&1
    fi
    "$3"
    if [ $((k % 2)) -eq 0 ]; then git_times+=("$(ms git -C "$wt" status --porcelain)"); fi
    firsts+=("$(ms git session checkpoint bench-ckpt)")
    if [ $((k % 2)) -eq 1 ]; then git_times+=("$(ms git -C "$wt" status --porcelain)"); fi
  done
  for _ in $(seq "$runs"); do
    git_times+=("$(ms git -C "$wt" status --porcelain)")
    echo restart >> "$wt/restart.txt"
    our_times+=("$(ms git session checkpoint bench-ckpt)")
  done
  local during first
  during=$(printf '%s\n' "${git_times[@]}" | median)
  first=$(printf '%s\n' "${firsts[@]}" | median)
  [ -z "${2:-}" ] || report "  (first after $1)" "$2" "$first" 1.0
  report "  (first after $1, vs git status then)" "$during" "$first" 1.0
  report "  (the next ones while it crawls, 1 changed)" \
    "$during" "$(printf '%s\n' "${our_times[@]}" | median)" 1.0
}
# A watchman started afresh, with no saved state.
watchman_restart() {
  watchman_stop
  watchman_start
}
# watchman as it usually starts: restoring its watches from its state file, crawling them
# before it answers anything about them.
watchman_restore() {
  watchman_stop
  printf '{"watched": [{"triggers": [], "path": "%s"}], "version": "4.9.0"}\n' "$PWD" > "$wm/restored"
  watchman --sockname="$wm/sock" --statefile="$wm/restored" --logfile="$wm/log" \
    --pidfile="$wm/pid" get-sockname >/dev/null
  export WATCHMAN_SOCK="$wm/sock"
}
bench_fsmonitor() {
  command -v watchman >/dev/null || { echo "bench: fsmonitor needs watchman" >&2; return 1; }
  watchman_start
  git session fsmonitor enable >/dev/null
  local wt=.worktrees/bench-ckpt hook="$work/fsmonitor-watchman"
  [ -d "$wt" ] || git session new --no-include bench-ckpt >/dev/null 2>&1
  # git's own watchman hook, as git ships it, asking the benchmark's server: watchman 4.9's
  # command line ignores WATCHMAN_SOCK, and the hook's `watchman` calls would start (and
  # keep) a server of their own. A `watchman` first on the hook's PATH names the socket.
  cp /usr/share/git-core/templates/hooks/fsmonitor-watchman.sample "$hook"
  chmod +x "$hook"
  mkdir -p "$work/hookbin"
  printf '#!/bin/sh\nexec %s --sockname=%s "$@"\n' "$(command -v watchman)" "$wm/sock" > "$work/hookbin/watchman"
  chmod +x "$work/hookbin/watchman"
  local gitfsm=(env PATH="$work/hookbin:$PATH" git -C "$wt" -c core.fsmonitor="$hook" -c core.untrackedCache=true status --porcelain)
  "${gitfsm[@]}" >/dev/null; "${gitfsm[@]}" >/dev/null # the untracked cache and the token, once
  # Checkpoint with nothing changed, against plain `git status` and git's own monitor, each
  # side warm. git rewrites the index as it goes (plain status drops the monitor's token),
  # so each side's first run after the other's is untimed: for git-session that first run
  # (the index changed) is reported as the cold case.
  local plain=() gitmon=() same=() cold
  plain_index "$wt"
  git -C "$wt" status --porcelain >/dev/null
  for _ in $(seq "$runs"); do plain+=("$(ms git -C "$wt" status --porcelain)"); done
  "${gitfsm[@]}" >/dev/null; "${gitfsm[@]}" >/dev/null
  for _ in $(seq "$runs"); do gitmon+=("$(ms "${gitfsm[@]}")"); done
  plain_index "$wt" # every later `git status` here is the plain one
  # The monitor's state about this server and this index first (the server just started),
  # then git rewrites the index (as a status that refreshed it, or a commit, would).
  git session checkpoint bench-ckpt >/dev/null 2>&1
  git -C "$wt" update-index --force-write-index
  cold=$(ms git session checkpoint bench-ckpt)
  for _ in $(seq "$runs"); do same+=("$(ms git session checkpoint bench-ckpt)"); done
  report "[watchman] checkpoint, nothing changed" \
    "$(printf '%s\n' "${plain[@]}" | median)" "$(printf '%s\n' "${same[@]}" | median)" 0.15
  report "  (vs git status with its watchman hook)" \
    "$(printf '%s\n' "${gitmon[@]}" | median)" "$(printf '%s\n' "${same[@]}" | median)" 0.5
  report "  (first after git rewrote the index)" \
    "$(printf '%s\n' "${plain[@]}" | median)" "$cold" 1.0
  # After a watchman restart: the first scan is a full one, which asks the server to watch
  # the root again and does not wait for its crawl (a minute for the 4 million files of every
  # worktree here); the scans while it crawls are full ones too.
  after_restart "watchman restarted" "$(printf '%s\n' "${plain[@]}" | median)" watchman_restart
  after_restart "a restart restoring watches" "" watchman_restore
  # The restarted server crawls every worktree again (all sessions' files): wait for it
  # (`enable` does not wait for a root the server restored and crawls already).
  git session fsmonitor enable >/dev/null
  watchman_settle
  # 100 changed + 100 new files, against stock git's way (as bench_checkpoint).
  git -C "$wt" ls-files src | awk 'NR % 997 == 5' | head -n 100 | while read -r f; do echo "// fsmonitor" >> "$wt/$f"; done
  for i in $(seq 0 99); do
    mkdir -p "$wt/newfsm/n$((i % 10))"
    echo "new file $i" > "$wt/newfsm/n$((i % 10))/file$i.rs"
  done
  git session checkpoint bench-ckpt >/dev/null # the monitor has answered once
  local gitdir index git_times=() our_times=()
  gitdir=$(git -C "$wt" rev-parse --absolute-git-dir)
  index=$(mktemp)
  for i in $(seq "$runs"); do
    echo "$i" >> "$wt/newfsm/n0/file0.rs"
    git_times+=("$(ms bash -c "cd $wt && cp '$gitdir/index' '$index' && tree=\$(GIT_INDEX_FILE='$index' git add -A && GIT_INDEX_FILE='$index' git write-tree) && git commit-tree \$tree -p HEAD -m bench")")
    echo "$i" >> "$wt/newfsm/n0/file1.rs"
    our_times+=("$(ms git session checkpoint bench-ckpt)")
  done
  rm -f "$index"
  report "[watchman] checkpoint, 100 changed + 100 new" \
    "$(printf '%s\n' "${git_times[@]}" | median)" "$(printf '%s\n' "${our_times[@]}" | median)" 0.1
  # list over 20 sessions, against serial plain `git status` in each.
  local n=20 worktrees
  for i in $(seq "$n"); do
    [ -d ".worktrees/bench-list-$i" ] || git session new --no-include "bench-list-$i" >/dev/null 2>&1
  done
  worktrees=$(git session list --json | sed -n 's/.*"worktree": "\(.*\)".*/\1/p')
  n=$(echo "$worktrees" | wc -l)
  git session list >/dev/null # every worktree answered once
  local lgit=() lours=()
  for _ in $(seq "$runs"); do
    lgit+=("$(ms bash -c "for wt in $(echo $worktrees); do git -C \$wt status --porcelain; done")")
    git session list >/dev/null # git may have rewritten indexes: not what is measured
    lours+=("$(ms git session list)")
  done
  report "[watchman] list over $n sessions" \
    "$(printf '%s\n' "${lgit[@]}" | median)" "$(printf '%s\n' "${lours[@]}" | median)" 0.1
  # push with its checkpoint, against `git push --atomic` of the same refs alone: interleaved
  # pairs, as for the commits (the push itself varies by 20-50 ms from one to the next, our
  # part is 25-30 ms), over as many sessions as runs.
  sharing_setup
  local pgit=() pours=()
  for i in $(seq "$pairs"); do
    local name="bench-fsm-push-$(((i - 1) % runs + 1))"
    sharing_session "$name"
    git session checkpoint "$name" >/dev/null 2>&1 # worked in before: the monitor has answered
    local refs=("refs/sessions/$name" "refs/heads/session/$name")
    git rev-parse -q --verify refs/notes/sessions >/dev/null && refs+=(refs/notes/sessions)
    pgit+=("$(ms git push -q --atomic bench "${refs[@]}")")
    sharing_session "$name"
    pours+=("$(ms git session push bench "$name")")
  done
  report "[watchman] push, 100 changed + 100 new files" \
    "$(printf '%s\n' "${pgit[@]}" | median)" "$(printf '%s\n' "${pours[@]}" | median)" 1.3
  # git commit with the hooks, 5 sessions (2 dirty), warnings brought up to date at the commit.
  for i in 1 2 3 4 5; do
    [ -d ".worktrees/bench-hook-$i" ] || git session new --no-include "bench-hook-$i" >/dev/null 2>&1
  done
  for i in 1 2; do echo wip >> ".worktrees/bench-hook-$i/wip.txt"; done
  git session hooks install >/dev/null
  git session hook refresh
  local empty hgit=() hours=()
  empty=$(mktemp -d)
  for i in $(seq "$pairs"); do
    echo "$i" >> bench-commit.txt && git add bench-commit.txt
    hgit+=("$(ms git -c core.hooksPath="$empty" commit -q -m "bench without hooks $i")")
    echo "$i" >> bench-commit.txt && git add bench-commit.txt
    hours+=("$(ms git commit -q -m "bench with hooks $i")")
  done
  rmdir "$empty"
  git session hooks uninstall >/dev/null
  report "[watchman] git commit with hooks, 5 sessions" \
    "$(printf '%s\n' "${hgit[@]}" | median)" "$(printf '%s\n' "${hours[@]}" | median)" 1.10
  git session fsmonitor disable >/dev/null
  watchman_stop
}

# The live view (issue 20), with watchman: first paint, an edit showing in its row, idle CPU
# over 60 s, and Claude Code's per-prompt and per-tool hooks.
bench_ui() {
  command -v tmux >/dev/null || { echo "bench: ui needs tmux" >&2; return 1; }
  watchman_start
  git session fsmonitor enable >/dev/null
  [ -d .worktrees/bench-ui-probe ] || git session new --no-include bench-ui-probe >/dev/null 2>&1
  rm -f .worktrees/bench-ui-probe/probe.txt
  local n
  n=$(git session list --json | grep -c '"name"')
  export TMUX_TMPDIR="$work/tmux"
  mkdir -p "$TMUX_TMPDIR"
  tmux kill-server 2>/dev/null || :
  local start painted
  start=$(date +%s%N)
  tmux new-session -d -x 120 -y 80 -s ui "cd '$PWD' && git session ui"
  until tmux capture-pane -p -t ui | grep -q "bench-ui-probe"; do sleep 0.01; done
  painted=$(date +%s%N)
  report_abs "ui first paint, $n sessions" $(((painted - start) / 1000000)) 200
  sleep 3
  start=$(date +%s%N)
  echo probe > .worktrees/bench-ui-probe/probe.txt
  local waited=0
  until tmux capture-pane -p -t ui | grep -Eq "bench-ui-probe.* 1 +\+[0-9]+ "; do sleep 0.02; waited=$((waited + 1)); [ "$waited" -lt 1500 ] || { echo "bench: the edit never showed" >&2; return 1; }; done
  report_abs "ui: an edit shows in its row" $((($(date +%s%N) - start) / 1000000)) 2000
  local pid before after
  pid=$(pgrep -f "git-session ui" | head -n 1)
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  sleep 60
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  awk -v n="ui idle CPU over 60 s" -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {p = 100 * t / hz / 60; printf "%-44s %6.2f %% of a core   budget 1 %%   %s\n", n, p, (p <= 1 ? "ok" : "OVER")}'
  tmux kill-server
  rm -f .worktrees/bench-ui-probe/probe.txt
  # Claude Code's hooks that fire on every prompt and tool call.
  local wt="$PWD/.worktrees/bench-ui-probe" sub event extra
  for hook in "user-prompt-submit UserPromptSubmit" "pre-tool-use PreToolUse" "notification Notification"; do
    set -- $hook
    local times=()
    for _ in $(seq "$runs"); do
      times+=("$(ms bash -c "printf '%s' '{\"session_id\":\"b\",\"cwd\":\"$wt\",\"hook_event_name\":\"$2\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"ls\"}}' | git session claude $1")")
    done
    report_abs "Claude Code $2 hook" "$(printf '%s\n' "${times[@]}" | median)" 30
  done
  git session fsmonitor disable >/dev/null
  watchman_stop
}

# The cold and unlucky cases with watchman, in sessions of a repository that has a submodule
# (2,000 files, added once to the benchmark repository): a session with no checkpoint yet
# (its first scan is a full one that takes the clock; against git's first status in the same
# new worktree, equally cold), the warm one after it, and one taken while another process
# checkpoints the same session in a loop (both against a warm git status).
bench_cold() {
  command -v watchman >/dev/null || { echo "bench: cold needs watchman" >&2; return 1; }
  local sub="$work/submodule-2000"
  if [ ! -f .git/bench-submodule ]; then
    rm -rf "$sub" && git init -q "$sub"
    for i in $(seq 0 1999); do
      mkdir -p "$sub/d$((i % 40))" && echo "sub $i" > "$sub/d$((i % 40))/f$i.txt"
    done
    git -C "$sub" add -A && git -C "$sub" commit -qm "submodule files"
    git -c protocol.file.allow=always submodule add -q "$sub" vendor/sub
    git commit -qm "bench: a submodule"
    touch .git/bench-submodule
  fi
  watchman_start
  git session fsmonitor enable >/dev/null
  watchman_settle
  local first=() cold=() warm=() plain=() racing=()
  for i in $(seq "$runs"); do
    local name="bench-cold-$i" wt=".worktrees/bench-cold-$i" n idx
    for n in "$name" "bench-cold-git-$i"; do # (bench-cold-git-*: left by earlier versions)
      git session rm --force "$n" >/dev/null 2>&1 || :
      # rm keeps a worktree holding a submodule (its history is in no checkpoint): this one
      # is the benchmark's own, so it goes here, with its branch.
      [ ! -d ".worktrees/$n" ] || git worktree remove --force --force ".worktrees/$n" >/dev/null 2>&1 || :
      git branch -D "session/$n" >/dev/null 2>&1 || :
    done
    git session new --head --no-include "$name" >/dev/null 2>&1
    git -C "$wt" -c protocol.file.allow=always submodule update -q --init
    watchman_settle
    echo "cold $i" > "$wt/cold.txt"
    # git's first status and git-session's first checkpoint in the same new worktree, its
    # index (and the submodule's) put back as the checkout left them between the two: both
    # write the index, with the stat data of the files the checkout left racily clean (a
    # part that differs from one checkout to the next).
    idx=("$(git -C "$wt" rev-parse --path-format=absolute --git-dir)/index"
      "$(git -C "$wt/vendor/sub" rev-parse --path-format=absolute --git-dir)/index")
    for n in "${idx[@]}"; do cp -p "$n" "$n.bench"; done
    if [ $((i % 2)) -eq 1 ]; then
      first+=("$(ms git session checkpoint "$name")")
      for n in "${idx[@]}"; do cp -p "$n.bench" "$n"; done
      cold+=("$(ms git -C "$wt" status --porcelain)")
    else
      cold+=("$(ms git -C "$wt" status --porcelain)")
      for n in "${idx[@]}"; do cp -p "$n.bench" "$n"; done
      first+=("$(ms git session checkpoint "$name")")
    fi
    for n in "${idx[@]}"; do rm -f "$n.bench"; done
    plain+=("$(ms git -C "$wt" status --porcelain)")
    git session checkpoint "$name" >/dev/null 2>&1 # git's status may have rewritten the index
    echo "warm $i" >> "$wt/cold.txt"
    warm+=("$(ms git session checkpoint "$name")")
    # Another process checkpointing the same session all along.
    ( while [ -f "$wt/cold.txt" ]; do echo x >> "$wt/racer.txt"; git session checkpoint "$name" >/dev/null 2>&1 || :; done ) &
    local racer=$!
    sleep 0.3
    echo "racing $i" >> "$wt/cold.txt"
    racing+=("$(ms git session checkpoint "$name")")
    rm -f "$wt/cold.txt"; wait "$racer" 2>/dev/null || :
    git session fsmonitor verify "$name" >/dev/null || { echo "bench: verify failed after racing" >&2; return 1; }
  done
  report "[watchman] first checkpoint of a new session" \
    "$(printf '%s\n' "${cold[@]}" | median)" "$(printf '%s\n' "${first[@]}" | median)" 1.0
  report "[watchman] the next one (one file changed)" \
    "$(printf '%s\n' "${plain[@]}" | median)" "$(printf '%s\n' "${warm[@]}" | median)" 0.15
  report "[watchman] one while another checkpoints it" \
    "$(printf '%s\n' "${plain[@]}" | median)" "$(printf '%s\n' "${racing[@]}" | median)" 1.0
  for i in $(seq "$runs"); do
    for n in "bench-cold-$i" "bench-cold-git-$i"; do
      git session rm --force "$n" >/dev/null 2>&1 || :
      git worktree remove --force --force ".worktrees/$n" >/dev/null 2>&1 || :
      git branch -D "session/$n" >/dev/null 2>&1 || :
    done
  done
  git for-each-ref --format='%(refname)' refs/sessions-trash/ | xargs -r -n1 git update-ref -d
  git session fsmonitor disable >/dev/null
  watchman_stop
}

case "$what" in
  new) quiesce; bench_new ;;
  list) quiesce; bench_list ;;
  checkpoint) quiesce; bench_checkpoint ;;
  fork) quiesce; bench_fork ;;
  hooks) quiesce; bench_hooks ;;
  push) quiesce; bench_push ;;
  resume) quiesce; bench_resume ;;
  oplog) quiesce; bench_oplog ;;
  overlaps) quiesce; bench_overlaps ;;
  land) quiesce; bench_land ;;
  fsmonitor) quiesce; bench_fsmonitor ;;
  ui) quiesce; bench_ui ;;
  cold) quiesce; bench_cold ;;
  all) for c in new list checkpoint fork hooks push resume oplog overlaps land fsmonitor cold ui; do quiesce; "bench_$c"; done ;;
  *) echo "usage: bench/run.sh [new|list|checkpoint|fork|hooks|push|resume|oplog|overlaps|land|fsmonitor|cold|ui|all]" >&2; exit 2 ;;
esac
