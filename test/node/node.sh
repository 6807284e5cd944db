#!/usr/bin/env bash
# Runs a command inside the namespaces of a local Kubernetes test node and removes every
# trace afterwards:
#
#   bash test/node/node.sh run -- <command…>
#
# It creates one holder process (`unshare -n -m`: a network and a mount namespace of its own),
# prepares them (loopback, a veth pair with the node address 10.99.0.1/24 and a default route,
# a tmpfs on /run, tmpfs over the kubelet's and CNI's fixed host paths, /proc/sys entries the
# kubelet would otherwise change pinned by bind mounts), creates a cgroup of its own in every
# cgroup v1 hierarchy, and runs <command> inside both (nsenter) with
#   COMMITLOG_NODE_DIR      a work directory (removed at the end)
#   COMMITLOG_NODE_CGROUP   the kubelet's cgroupRoot (everything started inside lives below it)
#   COMMITLOG_NODE_IP       the node address
# <command> is expected to start the node itself (test/node/serve.ts does). When it ends — or
# on failure, Ctrl-C or SIGTERM — every process in the cgroup (containerd, its shims, pods,
# kubelet, …) is killed by pid, the cgroups are removed, the holder is killed (its namespaces,
# with their interfaces, iptables rules and mounts, go with it) and the files are deleted.
# Nothing outside those namespaces is changed. Needs root; exits 2 naming a missing tool.
set -euo pipefail

NODE_IP=10.99.0.1
here=$(cd "$(dirname "$0")" && pwd)
ts() { date -u +%H:%M:%S; }
say() { echo "[$(ts)] node: $*" >&2; }

if [ "${1:-}" != run ] || [ "${2:-}" != -- ] || [ $# -lt 3 ]; then
  echo "usage: bash test/node/node.sh run -- <command…>" >&2
  exit 64
fi
shift 2

missing=()
for t in unshare nsenter ip iptables containerd containerd-shim-runc-v2 runc ctr mount; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/portmap ] || missing+=("cni-plugins(/usr/lib/cni)")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "test node cannot start: missing ${missing[*]}" >&2
  echo "apt-get install containerd runc containernetworking-plugins iptables conntrack iproute2 util-linux" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then echo "test node: needs root (network namespaces, mounts, cgroups)" >&2; exit 2; fi

id=$(date +%s)-$$
work=$(mktemp -d -t commitlog-node-XXXXXX)
cgroup="/commitlog-node-$id"
holder=""
child=""
created_dirs=()

controllers() { # every cgroup v1 hierarchy mounted under /sys/fs/cgroup
  local d
  for d in /sys/fs/cgroup/*/; do
    d=${d%/}
    [ -f "$d/cgroup.procs" ] && [ "$(basename "$d")" != unified ] && echo "$d"
  done
}

# The kubelet's cgroup v1 manager also creates its paths in the cgroup2 hierarchy mounted at
# /sys/fs/cgroup/unified (hybrid mode): cleaned up like the v1 ones.
hierarchies() { controllers; [ -f /sys/fs/cgroup/unified/cgroup.procs ] && echo /sys/fs/cgroup/unified; true; }

cgroup_pids() {
  local c
  for c in $(hierarchies); do
    [ -d "$c$cgroup" ] && find "$c$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -u
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  say "stopping (exit status $rc)"
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$child" 2>/dev/null || true
  fi
  # Everything started inside lives in our cgroup: containerd, its shims (which re-parent
  # to init and would outlive the namespaces), the pods, kubelet, the harness.
  local pids round
  for round in $(seq 1 50); do
    pids=$(cgroup_pids)
    [ -z "$pids" ] && break
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
  [ -n "$(cgroup_pids)" ] && say "WARNING: processes left in $cgroup: $(cgroup_pids | tr '\n' ' ')"
  local c
  for c in $(hierarchies); do
    [ -d "$c$cgroup" ] && find "$c$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null
    [ -d "$c$cgroup" ] && say "WARNING: could not remove $c$cgroup"
  done
  if [ -n "$holder" ]; then kill -KILL "$holder" 2>/dev/null || true; wait "$holder" 2>/dev/null || true; fi
  for d in "${created_dirs[@]}"; do rmdir "$d" 2>/dev/null || true; done
  if [ "${COMMITLOG_NODE_KEEP:-0}" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "cgroup $cgroup in: $(controllers | xargs -n1 basename | tr '\n' ' ')"
for c in $(controllers); do
  mkdir "$c$cgroup" "$c$cgroup/harness"
  if [ "$(basename "$c")" = cpuset ]; then
    for g in "$cgroup" "$cgroup/harness"; do
      cat "$c/cpuset.cpus" > "$c$g/cpuset.cpus"
      cat "$c/cpuset.mems" > "$c$g/cpuset.mems"
    done
  fi
done

# Mount points the kubelet and CNI use no matter what they are told: created empty if absent
# (and removed at the end), covered by a tmpfs inside the mount namespace.
for d in /var/lib/kubelet /var/lib/cni /var/log/pods /etc/cni /opt/cni; do
  if [ ! -e "$d" ]; then mkdir -p "$d"; created_dirs+=("$d"); fi
done

unshare -n -m --propagation private sleep infinity &
holder=$!
for _ in $(seq 1 100); do
  [ "$(readlink /proc/$holder/ns/net 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] && [ "$(readlink /proc/$holder/ns/mnt 2>/dev/null)" != "$(readlink /proc/self/ns/mnt)" ] && break
  sleep 0.05
done
say "namespaces held by pid $holder; work dir $work"

mkdir -p "$work/sysctl"
# The kubelet sets these host-wide at start; inside our mount namespace it finds them set.
printf '1\n' > "$work/sysctl/overcommit_memory"
printf '10\n' > "$work/sysctl/panic"
printf '1\n' > "$work/sysctl/panic_on_oops"
nsenter -t "$holder" -n -m -- sh -euc "
  ip link set lo up
  ip link add cl0 type veth peer name cl1
  ip addr add $NODE_IP/24 dev cl0
  ip link set cl0 up
  ip link set cl1 up
  ip route add default via 10.99.0.254 dev cl0
  mount -t tmpfs -o mode=755 tmpfs /run
  for d in /var/lib/kubelet /var/lib/cni /var/log/pods /etc/cni /opt/cni; do mount -t tmpfs -o mode=755 tmpfs \$d; done
  mount --bind $work/sysctl/overcommit_memory /proc/sys/vm/overcommit_memory
  mount --bind $work/sysctl/panic /proc/sys/kernel/panic
  mount --bind $work/sysctl/panic_on_oops /proc/sys/kernel/panic_on_oops
"

say "running inside the node's namespaces: $*"
(
  for c in $(controllers); do echo "$BASHPID" > "$c$cgroup/harness/cgroup.procs"; done
  exec nsenter -t "$holder" -n -m --wd="$PWD" -- env COMMITLOG_NODE_DIR="$work" COMMITLOG_NODE_CGROUP="$cgroup" COMMITLOG_NODE_IP="$NODE_IP" COMMITLOG_NODE_SCRIPT_DIR="$here" "$@"
) &
child=$!
set +e
wait "$child"
rc=$?
set -e
child=""
exit "$rc"
