# The longer steps of flow.sh and the continuous producer (sourced by flow.sh, never run).
# Uses NS, CLUSTER_NAME, NODE_IMAGE, WORK, CERTS, E2E_LOGS and the helpers of lib.sh and client.sh.

SEL() { echo "app.kubernetes.io/instance=$CLUSTER_NAME"; }
TSX="$ROOT/node_modules/.bin/tsx"

# apply_minimal [spec-lines...]: examples/minimal.yaml with the e2e image, the CA rotation
# dwell and any further lines of its spec block (minimal.yaml ends with that block), e.g.
# '  storage: {size: 2Gi}'.
#
# spec.tls.rotationDwellSeconds (E2E_CA_DWELL_S, default 30): how long each CA rotation phase
# lasts at least after its Secrets were written: what the producer needs to load them. Its
# files follow the user Secret through secret_volume_sync (steps-certs.sh), a kubectl get
# every E2E_SECRET_SYNC_S (5) seconds, and its client reloads 100 ms after the files change
# (node/src/tls/file-watcher.ts): under 10 s on a busy box; 30 s is three times that. (The
# default, 120 s, covers a real Secret volume on a kubelet with default settings: it would
# only make the step longer here. The node pods do not need it: each phase restarts them
# onto its Secrets.)
apply_minimal() {
  {
    cat "$ROOT/examples/minimal.yaml"
    printf '  image: %s\n  imagePullPolicy: Never\n' "$NODE_IMAGE"
    printf '  tls:\n    rotationDwellSeconds: %s\n' "${E2E_CA_DWELL_S:-30}"
    if (($# > 0)); then printf '%s\n' "$@"; fi
  } | kubectl -n "$NS" apply -f -
}

# --- grpcurl -----------------------------------------------------------------------------

# grpcurl_round_trip <n>: through each of pods 0..n-1, grpcurl (built by test/tools/build.sh)
# produces a record at that pod's LoadBalancer address and consumes it through the next pod's.
# No -proto flags (server reflection) and no -servername: the address must be in the
# certificate (the operator adds the external address as an IP SAN).
grpcurl_round_trip() {
  local n=$1 i j value b64 out offset grpcurl
  grpcurl="$(bash "$ROOT/test/tools/build.sh" --print-dir)/grpcurl"
  [[ -x "$grpcurl" ]] || fail "grpcurl is not built ($grpcurl): run bash test/tools/build.sh"
  for ((i = 0; i < n; i++)); do
    j=$(((i + 1) % n))
    external_addr "$i" >/dev/null
    external_addr "$j" >/dev/null
    value="grpcurl-via-$i"
    b64=$(printf '%s' "$value" | base64)
    out=$("$grpcurl" -cacert "$CERTS/ca.crt" -cert "$CERTS/tls.crt" -key "$CERTS/tls.key" \
      -d "{\"record\":{\"value\":\"$b64\"}}" "${ADDRS[$i]}" log.v1.Log/Produce 2>&1) ||
      fail "grpcurl Produce through ${ADDRS[$i]} (pod $i) failed: $out"
    # proto3 JSON leaves out a zero offset.
    offset=$(grep -oE '"offset": *"?[0-9]+' <<<"$out" | grep -oE '[0-9]+$' || echo 0)
    # A follower serves only what it has applied: OutOfRange until it catches up (bounded).
    local deadline=$((SECONDS + 30))
    until out=$("$grpcurl" -cacert "$CERTS/ca.crt" -cert "$CERTS/tls.crt" -key "$CERTS/tls.key" \
      -d "{\"offset\":$offset}" "${ADDRS[$j]}" log.v1.Log/Consume 2>&1); do
      grep -q 'Code: OutOfRange' <<<"$out" && ((SECONDS < deadline)) ||
        fail "grpcurl Consume of offset $offset through ${ADDRS[$j]} (pod $j) failed: $out"
      sleep 0.5
    done
    grep -q "\"value\": *\"$b64\"" <<<"$out" || fail "grpcurl read back through pod $j at offset $offset: $out (expected value $b64)"
    log "grpcurl: $value produced through ${ADDRS[$i]} at offset $offset, read back through ${ADDRS[$j]}"
  done
}

# --- the continuous producer -------------------------------------------------------------

WORKLOAD_PID=""
WORKLOAD_ACKS=""

# start_workload: the producer of test/workload/workload.ts, seeded with pod 0's external
# address (it resolves the others through GetServers); returns after its first acknowledgement.
# Its certificate files are Secret <cluster>-user-root kept current as a Secret volume
# (start_secret_volume in steps-certs.sh); it reloads them when they change.
start_workload() {
  WORKLOAD_ACKS="$WORK/workload-acks.jsonl"
  : >"$WORKLOAD_ACKS"
  external_addr 0 >/dev/null
  start_secret_volume "$WORK/producer-certs" "${CLUSTER_NAME}-user-root"
  COMMITLOG_CA_FILE="$WORK/producer-certs/ca.crt" COMMITLOG_CERT_FILE="$WORK/producer-certs/tls.crt" \
    COMMITLOG_KEY_FILE="$WORK/producer-certs/tls.key" \
    "$TSX" "$ROOT/test/workload/workload.ts" produce "$WORKLOAD_ACKS" "${ADDRS[0]}" "$CLUSTER_NAME.$NS.svc" \
    2>"$WORK/workload.log" &
  WORKLOAD_PID=$!
  wait_until 90 "the producer's first acknowledged record" grep -q '"offset"' "$WORKLOAD_ACKS"
  workload_progress
}

# acks_lines: how many outcomes the producer has recorded so far (a mark for failures_since).
acks_lines() { if [[ -n "$WORKLOAD_ACKS" && -f "$WORKLOAD_ACKS" ]]; then wc -l <"$WORKLOAD_ACKS"; else echo 0; fi; }

# producer_clean_since <mark> <what>: the producer is alive, had records acknowledged after
# outcome line <mark> and not one call failed: fails naming the first failures otherwise.
producer_clean_since() {
  local mark=$1 what=$2 acked failed
  if [[ -z "$WORKLOAD_PID" ]]; then
    log "NOT CHECKED: no producer ran during $what (E2E_ACCESS=${E2E_ACCESS:-lb}: it needs LoadBalancer addresses)"
    return 0
  fi
  kill -0 "$WORKLOAD_PID" 2>/dev/null || fail "the producer exited during $what:"$'\n'"$(tail -n 20 "$WORK/workload.log")"
  acked=$(tail -n +"$((mark + 1))" "$WORKLOAD_ACKS" | grep -c '"offset"' || true)
  failed=$(tail -n +"$((mark + 1))" "$WORKLOAD_ACKS" | grep -c '"error"' || true)
  log "producer during $what: $acked acknowledged, $failed failed"
  ((failed == 0)) || fail "$failed produce calls failed during $what:"$'\n'"$(tail -n +"$((mark + 1))" "$WORKLOAD_ACKS" | grep '"error"' | head -n 5)"
  ((acked > 0)) || fail "the producer had nothing acknowledged during $what"
}

# producer_alive_since <mark> <what>: like producer_clean_since, but failed calls are only
# reported (a known availability gap the caller names); the producer must be alive and have had
# records acknowledged.
producer_alive_since() {
  local mark=$1 what=$2 acked failed
  if [[ -z "$WORKLOAD_PID" ]]; then
    log "NOT CHECKED: no producer ran during $what (E2E_ACCESS=${E2E_ACCESS:-lb}: it needs LoadBalancer addresses)"
    return 0
  fi
  kill -0 "$WORKLOAD_PID" 2>/dev/null || fail "the producer exited during $what:"$'\n'"$(tail -n 20 "$WORK/workload.log")"
  acked=$(tail -n +"$((mark + 1))" "$WORKLOAD_ACKS" | grep -c '"offset"' || true)
  failed=$(tail -n +"$((mark + 1))" "$WORKLOAD_ACKS" | grep -c '"error"' || true)
  log "producer during $what: $acked acknowledged, $failed failed (reported, not fatal: E2E_STRICT_CA=0)"
  ((acked > 0)) || fail "the producer had nothing acknowledged during $what"
}

# workload_progress: prints how many records the producer has had acknowledged so far.
workload_progress() {
  [[ -n "$WORKLOAD_ACKS" && -f "$WORKLOAD_ACKS" ]] || return 0
  kill -0 "$WORKLOAD_PID" 2>/dev/null || fail "the producer exited early:"$'\n'"$(tail -n 20 "$WORK/workload.log")"
  log "producer: $(grep -c '"offset"' "$WORKLOAD_ACKS") acknowledged, $(grep -c '"error"' "$WORKLOAD_ACKS") failed so far"
}

# stop_workload: SIGTERM, bounded wait (the call in flight finishes), then the producer's log.
stop_workload() {
  stop_secret_volume
  [[ -n "$WORKLOAD_PID" ]] || return 0
  local pid=$WORKLOAD_PID deadline=$((SECONDS + 30))
  WORKLOAD_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  tail -n 2 "$WORK/workload.log" >&2 || true
}

# check_workload <n>: every acknowledged record on each of pods 0..n-1, exactly once, in order.
check_workload() {
  local n=$1 i addrs=()
  for ((i = 0; i < n; i++)); do addrs+=("$(external_addr "$i")"); done
  COMMITLOG_CA_FILE="$CERTS/ca.crt" COMMITLOG_CERT_FILE="$CERTS/tls.crt" COMMITLOG_KEY_FILE="$CERTS/tls.key" \
    "$TSX" "$ROOT/test/workload/workload.ts" check "$WORKLOAD_ACKS" "$CLUSTER_NAME.$NS.svc" "${addrs[@]}" ||
    fail "the producer's records are not intact on every member (see the PROBLEM lines above; $E2E_LOGS/workload-acks.jsonl)"
}

# --- membership --------------------------------------------------------------------------

sts_replicas() { kubectl -n "$NS" get sts "$CLUSTER_NAME" -o 'jsonpath={.spec.replicas}' 2>/dev/null; }

# scale_down_killing_operator <replicas>: scales down from the current size and, as soon as
# the StatefulSet has shrunk by the first member (watched, not polled), force-deletes the
# operator pod (no graceful stop, its Lease not released); the replacement must finish.
scale_down_killing_operator() {
  local target=$1 from old seen at_kill
  from=$(sts_replicas)
  old=$(kubectl -n commitlog-system get pods -l app.kubernetes.io/name=commitlog-operator -o 'jsonpath={.items[0].metadata.name}')
  [[ -n "$old" ]] || fail "no operator pod found"
  kubectl -n "$NS" scale clc "$CLUSTER_NAME" --replicas="$target"
  # The first StatefulSet event with fewer replicas than before: the first member is out.
  local line
  coproc STS_WATCH { timeout 300 kubectl -n "$NS" get sts "$CLUSTER_NAME" --watch -o 'jsonpath={.spec.replicas}{"\n"}'; }
  seen=""
  while read -r -u "${STS_WATCH[0]}" line; do
    if [[ "$line" =~ ^[0-9]+$ ]] && ((line < from)); then seen=$line; break; fi
  done
  kill "$STS_WATCH_PID" 2>/dev/null || true
  wait "$STS_WATCH_PID" 2>/dev/null || true
  [[ -n "$seen" ]] || fail "the StatefulSet did not shrink below $from replicas within 300s"
  kubectl -n commitlog-system delete pod "$old" --grace-period=0 --force >/dev/null 2>&1
  at_kill=$(sts_replicas)
  log "operator pod $old killed when the StatefulSet reached $seen replicas ($at_kill just after the kill; target $target)"
  if ((at_kill <= target)); then
    log "NOTE: the old operator had already finished the scale-down; this run checks only that the new operator leaves it intact"
  fi
  wait_until 180 "a replacement operator pod Ready" bash -c \
    "kubectl -n commitlog-system get pods -l app.kubernetes.io/name=commitlog-operator -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type==\"Ready\")].status}{\"\\n\"}{end}' | grep -v '^$old ' | grep -q ' True\$'"
  wait_until 900 "$target ready members, finished by the new operator" status_is "$target"
  [[ "$(sts_replicas)" == "$target" ]] || fail "the StatefulSet has $(sts_replicas) replicas, expected $target"
  workload_progress
}

# replace_member_storage: deletes a follower's PVC and pod; it must come back on a new, empty
# volume, join the existing cluster as a new member (never bootstrap its own) and catch up.
replace_member_storage() {
  local leader victim="" i old_uid servers
  leader=$(clc_field '{.status.leader}')
  for i in 2 1; do [[ "$CLUSTER_NAME-$i" != "$leader" ]] && { victim="$CLUSTER_NAME-$i"; break; }; done
  old_uid=$(kubectl -n "$NS" get pvc "data-$victim" -o 'jsonpath={.metadata.uid}')
  [[ -n "$old_uid" ]] || fail "no PVC data-$victim"
  log "leader $leader; deleting pod $victim and PVC data-$victim ($old_uid)"
  kubectl -n "$NS" delete pvc "data-$victim" --wait=false
  kubectl -n "$NS" delete pod "$victim" --wait=false
  wait_until 300 "a new PVC data-$victim, Bound" bash -c \
    "u=\$(kubectl -n $NS get pvc data-$victim -o jsonpath='{.metadata.uid} {.status.phase}'); [[ -n \"\$u\" && \"\$u\" != $old_uid* && \"\$u\" == *' Bound' ]]"
  wait_until 600 "3 ready members after $victim rejoined with an empty disk" status_is 3
  members_are 3
  i=${victim##*-}
  servers=$(cli "$i" servers)
  [[ "$(grep -c . <<<"$servers")" == 3 && "$(grep -cw leader <<<"$servers")" == 1 ]] ||
    fail "$victim does not see the cluster's 3 members and one leader (a second cluster?):"$'\n'"$servers"
  produce_via 0 produce "after-storage-loss" >/dev/null
  cli "$i" consume --offset 0 --json >"$WORK/consume.out"
  grep -q '"value":"hello-from-0"' "$WORK/consume.out" && grep -q '"value":"after-storage-loss"' "$WORK/consume.out" ||
    fail "$victim did not catch up (first and newest records missing)"
  stop_port_forwards
  workload_progress
}

# --- rolling update ----------------------------------------------------------------------

# retag_image <image> <new-name>: makes <image> present on the nodes under a second name.
retag_image() {
  if [[ -n "${E2E_CONTAINERD_ADDRESS:-}" ]]; then
    ctr --address "$E2E_CONTAINERD_ADDRESS" -n k8s.io images tag --force "docker.io/library/$1" "docker.io/library/$2" >/dev/null
  elif [[ -n "${E2E_KIND_NAME:-}" ]]; then
    docker tag "$1" "$2" && kind load docker-image --name "$E2E_KIND_NAME" "$2"
  else
    return 1
  fi
}

# one_member_down_at_a_time <since>: every pod the operator restarted (its RollingUpdate
# events after <since>) was restarted only after the pod it restarted before it was back
# and Ready (that pod's Ready transition, which has whole seconds, is not after the next
# restart). A rollout that deletes the next pod while the previous one is still down fails
# here even when the cluster happens to survive it.
one_member_down_at_a_time() {
  kubectl -n "$NS" get events -o json >"$WORK/rollout-events.json"
  kubectl -n "$NS" get pods -l "$(SEL)" -o json >"$WORK/rollout-pods.json"
  node "$ROOT/test/e2e/one-at-a-time.cjs" "$1" "$WORK/rollout-events.json" "$WORK/rollout-pods.json" ||
    fail "the rolling update took a second member down before the first was Ready again (PROBLEM above)"
}

# rolling_update: spec.image changes to a second tag of the node image; every pod is
# replaced one at a time and the pod that was the Raft leader when it started goes last.
rolling_update() {
  local new="${NODE_IMAGE%:*}:${NODE_IMAGE#*:}-rolled" leader order last since
  retag_image "$NODE_IMAGE" "$new" || { log "SKIPPED: this backend cannot retag images (no E2E_CONTAINERD_ADDRESS or E2E_KIND_NAME)"; return 0; }
  leader=$(clc_field '{.status.leader}')
  [[ -n "$leader" ]] || fail "status.leader is empty before the rolling update"
  log "leader before the update: $leader; image $NODE_IMAGE → $new"
  since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  kubectl -n "$NS" patch clc "$CLUSTER_NAME" --type merge -p "{\"spec\":{\"image\":\"$new\"}}"
  wait_until 900 "every pod running $new, 3 ready members" bash -c \
    "[[ \"\$(kubectl -n $NS get pods -l $(SEL) -o jsonpath='{range .items[*]}{.spec.containers[0].image}{\"\\n\"}{end}' | sort -u)\" == '$new' ]] && [[ \"\$(kubectl -n $NS get pods -l $(SEL) -o name | wc -l)\" == 3 ]]"
  wait_until 600 "3 ready members after the rolling update" status_is 3
  order=$(kubectl -n "$NS" get pods -l "$(SEL)" -o jsonpath='{range .items[*]}{.metadata.creationTimestamp} {.metadata.name}{"\n"}{end}' | sort)
  log "pods by creation time after the update:"$'\n'"$order"
  last=$(tail -n 1 <<<"$order" | cut -d' ' -f2)
  # Leader last means the leader when the rollout reaches the last pod: under load Raft may
  # elect another leader mid-rollout (seen 2026-12-02, load 38); then the operator must have
  # moved leadership off that pod before restarting it, last (its log says so).
  if [[ "$last" != "$leader" ]]; then
    kubectl -n commitlog-system logs deploy/commitlog-operator --since-time="$since" 2>/dev/null |
      grep 'transferred leadership before restarting the leader' | grep -q "\"from\":\"$last\"" ||
      fail "the leader $leader was not replaced last (last: $last), and the operator did not transfer leadership away from $last before restarting it"
    log "leadership moved from $leader to $last during the rollout; the operator transferred it away from $last and restarted $last last"
  fi
  one_member_down_at_a_time "$since"
  NODE_IMAGE=$new
  workload_progress
}

# --- deletion ----------------------------------------------------------------------------

# delete_cluster_keeping_pvcs: deletes the CommitLogCluster; owned objects go, PVCs stay.
delete_cluster_keeping_pvcs() {
  kubectl -n "$NS" delete clc "$CLUSTER_NAME" --wait=true --timeout=120s
  wait_until 180 "owned objects garbage-collected" bash -c \
    "[[ -z \"\$(kubectl -n $NS get statefulsets,services,configmaps,secrets,poddisruptionbudgets,pods -l $(SEL) -o name)\" ]]"
  [[ -n "$(kubectl -n "$NS" get pvc -l "$(SEL)" -o name)" ]] || fail "PVCs were deleted although whenDeleted is Retain"
}

# --- examples/full.yaml (E2E_FULL=1) ----------------------------------------------------

# full_example: every field of the CRD set; its PriorityClass is created first; the external
# Services' loadBalancerSourceRanges admit only 203.0.113.0/24, so this step reaches the pods
# through `kubectl port-forward`. Checks the example's ACL with each user's certificate.
full_example() {
  local saved_name=$CLUSTER_NAME saved_access=${E2E_ACCESS:-lb} saved_certs=$CERTS user out
  kubectl apply -f - <<'EOF'
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: commitlog-critical
value: 1000000
description: commitlog nodes (examples/full.yaml)
EOF
  CLUSTER_NAME=orders
  sed -e "s|^\(  image:\).*|\1 $NODE_IMAGE|" -e 's|^\(  imagePullPolicy:\).*|\1 Never|' "$ROOT/examples/full.yaml" | kubectl -n "$NS" apply -f -
  wait_until 1500 "orders Ready with 5 members" status_is 5
  E2E_ACCESS=port-forward
  for user in root billing audit; do
    CERTS="$WORK/certs-$user"
    mkdir -p "$CERTS"
    fetch_client_certs "$CERTS" "$user"
  done
  CERTS="$WORK/certs-billing"
  produce_via 0 produce "order-1" >/dev/null || fail "billing may produce (examples/full.yaml ACL) but could not"
  if out=$(cli 1 consume --offset 0 2>&1); then fail "billing may not consume, yet consume succeeded: $out"; fi
  grep -q PERMISSION_DENIED <<<"$out" || fail "billing's consume failed for another reason than PERMISSION_DENIED: $out"
  CERTS="$WORK/certs-audit"
  cli 2 consume --offset 0 --json >"$WORK/consume.out"
  grep -q '"value":"order-1"' "$WORK/consume.out" || fail "audit does not read order-1 through orders-2"
  if out=$(cli 3 produce nope 2>&1); then fail "audit may not produce, yet produce succeeded: $out"; fi
  grep -q PERMISSION_DENIED <<<"$out" || fail "audit's produce failed for another reason than PERMISSION_DENIED: $out"
  [[ "$(kubectl -n "$NS" get pod orders-0 -o jsonpath='{.spec.priorityClassName} {.metadata.labels.team}')" == "commitlog-critical payments" ]] ||
    fail "orders-0 lacks the example's priorityClassName or labels"
  stop_port_forwards
  delete_cluster_keeping_pvcs
  kubectl -n "$NS" delete pvc -l "$(SEL)" --wait=false
  kubectl delete priorityclass commitlog-critical
  CLUSTER_NAME=$saved_name E2E_ACCESS=$saved_access CERTS=$saved_certs
}
