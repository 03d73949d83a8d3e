package io.nodecast.env;

import java.nio.file.Path;
import java.util.Map;

/**
 * The shell code behind {@code source activate.sh DEST "LAUNCHER"} (bash and zsh): the rerouted environment,
 * the paper's functions, and an exit trap that purges DEST on every node through the launcher.
 *
 * <p>Everything a function needs from the shared file system happens on one rank: {@code bcast} reads bundles
 * on rank 0, and {@code mirror} and {@code bcast-userbase} have rank 0 bundle the tree at delivery time, so no
 * temporary bundle has to be visible from the compute nodes.
 */
public final class Activation {
    private Activation() {}

    /**
     * @param nodecast the launcher script to call (an absolute path)
     * @param launcher words that start one process per node (srun, mpirun ...); empty for this node only
     */
    public static String script(Path dest, String launcher, Path nodecast, Language lang, Map<String, String> current) {
        return script(dest, launcher, nodecast, lang, current, false);
    }

    /**
     * @param viaSlurm the launcher is srun and its steps have no MPI: bcast, mirror and the purge run once from
     *                 the script with {@code --transport slurm} (sbcast, then a task per node) instead of under it
     */
    public static String script(Path dest, String launcher, Path nodecast, Language lang, Map<String, String> current,
                                boolean viaSlurm) {
        String userBase = current.getOrDefault("PYTHONUSERBASE", "");
        return """
                # nodecast activation: deliver to %1$s through %2$s
                export NODECAST_DEST=%1$s;
                export NODECAST_LAUNCHER=%2$s;
                _NODECAST=%3$s;
                _NODECAST_USERBASE=%4$s;
                _NODECAST_VIA=%6$s;
                %5$s\
                _nodecast_launch() { eval "$NODECAST_LAUNCHER \\"\\$@\\""; }
                _nodecast_deliver() {
                  if [ "$_NODECAST_VIA" = slurm ]; then local what=$1; shift; "$_NODECAST" "$what" --transport slurm "$@"
                  else _nodecast_launch "$_NODECAST" "$@"; fi
                }
                bcast() { _nodecast_deliver bcast -p "$NODECAST_DEST" "$@"; }
                mirror() { _nodecast_deliver mirror -p "$NODECAST_DEST" "$@"; }
                bcast-userbase() {
                  local base="${_NODECAST_USERBASE:-$HOME/.local}"
                  if [ ! -d "$base" ]; then echo "bcast-userbase: no user base at $base: nothing to deliver" >&2; return 0; fi
                  _nodecast_deliver mirror --max-size none -p "$NODECAST_DEST" "$base"
                }
                bundle-pip() { local out="$1"; shift; "$_NODECAST" bundle pip -o "$out" "$@"; }
                bundle-anaconda() { "$_NODECAST" bundle prefix "$2" -o "$1"; }
                bcast-pip() {
                  local dir rc
                  dir=$(mktemp -d "${NODECAST_TMPDIR:-${SCRATCH:-$HOME}}/.nodecast-pip.XXXXXX") || return 1
                  "$_NODECAST" bundle pip -q -o "$dir/tier2.tar.zst" "$@" && bcast "$dir/tier2.tar.zst"; rc=$?
                  rm -rf "$dir"; return $rc
                }
                _nodecast_exit() {
                  local rc=$?
                  _nodecast_deliver purge -p "$NODECAST_DEST"
                  if [ -n "${_nodecast_prev_exit_trap:-}" ]; then
                    local prev="${_nodecast_prev_exit_trap#trap -- }"; prev="${prev%% EXIT}"; eval "prev=$prev"; eval "$prev"
                  fi
                  return $rc
                }
                if [ -n "${ZSH_VERSION:-}" ]; then
                  # zsh: an exit hook runs beside the script's own EXIT trap (and 'trap -p' would set a trap there)
                  autoload -Uz add-zsh-hook; add-zsh-hook zshexit _nodecast_exit
                  trap 'exit 143' TERM
                else
                  _nodecast_prev_exit_trap=$(trap -p EXIT)
                  trap _nodecast_exit EXIT
                  if [ -z "$(trap -p TERM)" ]; then trap 'exit 143' TERM; fi
                fi
                if [ -n "${ZSH_VERSION:-}" ]; then rehash; else hash -r; fi
                """.formatted(Shell.quote(dest.toString()), Shell.quote(launcher), Shell.quote(nodecast.toString()),
                Shell.quote(userBase), Shell.BASH.render(lang.reroute(dest, current)), viaSlurm ? "slurm" : "launcher");
    }
}
