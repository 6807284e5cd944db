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
