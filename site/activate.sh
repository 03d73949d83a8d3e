# nodecast's site activation, the equivalent of the paper's nersc/activate.sh. In a Slurm job script, after a
# Python has been selected (`module load python/3.11`, or simply the python3 on PATH):
#   source $NODECAST/site/activate.sh
# It finds the site's tier-1 bundles for that Python (site.conf), activates nodecast with a launcher that
# runs one rank per node of the job, and broadcasts them; the job then only mirrors its own application:
#   mirror $HOME/myapp bin lib
#   srun python3 /dev/shm/local/bin/main.py
# With no bundle for the selected Python it says so and ends the job script with exit code 3 (a login shell
# gets return code 3 instead). bash and zsh.
if [ -n "${BASH_VERSION:-}" ]; then
  _nodecast_site=${BASH_SOURCE[0]}
elif [ -n "${ZSH_VERSION:-}" ]; then
  _nodecast_site=${(%):-%x}
else
  echo "site/activate.sh: only bash and zsh are supported" >&2
  return 1
fi
_nodecast_site=$(cd "$(dirname "$_nodecast_site")" && pwd)

_nodecast_site_fail() {   # message, then leave: the job script, or only this file in an interactive shell
  echo "nodecast site: $1" >&2
  unset _nodecast_site _nodecast_site_prefix _nodecast_site_dir _nodecast_site_launcher _nodecast_site_b
  unset _nodecast_site_bundles
  unset -f _nodecast_site_fail
  case $- in *i*) return 3 ;; esac
  exit 3
}

if ! . "${NODECAST_SITE_CONF:-$_nodecast_site/site.conf}"; then
  _nodecast_site_fail "cannot read the site configuration ${NODECAST_SITE_CONF:-$_nodecast_site/site.conf}" || return 3
fi

if [ -z "${NODECAST_SITE_BUNDLES:-}" ]; then
  _nodecast_site_fail "the site has not said where its bundles are: set NODECAST_SITE_BUNDLES in ${NODECAST_SITE_CONF:-$_nodecast_site/site.conf}" || return 3
fi

# the selected Python's prefix, with symbolic links resolved: the key of its bundles
_nodecast_site_prefix=$(python3 -c 'import os, sys; print(os.path.realpath(sys.prefix))' 2>/dev/null)
if [ -z "$_nodecast_site_prefix" ]; then
  _nodecast_site_fail "no python3 on PATH: select a Python first (module load python/...)" || return 3
fi
_nodecast_site_dir=${NODECAST_SITE_BUNDLES%/}$_nodecast_site_prefix
_nodecast_site_bundles=()
while IFS= read -r _nodecast_site_b; do
  [ -n "$_nodecast_site_b" ] && _nodecast_site_bundles+=("$_nodecast_site_b")
done <<EOF_NODECAST_SITE
$(find "$_nodecast_site_dir" -mindepth 1 -maxdepth 1 -xtype f \( -name '*.tar' -o -name '*.tar.zst' -o -name '*.tar.gz' \
    -o -name '*.tar.bz2' -o -name '*.tar.xz' \) 2>/dev/null | LC_ALL=C sort)
EOF_NODECAST_SITE
if [ ${#_nodecast_site_bundles[@]} -eq 0 ]; then
  _nodecast_site_fail "this site has no tier-1 bundle for the Python in $_nodecast_site_prefix (none in $_nodecast_site_dir/); select a Python the site provides, or source \$NODECAST/activate.sh and bcast your own bundles" || return 3
fi

_nodecast_site_launcher=${NODECAST_SITE_LAUNCHER:-}
if [ -z "$_nodecast_site_launcher" ]; then
  if [ -z "${SLURM_JOB_NUM_NODES:-}" ]; then
    _nodecast_site_fail "not inside a Slurm job (no SLURM_JOB_NUM_NODES): submit the script with sbatch, or set NODECAST_SITE_LAUNCHER in the site configuration" || return 3
  fi
  _nodecast_site_launcher="srun -N $SLURM_JOB_NUM_NODES -n $SLURM_JOB_NUM_NODES --ntasks-per-node=1"
fi

. "$_nodecast_site/../activate.sh" "${NODECAST_SITE_DEST:-/dev/shm/local}" "$_nodecast_site_launcher" || return $?
bcast "${_nodecast_site_bundles[@]}"
_nodecast_site_b=$?
if [ $_nodecast_site_b -ne 0 ]; then
  echo "nodecast site: delivering the tier-1 bundles of $_nodecast_site_prefix failed (exit code $_nodecast_site_b)" >&2
  case $- in *i*) return $_nodecast_site_b ;; esac
  exit $_nodecast_site_b
fi
unset _nodecast_site _nodecast_site_prefix _nodecast_site_dir _nodecast_site_launcher _nodecast_site_b
unset _nodecast_site_bundles
unset -f _nodecast_site_fail
