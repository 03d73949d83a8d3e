# nodecast: source this from a job script (bash or zsh), as the paper's activate.sh:
#   source $NODECAST/activate.sh /dev/shm/local "srun -N $SLURM_JOB_NUM_NODES --ntasks-per-node=1"
# It reroutes the interpreter to DEST, defines bcast, mirror, bcast-userbase, bcast-pip, bundle-pip and
# bundle-anaconda, and purges DEST on every node when the script exits. An empty LAUNCHER means this node only.
if [ -n "${BASH_VERSION:-}" ]; then
  _nodecast_here=${BASH_SOURCE[0]}
elif [ -n "${ZSH_VERSION:-}" ]; then
  _nodecast_here=${(%):-%x}
else
  echo "activate.sh: only bash and zsh are supported" >&2
  return 1
fi
_nodecast_here=$(cd "$(dirname "$_nodecast_here")" && pwd)
if [ $# -lt 1 ]; then
  echo "usage: source activate.sh DEST [\"LAUNCHER\"]" >&2
  return 2
fi
_nodecast_code=$("$_nodecast_here/bin/nodecast" activate "$1" "${2:-}") || return $?
eval "$_nodecast_code"
unset _nodecast_code _nodecast_here
