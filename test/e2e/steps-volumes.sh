# Volumes (sourced by flow.sh, never run): a storage increase expands every PVC, and a
# CommitLogCluster deleted with its PVCs retained and applied again resumes the same cluster.
# Uses NS, CLUSTER_NAME, WORK, CERTS and the helpers of lib.sh, client.sh and steps.sh.

# The size the expansion step grows the volumes to (examples/minimal.yaml: the default 1Gi).
GROWN_SIZE=2Gi

pvc_capacities() {
  kubectl -n "$NS" get pvc -l "$(SEL)" -o jsonpath='{range .items[*]}{.metadata.name}={.status.capacity.storage}{" "}{end}'
}

# expand_storage: spec.storage.size 1Gi → 2Gi. The operator raises each PVC's request (the
# StatefulSet's claim template cannot change); the storage driver grows the PV, then the
# claim's capacity. Status reports Progressing=True ExpandingVolumes while any claim is
# smaller, then Stable; no pod restarts. Transitions are recorded from watches (a poll could
# miss a state that lasts one pass). Skipped, saying why, when the class cannot expand.
expand_storage() {
  local sc allow uids_before uids_after w_clc w_pvc pid_clc pid_pvc
  sc=$(kubectl -n "$NS" get pvc "data-${CLUSTER_NAME}-0" -o jsonpath='{.spec.storageClassName}')
  allow=$(kubectl get storageclass "$sc" -o jsonpath='{.allowVolumeExpansion}' 2>/dev/null || true)
  if [[ "$allow" != true ]]; then
    log "SKIPPED: StorageClass $sc does not allow volume expansion (kind's local-path provisioner does not)"
    return 0
  fi
  uids_before=$(kubectl -n "$NS" get pods -l "$(SEL)" -o jsonpath='{range .items[*]}{.metadata.uid} {end}')
  log "PVCs before: $(pvc_capacities)(StorageClass $sc)"
  w_clc="$WORK/expand-clc.watch"
  w_pvc="$WORK/expand-pvc.watch"
  kubectl -n "$NS" get clc "$CLUSTER_NAME" --watch -o \
    jsonpath='{.status.conditions[?(@.type=="Progressing")].status} {.status.conditions[?(@.type=="Progressing")].reason}: {.status.conditions[?(@.type=="Progressing")].message}{"\n"}' \
    >"$w_clc" 2>&1 &
  pid_clc=$!
  kubectl -n "$NS" get pvc -l "$(SEL)" --watch -o \
    jsonpath='{.metadata.name} request={.spec.resources.requests.storage} capacity={.status.capacity.storage} conditions={.status.conditions[*].type}{"\n"}' \
    >"$w_pvc" 2>&1 &
  pid_pvc=$!
  kubectl -n "$NS" patch clc "$CLUSTER_NAME" --type merge -p "{\"spec\":{\"storage\":{\"size\":\"$GROWN_SIZE\"}}}"
  wait_until 180 "every PVC of $CLUSTER_NAME with capacity $GROWN_SIZE" bash -c \
    "[[ \"\$(kubectl -n $NS get pvc -l $(SEL) -o jsonpath='{range .items[*]}{.status.capacity.storage}{\"\\n\"}{end}' | sort -u)\" == $GROWN_SIZE ]]"
  wait_until 120 "Progressing=False Stable after the expansion" bash -c \
    "[[ \"\$(kubectl -n $NS get clc $CLUSTER_NAME -o jsonpath='{.status.conditions[?(@.type==\"Progressing\")].reason}')\" == Stable ]]"
  kill "$pid_clc" "$pid_pvc" 2>/dev/null || true
  wait "$pid_clc" "$pid_pvc" 2>/dev/null || true
  log "Progressing as watched:"$'\n'"$(uniq "$w_clc")"
  log "PVCs as watched:"$'\n'"$(uniq "$w_pvc")"
  grep -q "^True ExpandingVolumes: expanding volumes to $GROWN_SIZE" "$w_clc" ||
    fail "status never reported Progressing=True ExpandingVolumes while the volumes grew"
  grep -q 'conditions=.*FileSystemResizePending' "$w_pvc" || fail "no PVC went through FileSystemResizePending"
  local pv
  for pv in $(kubectl -n "$NS" get pvc -l "$(SEL)" -o jsonpath='{.items[*].spec.volumeName}'); do
    [[ "$(kubectl get pv "$pv" -o jsonpath='{.spec.capacity.storage}')" == "$GROWN_SIZE" ]] || fail "PV $pv was not expanded"
  done
  [[ -z "$(kubectl -n "$NS" get pvc -l "$(SEL)" -o jsonpath='{.items[*].status.conditions[*].type}')" ]] ||
    fail "a PVC still has resize conditions after the expansion"
  log "PVCs after: $(pvc_capacities); StatefulSet claim template: $(kubectl -n "$NS" get sts "$CLUSTER_NAME" -o jsonpath='{.spec.volumeClaimTemplates[0].spec.resources.requests.storage}')"
  uids_after=$(kubectl -n "$NS" get pods -l "$(SEL)" -o jsonpath='{range .items[*]}{.metadata.uid} {end}')
  [[ "$uids_after" == "$uids_before" ]] || fail "pods were replaced by the expansion (before: $uids_before; after: $uids_after)"
  status_is 3 || fail "the cluster is not Ready with 3 members after the expansion"
  workload_progress
}

# resume_over_retained_pvcs: deletes the CommitLogCluster (whenDeleted: Retain keeps the PVCs)
# and applies the same CR again: it adopts the cluster id recorded on the PVCs, becomes Ready
# without bootstrapping a new cluster, and every record written before the delete — each one
# the producer had acknowledged, at its offset, on every member — reads back.
resume_over_retained_pvcs() {
  local id before adopted
  id=$(clc_field '{.status.clusterId}')
  [[ -n "$id" ]] || fail "status.clusterId is empty before the delete"
  count_records_via 0
  before=$COUNT
  stop_port_forwards
  log "cluster id $id, $before records; PVC annotations: $(kubectl -n "$NS" get pvc -l "$(SEL)" -o jsonpath='{range .items[*]}{.metadata.name}={.metadata.annotations.commitlog\.dev/cluster-id}{" "}{end}')"
  delete_cluster_keeping_pvcs
  apply_minimal "  storage:" "    size: $GROWN_SIZE"
  wait_until "${E2E_READY_TIMEOUT:-600}" "the re-applied CommitLogCluster Ready with 3 members" status_is 3
  [[ "$(clc_field '{.status.clusterId}')" == "$id" ]] ||
    fail "the re-applied cluster has id $(clc_field '{.status.clusterId}'), not the retained volumes' $id"
  adopted=$(kubectl -n "$NS" get events --field-selector reason=ClusterIdAdopted -o jsonpath='{range .items[*]}{.message}{"\n"}{end}')
  [[ -n "$adopted" ]] || fail "no ClusterIdAdopted event"
  log "adopted: $(tail -n 1 <<<"$adopted")"
  fetch_client_certs "$CERTS"
  count_records_via 0
  [[ "$COUNT" == "$before" ]] || fail "the resumed cluster serves $COUNT records through pod 0, $before before the delete"
  if [[ -n "$WORKLOAD_ACKS" ]]; then check_workload 3; fi
  members_are 3
  stop_port_forwards
}
