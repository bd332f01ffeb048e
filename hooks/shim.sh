if command -v git-session >/dev/null 2>&1; then git-session hook EVENT "$@" </dev/null || :; fi
