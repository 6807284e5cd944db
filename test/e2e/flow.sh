#!/usr/bin/env bash
# The end-to-end flow, the same on both backends (run by run.sh, never directly): a cluster
# whose kubectl context is current, the node and operator images present on its node(s).
#
# Environment: E2E_NODE_IMAGE, E2E_OPERATOR_IMAGE (name:tag, present on the nodes; pulled
# Never), E2E_LOGS (where a failure leaves the logs of every pod and the operator),
# E2E_ACCESS=lb|port-forward (how this shell reaches the per-pod external Services:
# LoadBalancer addresses, or `kubectl port-forward` when nothing assigns them),
# E2E_READY_TIMEOUT (seconds the first Ready may take, default 600).
#
# Each step prints what it checks and how long it took.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/test/e2e"
# shellcheck source=lib.sh
source "$HERE/lib.sh"
# shellcheck source=client.sh
source "$HERE/client.sh"

NS=commitlog-e2e
CLUSTER_NAME=demo
NODE_IMAGE=${E2E_NODE_IMAGE:?}
OPERATOR_IMAGE=${E2E_OPERATOR_IMAGE:?}
E2E_LOGS=${E2E_LOGS:?}
WORK=$(mktemp -d -t commitlog-e2e-flow-XXXXXX)
CERTS="$WORK/certs"
mkdir -p "$CERTS"

on_exit() {
  local rc=$?
  stop_port_forwards
  if ((rc != 0)); then
    step_failed
    collect_logs "$E2E_LOGS"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap on_exit EXIT

step "install the operator with the Helm chart (image $OPERATOR_IMAGE)"
helm upgrade --install commitlog-operator "$ROOT/charts/commitlog-operator" \
  --namespace commitlog-system --create-namespace \
  --set image.repository="${OPERATOR_IMAGE%:*}" --set image.tag="${OPERATOR_IMAGE#*:}" --set image.pullPolicy=Never \
  --wait --timeout 180s

step "apply examples/minimal.yaml (image $NODE_IMAGE) and wait for Ready with 3 members"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f -
# minimal.yaml ends with its spec block: append the image fields to it.
{ cat "$ROOT/examples/minimal.yaml"; printf '  image: %s\n  imagePullPolicy: Never\n' "$NODE_IMAGE"; } | kubectl -n "$NS" apply -f -
wait_until "${E2E_READY_TIMEOUT:-600}" "CommitLogCluster Ready with 3 members" status_is 3
fetch_client_certs "$CERTS"

step "produce through every pod's external Service, consume all records back through each"
for i in 0 1 2; do produce_via "$i" produce "hello-from-$i" >/dev/null; done
for i in 0 1 2; do
  count_records_via "$i"
  [[ "$COUNT" == 3 ]] || fail "pod $i serves $COUNT records, expected 3"
done

if [[ "${E2E_ACCESS:-lb}" == lb ]]; then
  step "GetServers (through pod 0) returns every member with its external address"
  cli 0 servers >"$WORK/servers.out"
  cat "$WORK/servers.out"
  for i in 0 1 2; do
    grep -q "[[:space:]]${ADDRS[$i]}\$" "$WORK/servers.out" || fail "GetServers does not list ${ADDRS[$i]} (external address of pod $i)"
  done
  [[ "$(grep -c . "$WORK/servers.out")" == 3 ]] || fail "GetServers lists $(grep -c . "$WORK/servers.out") servers, expected 3"
fi
stop_port_forwards

step "scale 3 → 5: one member at a time, all caught up"
kubectl -n "$NS" scale clc "$CLUSTER_NAME" --replicas=5
wait_until 900 "5 ready members" status_is 5
produce_via 4 produce "after-scale-up" >/dev/null
count_records_via 3
[[ "$COUNT" == 4 ]] || fail "new member demo-3 serves $COUNT records, expected 4"
members_are 5
stop_port_forwards

step "scale 5 → 3: members removed, pods and the Raft configuration agree"
kubectl -n "$NS" scale clc "$CLUSTER_NAME" --replicas=3
wait_until 900 "3 ready members" status_is 3
wait_until 120 "external Services of removed pods deleted" bash -c "! kubectl -n $NS get svc ${CLUSTER_NAME}-4-external"
count_records_via 0
[[ "$COUNT" == 4 ]] || fail "records lost after scale-down: $COUNT of 4"
members_are 3
stop_port_forwards

step "delete the leader pod: a new leader, no acknowledged record lost"
leader=$(clc_field '{.status.leader}')
[[ -n "$leader" ]] || fail "status.leader is empty: the operator could not read the Raft leader through the Admin service"
kubectl -n "$NS" delete pod "$leader" --wait=false
wait_until 90 "leader change observed" bash -c "l=\$(kubectl -n $NS get clc $CLUSTER_NAME -o jsonpath='{.status.leader}'); [[ -n \"\$l\" && \"\$l\" != '$leader' ]]"
wait_until 600 "3 ready members after the leader pod restarted" status_is 3
produce_via 1 produce "after-leader-loss" >/dev/null
count_records_via 2
[[ "$COUNT" == 5 ]] || fail "records lost after deleting the leader pod: $COUNT of 5"
stop_port_forwards

step "delete the CommitLogCluster: owned objects garbage-collected, PVCs kept (whenDeleted: Retain)"
kubectl -n "$NS" delete clc "$CLUSTER_NAME" --wait=true --timeout=120s
sel="app.kubernetes.io/instance=$CLUSTER_NAME"
wait_until 180 "owned objects garbage-collected" bash -c \
  "[[ -z \"\$(kubectl -n $NS get statefulsets,services,configmaps,secrets,poddisruptionbudgets,pods -l $sel -o name)\" ]]"
[[ -n "$(kubectl -n "$NS" get pvc -o name)" ]] || fail "PVCs were deleted although whenDeleted is Retain"
kubectl -n "$NS" delete pvc --all --wait=false

step_done
log "PASSED ($(elapsed_total))"
