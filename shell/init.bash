# git-session shell integration for bash and zsh. In ~/.bashrc (or ~/.zshrc):
#     eval "$(git session shell-init bash)"
# `git session new|switch|resume|fork` print the worktree's path; this `git` function runs
# them and, when one succeeds with an absolute directory path as its whole output, changes
# into it. Everything else goes to git unchanged, with its exit status.
function git {
    if [ "${1-}" != session ]; then
        command git "$@"
        return
    fi
    case "${2-}" in
    new | switch | resume | fork) ;;
    *)
        command git "$@"
        return
        ;;
    esac
    local __git_session_out __git_session_rc
    __git_session_out=$(command git "$@")
    __git_session_rc=$?
    if [ -n "$__git_session_out" ]; then
        printf '%s\n' "$__git_session_out"
    fi
    if [ "$__git_session_rc" -eq 0 ] && [ "${__git_session_out#/}" != "$__git_session_out" ] &&
        [ -d "$__git_session_out" ]; then
        cd -- "$__git_session_out" || return
    fi
    return "$__git_session_rc"
}
