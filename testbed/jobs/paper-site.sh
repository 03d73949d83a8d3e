#!/bin/bash
# The paper's script "Integration with NERSC Facilities", adapted only in paths and node counts for the test
# bed: nersc/activate.sh is nodecast's site/activate.sh (the site's tier-1 bundle for the selected Python,
# from site/site.conf or NODECAST_SITE_CONF), python-mpi is python3, the application lives on the shared directory.
# Submit it on the head: testbed/run head sbatch testbed/jobs/paper-site.sh
#SBATCH -N 3
#SBATCH -n 6

# select the Python environment
# (here: the python3 on PATH; a site with environment modules: module load python/3.11)

# PBCAST: from the environment (sbatch passes it on), else the checkout this script lies in
if [ -z "${PBCAST:-}" ]; then
  job=${BASH_SOURCE[0]}
  # sbatch runs a copy of the script; the job's Command is the original
  [ -n "${SLURM_JOB_ID:-}" ] && job=$(scontrol show job "$SLURM_JOB_ID" | sed -n 's/^ *Command=//p')
  PBCAST=$(cd "$(dirname "$job")/../.." && pwd)
fi
SHARED=${SHARED:-$(source "$PBCAST/testbed/lib.sh" && echo "$TB_SHARED")}

# site integration
source "$PBCAST/site/activate.sh"

# Directly deliver the user application
mirror "$SHARED/mytestapp/" \
testapp bin

# launch the mirrored application
time srun -n 6 python3 \
/dev/shm/local/bin/main.py
