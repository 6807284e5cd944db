#!/usr/bin/env bash
# End-to-end test (`npm run test:e2e`): a real Kubernetes node, both images, the Helm chart, a
# CommitLogCluster; produce and consume through the per-pod external Services; scale 3 → 5 →
# 3; delete the leader pod; delete the cluster and check cleanup. The flow is flow.sh; this
# script provides the cluster, on one of two backends:
#
#   kind   where docker (with a running daemon) and kind exist: the kind cluster of
#          kind-config.yaml, images built with docker build and loaded with kind load;
#          LoadBalancer addresses from cloud-provider-kind if it is on PATH, otherwise
#          `kubectl port-forward`. Needs docker, kind, kubectl, helm.
#   local  elsewhere: test/node/ (control plane + containerd + kubelet + kube-proxy + CoreDNS
#          inside namespaces of its own; see test/node/README.md), images from
#          `npm run images`, binaries from test/controlplane/build.sh and test/node/build.sh.
#          Needs root, Go, and the Debian packages containerd runc containernetworking-plugins
#          iptables mmdebstrap umoci.
#
# Exits 2 naming what is missing when neither backend can run. Environment: E2E_BACKEND=kind|local
# forces one; E2E_LOGS=<dir> where a failure leaves the logs (default: a new folder in /tmp,
# printed); E2E_TIMEOUT bounds the flow (seconds, default 1800); E2E_FULL=1 adds the slow steps
# (`npm run test:e2e:full`: examples/full.yaml with 5 members); kind only: E2E_KEEP=1 keeps the
# kind cluster, E2E_REUSE=1 reuses it.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/test/e2e"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

KIND_NAME=commitlog-e2e
E2E_TIMEOUT=${E2E_TIMEOUT:-1800}
export E2E_LOGS=${E2E_LOGS:-/tmp/commitlog-e2e-logs-$(date -u +%Y%m%dT%H%M%S)}

missing_local_tools() {
  local t
  for t in go containerd runc ctr iptables mmdebstrap umoci unshare nsenter timeout openssl; do
    command -v "$t" >/dev/null 2>&1 || printf '%s ' "$t"
  done
  [[ -x /usr/lib/cni/bridge ]] || printf 'containernetworking-plugins '
  [[ "$(id -u 2>/dev/null)" == 0 ]] || printf 'root '
}

backend=${E2E_BACKEND:-}
if [[ -z "$backend" ]]; then
  if [[ -z "$(missing_tools)" ]]; then backend=kind
  elif [[ -z "$(missing_local_tools)" ]]; then backend=local
  else
    echo "test:e2e cannot run: missing $(missing_tools)for the kind backend, or $(missing_local_tools)for the local node" >&2
    echo "Install docker (and start its daemon), kind, kubectl and helm; or, as root, Go and: apt-get install containerd runc containernetworking-plugins iptables mmdebstrap umoci" >&2
    exit 2
  fi
fi

run_local() {
  local missing images
  missing=$(missing_local_tools)
  [[ -z "$missing" ]] || { echo "test:e2e (local node) cannot run: missing $missing" >&2; exit 2; }
  log "local node backend; logs of a failure go to $E2E_LOGS"
  local t=$SECONDS
  log "binaries: control plane and node (cached after the first build)"
  bash "$ROOT/test/controlplane/build.sh"
  bash "$ROOT/test/node/build.sh"
  bash "$ROOT/test/tools/build.sh" grpcurl
  log "images: npm run images (cached by content)"
  images=$(mktemp -t commitlog-e2e-images-XXXXXX.json)
  (cd "$ROOT" && node_modules/.bin/tsx scripts/images/build.ts --json >"$images")
  log "builds ready in $((SECONDS - t))s"
  set +e
  E2E_ACCESS=lb timeout --kill-after=60 "$E2E_TIMEOUT" bash "$ROOT/test/node/node.sh" run -- \
    "$ROOT/node_modules/.bin/tsx" "$ROOT/test/node/serve.ts" "$images" -- bash "$HERE/flow.sh"
  local rc=$?
  set -e
  rm -f "$images"
  ((rc == 124)) && log "the flow did not finish within E2E_TIMEOUT=${E2E_TIMEOUT}s"
  return "$rc"
}

run_kind() {
  local missing
  missing=$(missing_tools)
  if [[ -n "$missing" ]]; then
    echo "test:e2e (kind) cannot run: missing ${missing}" >&2
    echo "Install docker (and start its daemon), kind (https://kind.sigs.k8s.io), kubectl and helm, then rerun npm run test:e2e." >&2
    exit 2
  fi
  local node_image=commitlog-node:e2e operator_image=commitlog-operator:e2e cpk_pid="" access=port-forward
  cleanup_kind() {
    if [[ -n "$cpk_pid" ]]; then kill "$cpk_pid" 2>/dev/null || true; fi
    if [[ "${E2E_KEEP:-0}" != 1 ]]; then kind delete cluster --name "$KIND_NAME" >/dev/null 2>&1 || true; fi
  }
  trap cleanup_kind EXIT

  log "kind cluster $KIND_NAME (kind-config.yaml: 1 control plane, 3 workers)"
  if [[ "${E2E_REUSE:-0}" == 1 ]] && kind get clusters | grep -qx "$KIND_NAME"; then
    kind export kubeconfig --name "$KIND_NAME"
  else
    kind delete cluster --name "$KIND_NAME" >/dev/null 2>&1 || true
    kind create cluster --config "$ROOT/kind-config.yaml" --name "$KIND_NAME" --wait 120s
  fi

  log "build and load images"
  docker build -f "$ROOT/node/Dockerfile" -t "$node_image" "$ROOT"
  docker build -f "$ROOT/operator/Dockerfile" -t "$operator_image" "$ROOT"
  kind load docker-image --name "$KIND_NAME" "$node_image" "$operator_image"

  if command -v cloud-provider-kind >/dev/null 2>&1; then
    log "cloud-provider-kind: LoadBalancer addresses for the external Services"
    cloud-provider-kind >"$(mktemp -t cloud-provider-kind-XXXXXX.log)" 2>&1 &
    cpk_pid=$!
    access=lb
  else
    log "cloud-provider-kind not found: external Services are reached through kubectl port-forward"
  fi
  bash "$ROOT/test/tools/build.sh" grpcurl
  E2E_NODE_IMAGE=$node_image E2E_OPERATOR_IMAGE=$operator_image E2E_ACCESS=$access E2E_KIND_NAME=$KIND_NAME \
    timeout --kill-after=60 "$E2E_TIMEOUT" bash "$HERE/flow.sh"
}

start=$SECONDS
case $backend in
  kind) run_kind ;;
  local) run_local ;;
  *) echo "E2E_BACKEND must be kind or local, got $backend" >&2; exit 64 ;;
esac
log "test:e2e ($backend) passed in $((SECONDS - start))s"
