#!/bin/bash
# The paper's "Script without NERSC integration", adapted only in paths and node counts for the test bed:
# PBCAST is nodecast's install, the bundles live on the shared directory, python-mpi is python3. Paths are quoted,
# so that nodecast and the bed may be anywhere, a path with a space included.
# Submit it on the head: testbed/run head sbatch testbed/jobs/paper-generic.sh
# Another launcher (the bed's mpirun, outside Slurm) through LAUNCH and RUN:
#   LAUNCH="testbed/mpirun-openmpi -np 3" RUN="testbed/mpirun-openmpi -np 6" bash testbed/jobs/paper-generic.sh
#SBATCH -N 3
#SBATCH -n 6

# PBCAST: from the environment (sbatch passes it on), else the checkout this script lies in
if [ -z "${PBCAST:-}" ]; then
  job=${BASH_SOURCE[0]}
  # sbatch runs a copy of the script; the job's Command is the original
  [ -n "${SLURM_JOB_ID:-}" ] && job=$(scontrol show job "$SLURM_JOB_ID" | sed -n 's/^ *Command=//p')
  PBCAST=$(cd "$(dirname "$job")/../.." && pwd)
fi
export PBCAST
# SHARED: the bed's shared directory, from its configuration
SHARED=${SHARED:-$(source "$PBCAST/testbed/lib.sh" && echo "$TB_SHARED")}
LAUNCH=${LAUNCH:-"srun -n 6"}
RUN=${RUN:-"srun -n 6"}

source "$PBCAST/activate.sh" \
/dev/shm/local "$LAUNCH"

# Tier 1 : anaconda (here: the machine's Python 3.11 prefix with numpy and scipy)
bcast -v "$SHARED/bundles/py311-tier1.tar.zst" \
"$SHARED/bundles/mpi4py-tier2.tar.zst"

# Tier 2 : commonly used packages
# e.g. installed in $PYTHONUSERBASE
bcast-userbase

# Tier 3 : User application
mirror "$SHARED/mytestapp/" \
testapp bin

# Launch
time $RUN python3 \
/dev/shm/local/bin/main.py
