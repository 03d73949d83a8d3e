# shellcheck shell=bash
# Shared by the testbed scripts: configuration, host list, messages.
tb_dir=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=testbed.conf
source "${NODECAST_TESTBED_CONF:-$tb_dir/testbed.conf}"
TB_HOSTS=("$TB_HEAD" $TB_COMPUTE)

tb_die() { echo "testbed: $*" >&2; exit 1; }
tb_need_root() { [[ $(id -u) == 0 ]] || tb_die "must run as root (network namespaces, mounts)"; }
tb_need() {
  local c missing=()
  for c in "$@"; do command -v "$c" >/dev/null || missing+=("$c"); done
  ((${#missing[@]} == 0)) || tb_die "missing: ${missing[*]} (Debian: apt-get install -y iproute2 util-linux openmpi-bin mpich)"
}
tb_ns() { echo "$TB_PREFIX-$1"; }
tb_addr() {   # host -> address: head .10, n1 .11, n2 .12 ...
  local i
  for i in "${!TB_HOSTS[@]}"; do [[ ${TB_HOSTS[$i]} == "$1" ]] && { echo "$TB_SUBNET.$((10 + i))"; return 0; }; done
  return 1
}
tb_host_of() {   # a name or address -> host
  local h
  for h in "${TB_HOSTS[@]}"; do
    [[ $1 == "$h" || $1 == "$(tb_addr "$h")" ]] && { echo "$h"; return 0; }
  done
  return 1
}
tb_pid() { cat "$TB_STATE/$1.pid" 2>/dev/null; }
tb_up() { local p; p=$(tb_pid "$1") && [[ -n $p ]] && kill -0 "$p" 2>/dev/null; }
