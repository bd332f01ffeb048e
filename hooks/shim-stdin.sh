if command -v git-session >/dev/null 2>&1 && __git_session_in=$(mktemp "${TMPDIR:-/tmp}/git-session-hook.XXXXXX" 2>/dev/null); then
  cat >"$__git_session_in"
  git-session hook EVENT "$@" <"$__git_session_in" || :
  exec <"$__git_session_in"
  rm -f "$__git_session_in"
  unset __git_session_in
fi
