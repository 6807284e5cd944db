#!/usr/bin/env bash
# Builds the local test node's binaries from Go modules into the control plane's binary
# cache (the same directory, lock and .stamp scheme as test/controlplane/build.sh):
#   kubelet, kube-proxy, kubectl  from k8s.io/kubernetes (module kube/, same release and
#                                  Go build cache as the control plane's kube-apiserver)
#   coredns                       from github.com/coredns/coredns (module coredns/, only the
#                                  plugins cluster DNS needs: see coredns/main.go)
# Only missing or stale binaries are built; a second run returns at once.
#
# Usage: bash test/node/build.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cp_dir="$here/../controlplane"
# shellcheck source=../controlplane/versions.env
. "$cp_dir/versions.env"
dir=$(bash "$cp_dir/build.sh" --print-dir)

ts() { date -u +%H:%M:%S; }
say() { echo "[$(ts)] testbin(node): $*"; }
die() { echo "[$(ts)] testbin(node): ERROR: $*" >&2; exit 1; }

go=${GO:-}
if [ -z "$go" ]; then
  if command -v go >/dev/null 2>&1; then go=$(command -v go)
  elif [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go
  else die "no Go toolchain found (put go on PATH or set GO=/path/to/go)"; fi
fi
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
mkdir -p "$dir"

targets=(
  "kubelet kube k8s.io/kubernetes/cmd/kubelet"
  "kube-proxy kube k8s.io/kubernetes/cmd/kube-proxy"
  "kubectl kube k8s.io/kubernetes/cmd/kubectl"
  "coredns coredns commitlog.dev/testbin/coredns"
)

# As test/controlplane/build.sh: the variables Kubernetes' hack/lib/version.sh sets.
k8s_ldflags() {
  local info major minor date p flags="-s -w"
  info=$("$go" mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Info": "\(.*\)".*/\1/p')
  date=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$info")
  major=${K8S_VERSION#v}; major=${major%%.*}
  minor=${K8S_VERSION#v*.}; minor=${minor%%.*}
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    flags+=" -X $p.gitTreeState=clean -X $p.buildDate=${date:-1970-01-01T00:00:00Z}"
  done
  echo "$flags"
}

stamp_of() { # mod ldflags
  printf '%s\n' "$("$go" version)" "$2" "$(cd "$here/$1" && sha256sum go.mod go.sum ./*.go 2>/dev/null | cut -d' ' -f1)"
}

declare -A ldflags_of=([coredns]="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION")
missing=()
for t in "${targets[@]}"; do
  read -r name mod _ <<<"$t"
  if [ -z "${ldflags_of[$mod]:-}" ]; then ldflags_of[$mod]=$(k8s_ldflags); fi
  if [ ! -x "$dir/$name" ] || [ "$(cat "$dir/$name.stamp" 2>/dev/null)" != "$(stamp_of "$mod" "${ldflags_of[$mod]}")" ]; then
    missing+=("$t")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  say "all node binaries present and up to date in $dir"
  exit 0
fi

exec 9>"$dir/.build.lock"
if ! flock -n 9; then
  say "another build holds $dir/.build.lock; waiting for it"
  flock 9
fi

say "go: $("$go" version)"
say "cache: $dir"
say "to build: $(for t in "${missing[@]}"; do read -r n _ _ <<<"$t"; printf '%s ' "$n"; done)"
start_all=$(date +%s)
for t in "${missing[@]}"; do
  read -r name mod pkg <<<"$t"
  ldflags=${ldflags_of[$mod]}
  stamp=$(stamp_of "$mod" "$ldflags")
  if [ -x "$dir/$name" ] && [ "$(cat "$dir/$name.stamp" 2>/dev/null)" = "$stamp" ]; then
    say "$name appeared meanwhile (another build)"; continue
  fi
  say "building $name from $pkg (module test/node/$mod/)"
  start=$(date +%s)
  tmp="$dir/.$name.tmp.$$"
  if ! (cd "$here/$mod" && "$go" build -p 2 -trimpath -ldflags "$ldflags" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    die "building $name failed (see the Go errors above); rerun: bash test/node/build.sh"
  fi
  mv -f "$tmp" "$dir/$name"
  printf '%s\n' "$stamp" > "$dir/$name.stamp"
  say "built $name in $(( $(date +%s) - start ))s ($(du -h "$dir/$name" | cut -f1))"
done
say "done in $(( $(date +%s) - start_all ))s; binaries in $dir"
