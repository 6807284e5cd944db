#!/usr/bin/env bash
# `npm run test:e2e:broken`: the failure path of the end-to-end tier. Runs the flow with a
# deliberately broken node image (E2E_BROKEN_NODE=1: the operator image in the node pods,
# whose entrypoint exits) and a short first-Ready bound, and passes only if the flow FAILS
# within its bound and what it collected names the cause: the pods crash-looping (describe),
# the container's own error (its log), and the CommitLogCluster's Ready condition saying why.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bound=${E2E_BROKEN_TIMEOUT:-900}
say() { printf '\n[e2e-broken %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
# check <logs>: what the flow collected names the cause.
check() {
  local logs=$1 problems=0 describe container ready
  describe=$(grep -m1 -E 'CrashLoopBackOff|Back-off restarting failed container' "$logs/pods-describe.txt" || true)
  [[ -n "$describe" ]] && say "pods: ${describe#"${describe%%[![:space:]]*}"}" || { say "PROBLEM: pods-describe.txt shows no crash loop"; problems=1; }
  container=$(cat "$logs"/pods/commitlog-e2e.demo-0*.log 2>/dev/null | grep -m1 -iE 'error|invalid|unknown|usage' || true)
  [[ -n "$container" ]] && say "container log: $container" || { say "PROBLEM: demo-0's log has no error line"; problems=1; }
  # The Ready condition's message (YAML: message comes before type in each condition).
  ready=$(tr '\n' ' ' <"$logs/commitlogclusters.yaml" | grep -oE "message: '[^']*CrashLoopBackOff[^']*'" | head -n 1 || true)
  [[ -n "$ready" ]] && say "status: ${ready//  / }" || { say "PROBLEM: no status condition names the crash loop"; problems=1; }
  return $problems
}

if [[ "${1:-}" == --check ]]; then check "$2"; exit; fi

logs=$(mktemp -d -t commitlog-e2e-broken-XXXXXX)
start=$SECONDS
set +e
E2E_BROKEN_NODE=1 E2E_READY_TIMEOUT=${E2E_READY_TIMEOUT:-150} E2E_STORAGE_LOSS=0 E2E_LOGS="$logs" \
  timeout --kill-after=30 "$bound" bash "$HERE/run.sh"
rc=$?
set -e
took=$((SECONDS - start))
[[ $rc -ne 0 ]] || { say "FAILED: the flow passed with a broken node image"; exit 1; }
[[ $rc -ne 124 && $rc -ne 137 ]] || { say "FAILED: the flow did not stop by itself within ${bound}s (exit $rc)"; exit 1; }
say "the flow failed as it must (exit $rc) after ${took}s; checking that $logs names the cause"
check "$logs" || { say "FAILED (logs kept in $logs)"; exit 1; }
rm -rf "$logs"
say "PASSED: a broken node image fails the flow in ${took}s and the logs name the cause"
