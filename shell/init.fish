# git-session shell integration for fish. In ~/.config/fish/config.fish:
#     git session shell-init fish | source
# `git session new|switch|resume|fork` print the worktree's path; this `git` function runs
# them and, when one succeeds with an absolute directory path as its whole output, changes
# into it. Everything else goes to git unchanged, with its exit status.
function git
    if test (count $argv) -ge 2; and test "$argv[1]" = session; and contains -- "$argv[2]" new switch resume fork
        set -l out (command git $argv | string collect)
        set -l rc $pipestatus[1]
        if test -n "$out"
            printf '%s\n' "$out"
        end
        if test $rc -eq 0; and string match -q -- '/*' "$out"; and test -d "$out"
            cd "$out"; or return
        end
        return $rc
    end
    command git $argv
end
