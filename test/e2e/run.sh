#!/usr/bin/env bash
# End-to-end test on kind (`npm run test:e2e`): a real Kubernetes cluster, both images, the
# Helm chart, a CommitLogCluster; produce and consume through the per-pod external Services;
# scale 3 → 5 → 3; delete the leader pod; delete the cluster and check cleanup.
#
# Needs docker (with a running daemon), kind, kubectl and helm on PATH; exits 2 saying what
# is missing otherwise. Optional: cloud-provider-kind on PATH gives the LoadBalancer
# Services addresses; without it each pod is reached through `kubectl port-forward`.
# Environment: E2E_KEEP=1 keeps the kind cluster afterwards; E2E_REUSE=1 reuses an existing one.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/test/e2e"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=client.sh
source "$HERE/client.sh"

KIND_NAME=commitlog-e2e
NS=commitlog-e2e
CLUSTER_NAME=demo
NODE_IMAGE=commitlog-node:e2e
OPERATOR_IMAGE=commitlog-operator:e2e

missing=$(missing_tools)
if [[ -n "$missing" ]]; then
  echo "test:e2e cannot run: missing ${missing}" >&2
  echo "Install docker (and start its daemon), kind (https://kind.sigs.k8s.io), kubectl and helm, then rerun npm run test:e2e." >&2
  exit 2
fi

WORK=$(mktemp -d -t commitlog-e2e-XXXXXX)
CERTS="$WORK/certs"
mkdir -p "$CERTS"
CPK_PID=""
cleanup() {
  local rc=$?
  stop_port_forwards
  if [[ -n "$CPK_PID" ]]; then kill "$CPK_PID" 2>/dev/null || true; fi
  if ((rc != 0)); then
    log "diagnostics"
    kubectl -n "$NS" get clc,sts,pods,svc,pvc -o wide 2>/dev/null || true
    kubectl -n "$NS" describe clc "$CLUSTER_NAME" 2>/dev/null | tail -40 || true
    kubectl -n commitlog-system logs deploy/commitlog-operator --tail=60 2>/dev/null || true
  fi
  if [[ "${E2E_KEEP:-0}" != 1 ]]; then kind delete cluster --name "$KIND_NAME" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT

log "kind cluster $KIND_NAME (kind-config.yaml: 1 control plane, 3 workers)"
if [[ "${E2E_REUSE:-0}" == 1 ]] && kind get clusters | grep -qx "$KIND_NAME"; then
  kind export kubeconfig --name "$KIND_NAME"
else
  kind delete cluster --name "$KIND_NAME" >/dev/null 2>&1 || true
  kind create cluster --config "$ROOT/kind-config.yaml" --name "$KIND_NAME" --wait 120s
fi

log "build and load images"
docker build -f "$ROOT/node/Dockerfile" -t "$NODE_IMAGE" "$ROOT"
docker build -f "$ROOT/operator/Dockerfile" -t "$OPERATOR_IMAGE" "$ROOT"
kind load docker-image --name "$KIND_NAME" "$NODE_IMAGE" "$OPERATOR_IMAGE"

if command -v cloud-provider-kind >/dev/null 2>&1; then
  log "cloud-provider-kind: LoadBalancer addresses for the external Services"
  cloud-provider-kind >"$WORK/cloud-provider-kind.log" 2>&1 &
  CPK_PID=$!
else
  log "cloud-provider-kind not found: external Services are reached through kubectl port-forward"
fi

log "install the operator chart"
helm upgrade --install commitlog-operator "$ROOT/charts/commitlog-operator" \
  --namespace commitlog-system --create-namespace \
  --set image.repository="${OPERATOR_IMAGE%:*}" --set image.tag="${OPERATOR_IMAGE#*:}" --set image.pullPolicy=Never \
  --wait --timeout 180s

log "apply examples/minimal.yaml (with the e2e node image)"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
# minimal.yaml ends with its spec block: append the image fields to it.
{ cat "$ROOT/examples/minimal.yaml"; printf '  image: %s\n  imagePullPolicy: Never\n' "$NODE_IMAGE"; } | kubectl -n "$NS" apply -f -
wait_until 600 "CommitLogCluster Ready with 3 members" status_is 3
fetch_client_certs "$CERTS"

log "produce and consume through every pod's external Service"
for i in 0 1 2; do produce_via "$i" produce "hello-from-$i" >/dev/null; done
for i in 0 1 2; do
  count_records_via "$i"
  [[ "$COUNT" == 3 ]] || fail "pod $i serves $COUNT records, expected 3"
done
stop_port_forwards

log "scale 3 → 5"
kubectl -n "$NS" scale clc "$CLUSTER_NAME" --replicas=5
wait_until 900 "5 ready members" status_is 5
produce_via 4 produce "after-scale-up" >/dev/null
count_records_via 3
[[ "$COUNT" == 4 ]] || fail "new member demo-3 serves $COUNT records, expected 4"
stop_port_forwards

log "scale 5 → 3"
kubectl -n "$NS" scale clc "$CLUSTER_NAME" --replicas=3
wait_until 900 "3 ready members" status_is 3
wait_until 120 "external Services of removed pods deleted" bash -c "! kubectl -n $NS get svc ${CLUSTER_NAME}-4-external"
count_records_via 0
[[ "$COUNT" == 4 ]] || fail "records lost after scale-down: $COUNT of 4"
stop_port_forwards

log "delete the leader pod"
leader=$(clc_field '{.status.leader}')
if [[ -z "$leader" ]]; then
  fail "status.leader is empty: the operator could not read the Raft leader through the Admin service"
fi
kubectl -n "$NS" delete pod "$leader" --wait=false
wait_until 60 "leader change observed" bash -c "[[ \"\$(kubectl -n $NS get clc $CLUSTER_NAME -o jsonpath='{.status.leader}')\" != '$leader' ]]"
wait_until 600 "3 ready members after the leader pod restarted" status_is 3
produce_via 1 produce "after-leader-loss" >/dev/null
count_records_via 2
[[ "$COUNT" == 5 ]] || fail "records lost after deleting the leader pod: $COUNT of 5"
stop_port_forwards

log "delete the cluster and check cleanup"
kubectl -n "$NS" delete clc "$CLUSTER_NAME" --wait=true --timeout=120s
sel="app.kubernetes.io/instance=$CLUSTER_NAME"
wait_until 180 "owned objects garbage-collected" bash -c \
  "[[ -z \"\$(kubectl -n $NS get statefulsets,services,configmaps,secrets,poddisruptionbudgets,pods -l $sel -o name)\" ]]"
# PVCs follow spec.storage.pvcRetention.whenDeleted (default Retain): still there, on purpose.
[[ -n "$(kubectl -n "$NS" get pvc -o name)" ]] || fail "PVCs were deleted although whenDeleted is Retain"
kubectl -n "$NS" delete pvc --all --wait=false

log "PASSED"
