#!/usr/bin/env bash
# Builds the third-party gRPC/Prometheus tools the ecosystem tests run against a real node
# (grpcurl, grpc_health_probe, promtool; on request the Prometheus server) from their Go
# modules into a cache outside the repository:
#
#   ${COMMITLOG_TOOLS:-~/.cache/commitlog-tools}/
#
# Same rules as test/controlplane/build.sh: versions pinned by the go.mod/go.sum of the
# module folders here (grpc/: `tool` directives; prometheus/: the Prometheus module);
# GOTOOLCHAIN=local; nothing downloaded except through the Go module proxy; a binary whose
# .stamp differs (other Go, changed go.sum) is rebuilt; builds run under `nice` (the machine
# is shared).
#
# promtool (`promtool check metrics`, the metrics lint test) and the Prometheus server (the
# monitoring test's scraper, only when named: `bash test/tools/build.sh prometheus`) come
# from the same module, github.com/prometheus/prometheus v0.316.0, built with the tag
# `remove_all_sd`: Prometheus' own switch (plugins/*.go) that leaves out every
# service-discovery SDK except file and HTTP discovery. Without it promtool pulled every cloud
# SDK and its build had not finished after 2,255 s (2026-12-01); with it the server took
# 361 s cold (nice 10, 2 shared cores, load ~8, 2026-12-02, 52 MB), and promtool about 6 min
# cold under load 30, seconds once the server's packages are in Go's build cache.
#
# `prometheus-operator-crds` is not a binary: the PodMonitor and ServiceMonitor CRDs of the
# Prometheus operator (module github.com/prometheus-operator/prometheus-operator, pinned
# below), fetched through the Go module proxy (`go mod download`) and copied to
# <dir>/prometheus-operator-crds/ for the chart's monitoring test.
#
# Usage: bash test/tools/build.sh [--print-dir] [name…]   (default: grpcurl grpc_health_probe promtool)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${COMMITLOG_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/commitlog-tools}
if [ "${1:-}" = "--print-dir" ]; then echo "$dir"; exit 0; fi

say() { echo "[$(date -u +%H:%M:%S)] tools: $*"; }
die() { echo "[$(date -u +%H:%M:%S)] tools: ERROR: $*" >&2; exit 1; }

go=${GO:-}
if [ -z "$go" ]; then
  if command -v go >/dev/null 2>&1; then go=$(command -v go)
  elif [ -x /usr/local/go/bin/go ]; then go=/usr/local/go/bin/go
  else die "no Go toolchain found (put go on PATH or set GO=/path/to/go)"; fi
fi
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
mkdir -p "$dir"

# (binary, module dir, package, build tags)
targets=(
  "grpcurl grpc github.com/fullstorydev/grpcurl/cmd/grpcurl -"
  "grpc_health_probe grpc github.com/grpc-ecosystem/grpc-health-probe -"
  "prometheus prometheus github.com/prometheus/prometheus/cmd/prometheus remove_all_sd"
  "promtool prometheus github.com/prometheus/prometheus/cmd/promtool remove_all_sd"
)
wanted=("$@")
[ "${#wanted[@]}" -gt 0 ] || wanted=(grpcurl grpc_health_probe promtool)

stamp_of() { # mod pkg tags — the Go version, the package (with its tags, if any), and every file of its module folder
  local what=$2; [ "$3" = - ] || what="$2 -tags $3"
  printf '%s\n' "$("$go" version)" "$what" "$(cd "$here/$1" && sha256sum go.mod go.sum $(ls ./*.go 2>/dev/null) | cut -d' ' -f1)"
}

exec 9>"$dir/.build.lock"
if ! flock -n 9; then say "another build holds $dir/.build.lock; waiting for it"; flock 9; fi

PROMETHEUS_OPERATOR=github.com/prometheus-operator/prometheus-operator@v0.85.0
crds_dir="$dir/prometheus-operator-crds"
for i in "${!wanted[@]}"; do
  [ "${wanted[$i]}" = prometheus-operator-crds ] || continue
  unset 'wanted[i]'
  if [ "$(cat "$crds_dir/.stamp" 2>/dev/null)" != "$PROMETHEUS_OPERATOR" ]; then
    say "fetching the PodMonitor and ServiceMonitor CRDs of $PROMETHEUS_OPERATOR (Go module proxy)"
    mod=$(cd "$dir" && "$go" mod download -json "$PROMETHEUS_OPERATOR" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$mod" ] || die "go mod download $PROMETHEUS_OPERATOR gave no module folder"
    rm -rf "$crds_dir" && mkdir -p "$crds_dir"
    cp "$mod/example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml" \
      "$mod/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$crds_dir/"
    chmod u+w "$crds_dir"/*.yaml
    printf '%s\n' "$PROMETHEUS_OPERATOR" > "$crds_dir/.stamp"
  fi
done
for w in "${wanted[@]}"; do
  printf '%s\n' "${targets[@]}" | grep -q "^$w " || die "unknown tool $w (known: $(printf '%s\n' "${targets[@]}" | cut -d' ' -f1 | tr '\n' ' '))"
done
for t in "${targets[@]}"; do
  read -r name mod pkg tags <<<"$t"
  printf '%s\n' "${wanted[@]}" | grep -qx "$name" || continue
  stamp=$(stamp_of "$mod" "$pkg" "$tags")
  if [ -x "$dir/$name" ] && [ "$(cat "$dir/$name.stamp" 2>/dev/null)" = "$stamp" ]; then continue; fi
  say "building $name from $pkg (module $mod/)"
  start=$(date +%s)
  tmp="$dir/.$name.tmp.$$"
  if ! (cd "$here/$mod" && nice -n 10 "$go" build -p 2 -tags "${tags#-}" -trimpath -ldflags "-s -w" -o "$tmp" "$pkg"); then
    rm -f "$tmp"
    die "building $name failed (see the Go errors above); rerun: bash test/tools/build.sh"
  fi
  mv -f "$tmp" "$dir/$name"
  printf '%s\n' "$stamp" > "$dir/$name.stamp"
  say "built $name in $(( $(date +%s) - start ))s"
done
say "tools up to date in $dir"
