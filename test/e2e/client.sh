# Producing and consuming through the per-pod external Services (sourced by run.sh).
# Each pod's address is its external Service's LoadBalancer address (cloud-provider-kind)
# or, when no address is assigned, a `kubectl port-forward` to that Service.

PF_PIDS=()
declare -A ADDRS=()

# fetch_client_certs <dir> [user]: a user's client certificate (default root) from Secret <cluster>-user-<user>.
fetch_client_certs() {
  local dir=$1 user=${2:-root} key
  for key in ca.crt tls.crt tls.key; do
    kubectl -n "$NS" get secret "${CLUSTER_NAME}-user-$user" -o "jsonpath={.data.${key//./\\.}}" | base64 -d >"$dir/$key"
  done
}

# external_addr <ordinal>: host:port to reach pod <ordinal> from this machine.
external_addr() {
  local i=$1 svc="${CLUSTER_NAME}-$1-external" ip port local_port
  if [[ -n "${ADDRS[$i]:-}" ]]; then echo "${ADDRS[$i]}"; return; fi
  if [[ "${E2E_ACCESS:-}" == lb ]]; then
    wait_until 60 "a LoadBalancer address for Service $svc" bash -c \
      "[[ -n \"\$(kubectl -n $NS get svc $svc -o 'jsonpath={.status.loadBalancer.ingress[0].ip}')\" ]]"
  fi
  # port-forward mode never dials the LoadBalancer address, even when one is assigned
  # (examples/full.yaml's loadBalancerSourceRanges do not admit this machine).
  ip=""
  if [[ "${E2E_ACCESS:-}" == lb ]]; then
    ip=$(kubectl -n "$NS" get svc "$svc" -o 'jsonpath={.status.loadBalancer.ingress[0].ip}' 2>/dev/null || true)
  fi
  port=$(kubectl -n "$NS" get svc "$svc" -o 'jsonpath={.spec.ports[?(@.name=="rpc")].port}')
  if [[ -n "$ip" ]]; then
    ADDRS[$i]="$ip:$port"
  else
    local_port=$((18400 + i))
    kubectl -n "$NS" port-forward "svc/$svc" "$local_port:$port" >/dev/null 2>&1 &
    PF_PIDS+=($!)
    wait_until 30 "kubectl port-forward to $svc listening on 127.0.0.1:$local_port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$local_port"
    ADDRS[$i]="127.0.0.1:$local_port"
  fi
  echo "${ADDRS[$i]}"
}

stop_port_forwards() {
  local pid
  for pid in "${PF_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  PF_PIDS=()
  ADDRS=()
declare -A ADDRS=()
}

# cli <ordinal> <command> [args...]: runs the commitlog CLI against pod <ordinal>.
cli() {
  local i=$1; shift
  local cmd=$1; shift
  external_addr "$i" >/dev/null   # in this shell, so the port-forward and cache persist
  local addr=${ADDRS[$i]}
  (cd "$ROOT" && npm run -s cli -- "$cmd" --addr "$addr" \
    --ca-file "$CERTS/ca.crt" --cert-file "$CERTS/tls.crt" --key-file "$CERTS/tls.key" \
    --server-name "${CLUSTER_NAME}-$i.${CLUSTER_NAME}-headless.$NS.svc" "$@")
}

# produce_via <ordinal> <values...>: produce through pod <ordinal> (followers forward to the leader).
produce_via() { cli "$@"; }

# count_records_via <ordinal>: sets COUNT to the number of records readable through pod
# <ordinal>. Not meant for $(...): the port-forward it may start must outlive the call.
COUNT=0
count_records_via() {
  cli "$1" consume --offset 0 --json >"$WORK/consume.out"
  COUNT=$(grep -c '"offset"' "$WORK/consume.out" || true)
}
