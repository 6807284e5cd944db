# Helpers for test/e2e/run.sh (sourced, not executed).

log() { printf '\n[e2e %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { printf '\n[e2e] FAILED: %s\n' "$*" >&2; exit 1; }

# wait_until <timeout-seconds> <description> <command...>: polls the command every 3 s.
wait_until() {
  local timeout=$1 what=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then fail "timed out after ${timeout}s waiting for: $what"; fi
    sleep 3
  done
}

# missing_tools: prints the tools test:e2e needs that are not available.
missing_tools() {
  local t
  for t in docker kind kubectl helm; do
    command -v "$t" >/dev/null 2>&1 || printf '%s ' "$t"
  done
  if command -v docker >/dev/null 2>&1 && ! docker info >/dev/null 2>&1; then
    printf 'docker-daemon(docker is installed but `docker info` fails: is the daemon running and may this user use it?) '
  fi
}

# clc_field <jsonpath>: a field of the CommitLogCluster under test.
clc_field() { kubectl -n "$NS" get clc "$CLUSTER_NAME" -o "jsonpath=$1" 2>/dev/null; }

# status_is <replicas>: status says <replicas> members, all ready, and Ready=True.
status_is() {
  [[ "$(clc_field '{.status.replicas}')" == "$1" ]] &&
  [[ "$(clc_field '{.status.readyReplicas}')" == "$1" ]] &&
  [[ "$(clc_field '{.status.conditions[?(@.type=="Ready")].status}')" == "True" ]]
}

# Steps: `step <what>` closes the previous step (printing how long it took) and opens the next.
STEP_NAME=""
STEP_START=$SECONDS
FLOW_START=$SECONDS
step() {
  step_done
  STEP_NAME=$1
  STEP_START=$SECONDS
  log "STEP: $STEP_NAME"
}
step_done() {
  if [[ -n "$STEP_NAME" ]]; then log "ok ($((SECONDS - STEP_START))s): $STEP_NAME"; fi
  STEP_NAME=""
}
step_failed() {
  if [[ -n "$STEP_NAME" ]]; then log "FAILED after $((SECONDS - STEP_START))s: $STEP_NAME"; fi
  STEP_NAME=""
}
elapsed_total() { echo "$((SECONDS - FLOW_START))s"; }

# members_are <n>: GetServers lists exactly pods demo-0 … demo-<n-1>, every one a voter.
members_are() {
  local n=$1 i out
  out=$(cli 0 servers)
  [[ "$(grep -c . <<<"$out")" == "$n" ]] || fail "GetServers lists $(grep -c . <<<"$out") servers, expected $n:"$'\n'"$out"
  for ((i = 0; i < n; i++)); do
    grep -qE "^${CLUSTER_NAME}-$i[[:space:]].*[[:space:]](leader|voter)([[:space:]]|\$)" <<<"$out" ||
      fail "GetServers has no voter ${CLUSTER_NAME}-$i:"$'\n'"$out"
  done
}

# collect_logs <dir>: state of the cluster, and the logs of every pod (current and previous
# container) and of the operator, into one folder.
collect_logs() {
  local dir=$1 ns pod
  mkdir -p "$dir/pods"
  kubectl get nodes,clc,sts,pods,svc,pvc,pv,endpointslices -A -o wide >"$dir/objects.txt" 2>&1 || true
  kubectl get events -A --sort-by=.lastTimestamp >"$dir/events.txt" 2>&1 || true
  kubectl -n "$NS" get clc -o yaml >"$dir/commitlogclusters.yaml" 2>&1 || true
  kubectl -n "$NS" describe pods >"$dir/pods-describe.txt" 2>&1 || true
  while read -r ns pod; do
    [[ -n "$pod" ]] || continue
    kubectl -n "$ns" logs "$pod" --all-containers --timestamps >"$dir/pods/$ns.$pod.log" 2>&1 || true
    kubectl -n "$ns" logs "$pod" --all-containers --timestamps --previous >"$dir/pods/$ns.$pod.previous.log" 2>/dev/null || rm -f "$dir/pods/$ns.$pod.previous.log"
  done < <(kubectl get pods -A -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' 2>/dev/null)
  kubectl -n commitlog-system logs deploy/commitlog-operator --timestamps >"$dir/operator.log" 2>&1 || true
  log "logs of every pod and the operator: $dir"
}
