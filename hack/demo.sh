#!/usr/bin/env bash
# make demo: the Kubernetes federation walkthrough on this machine, as a narrated terminal
# session. It starts a local federation (`kfed dev up`: a host and CLUSTERS full member
# clusters, kwok fake nodes), spreads 1,000 replicas of k8shserver over the members, shows the
# federated Service and its DNS names (kfed's builtin DNS server, with one member's API server
# killed and started again), then gives the seed's Ingress one global address (a FederatedIngress
# with strategy Geo) and asks it with dig and curl as a client in the US and one in Europe, before
# and after a cluster fails, then leaves the federation running and says how to look around and
# stop it. Load balancers are a SIMULATION of `kfed dev` (loopback addresses answering HTTP on
# port 18080), and so are the geo table's client networks.
#
#   CLUSTERS   members, 3 (334/333/333) or 5 (200 each); default 3
#   DEMO_DIR   the federation's folder; default kfed's own (~/.kfed/dev)
#
# `make demo` builds bin/ first (make tools build); run directly, bin/ must be built already.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
clusters=${CLUSTERS:-3}
dir=${DEMO_DIR:-$HOME/.kfed/dev}
total=1000
sample=config/samples/k8shserver.yaml
export PATH="$root/bin:$PATH"

# say prints narration, one argument a line; show prints a command as it would be typed; run
# shows, then runs it.
say() {
  echo
  printf '\033[1m# %s\033[0m\n' "$@"
}
show() {
  local words=() a
  for a in "$@"; do
    if [[ $a =~ [^A-Za-z0-9_./:=,@%+-] ]]; then words+=("'$a'"); else words+=("$a"); fi
  done
  printf '\033[1;32m$\033[0m %s\n' "${words[*]}"
}
run() { show "$@"; "$@"; }

for b in kfed kubectl; do
  [[ -x bin/$b ]] || { echo "bin/$b is missing: run 'make demo' (it builds bin/ first)" >&2; exit 1; }
done
dir_flag=()
[[ -n ${DEMO_DIR:-} ]] && dir_flag=(--dir "$dir")
demo_start=$SECONDS

say "kfed demo: the Kubernetes federation walkthrough, with $clusters member clusters on this machine."
say "kfed and kubectl come from bin/ (make build, make tools):"
printf '\033[1;32m$\033[0m export PATH=%s/bin:$PATH\n' "$root"

say "Start a local federation: a host and $clusters members, each an API server, controller manager," \
  "scheduler and kwok fake nodes labelled with its region and zone; the operator runs against the" \
  "host and joins every member with 'kfed join'. It runs in the background (about 40 s to start)."
up_log=$(mktemp)
trap 'rm -f "$up_log"' EXIT
show kfed dev up --clusters "$clusters" "${dir_flag[@]}"
up_start=$SECONDS
if ! kfed dev up --clusters "$clusters" "${dir_flag[@]}" 2>&1 | tee "$up_log"; then
  if grep -q 'already runs in' "$up_log"; then
    cat <<EOF

A local federation is already running in $dir (from an earlier 'make demo'?).
Look around in it:
  export PATH=$root/bin:\$PATH KUBECONFIG=$dir/kubeconfig
  kfed status
or stop it and start the demo again:
  bin/kfed dev down ${dir_flag[*]}
  make demo
EOF
  fi
  exit 1
fi
up_took=$((SECONDS - up_start))

say "Every kubectl and kfed command below uses the federation's kubeconfig: context 'federation' is" \
  "the host, and each member has a context of its own name."
show export KUBECONFIG="$dir/kubeconfig"
export KUBECONFIG="$dir/kubeconfig"
mapfile -t members < <(kubectl config get-contexts -o name | grep -v '^federation$' | sort)

say "The joined clusters, each Ready, with the region and zone read from its nodes' labels:"
run kfed status

say "Create the walkthrough's app in the host: a FederatedDeployment of $total replicas with equal" \
  "weights, and a FederatedService of type LoadBalancer ($sample)."
run kubectl --context federation apply -f "$sample"

say "kfed splits the $total replicas over the ${#members[@]} clusters; kwok runs the pods. Wait until all are Ready:"
apply_start=$SECONDS
run kubectl --context federation wait fdeploy/k8shserver --for=jsonpath='{.status.readyReplicas}'="$total" --timeout=5m
ready_took=$((SECONDS - apply_start))
run kubectl --context federation get fdeploy k8shserver
say "Each member runs its share, as a plain Deployment:"
for m in "${members[@]}"; do
  run kubectl --context "$m" get deploy k8shserver
done
# The walkthrough's promise: shares differ by at most one (334/333/333, or 200 each over five).
low=$((total / ${#members[@]}))
for m in "${members[@]}"; do
  n=$(kubectl --context "$m" get deploy k8shserver -o jsonpath='{.status.readyReplicas}')
  if ((n < low || n > low + 1)); then
    echo "unexpected: $m runs $n Ready replicas, not $low or $((low + 1))" >&2
    exit 1
  fi
done
run kfed status

say "The FederatedService made a Service of type LoadBalancer in every member. No cloud assigns" \
  "load-balancer addresses here: 'kfed dev' SIMULATES them with per-cluster loopback addresses."
run kubectl --context federation wait fsvc/k8shserver --for=condition=Ready --timeout=2m
run kubectl --context federation get fsvc k8shserver
for m in "${members[@]}"; do
  kubectl --context "$m" wait svc/k8shserver --for=jsonpath='{.status.loadBalancer.ingress}' --timeout=1m >/dev/null
  run kubectl --context "$m" get svc k8shserver
done

dns_listen=127.0.0.1:15353 # kfed dev's default --dns-listen
dns_host=${dns_listen%:*}
dns_port=${dns_listen##*:}
if command -v dig >/dev/null; then
  say "DNS: the local federation has a FederatedDomain example.com (federation name myfed), served by" \
    "kfed's builtin DNS server on $dns_listen. The FederatedService is of type LoadBalancer and" \
    "example.com is the only FederatedDomain, so it gets federation v1's names without asking:" \
    "global, per region and per zone, holding the clusters that count (Ready, a load-balancer" \
    "address, a ready endpoint)."
  run kubectl --context federation get fdomain
  run kubectl --context federation wait fsvc/k8shserver --for=condition=DNSPublished --timeout=2m
  victim=${members[0]}
  region=$(kubectl --context federation get fcl "$victim" -o jsonpath='{.status.region}')
  zone=$(kubectl --context federation get fcl "$victim" -o jsonpath='{.status.zones[0]}')
  global=k8shserver.default.myfed.svc.example.com
  region_name=k8shserver.default.myfed.svc.$region.example.com
  zone_name=k8shserver.default.myfed.svc.$zone.$region.example.com
  for n in "$global" "$region_name" "$zone_name"; do
    run dig @"$dns_host" -p "$dns_port" +noall +answer "$n" A
  done
  # answers NAME: the A query's answer section, one record a line.
  answers() { dig @"$dns_host" -p "$dns_port" +noall +answer "$1" A; }
  # wait_for NAME PATTERN [!]: until the answer matches the pattern (or, with !, does not), 2 min at most.
  wait_for() {
    local i
    for ((i = 0; i < 600; i++)); do
      if [[ ${3:-} == '!' ]]; then answers "$1" | grep -q "$2" || return 0; else answers "$1" | grep -q "$2" && return 0; fi
      sleep 0.2
    done
    echo "unexpected: $1 still answers $(answers "$1")" >&2
    exit 1
  }
  say "Kill the API server of $victim: a real cluster failure. kfed's probes see it within" \
    "3 failed probes (10 s apart by default); the DNS controller takes the cluster out of its names" \
    "within one reconcile of that verdict."
  run kfed dev apiserver stop "$victim" "${dir_flag[@]}"
  fail_start=$SECONDS
  wait_for "$zone_name" CNAME
  say "$((SECONDS - fail_start)) s later: $victim's zone name falls back to a CNAME to its region name" \
    "(and that to the global name), and the global name no longer holds its address:"
  run dig @"$dns_host" -p "$dns_port" +noall +answer "$zone_name" A
  run dig @"$dns_host" -p "$dns_port" +noall +answer "$global" A
  run kubectl --context federation get fcl "$victim"
  say "Start the API server again (same address, same data):"
  run kfed dev apiserver start "$victim" "${dir_flag[@]}"
  back_start=$SECONDS
  wait_for "$zone_name" CNAME '!'
  say "$((SECONDS - back_start)) s later the cluster counts again:"
  run dig @"$dns_host" -p "$dns_port" +noall +answer "$zone_name" A
  run dig @"$dns_host" -p "$dns_port" +noall +answer "$global" A
else
  say "dig is not installed (Debian package bind9-dnsutils): skipping the DNS part."
fi

us=cluster-us-east1-b
eu=cluster-europe-west1-b
seed_ingress=internal/cli/federate/testdata/seed/ingress.yaml
global_host=k8shserver.example.com
lb_port=18080 # kfed dev's default --lb-port
if ! command -v dig >/dev/null || ! command -v curl >/dev/null; then
  say "dig or curl is not installed (Debian packages bind9-dnsutils, curl): skipping the global address part."
elif ! printf '%s\n' "${members[@]}" | grep -qx "$us" || ! printf '%s\n' "${members[@]}" | grep -qx "$eu"; then
  say "The global address part needs $us and $eu (CLUSTERS=3 or 5): skipping it."
else
  say "The seed's last step: one global address for the app, answered by the cluster nearest the" \
    "client. Its Ingress is the walkthrough's own, of extensions/v1beta1 ($seed_ingress);" \
    "'kfed federate' turns it into a FederatedIngress of networking.k8s.io/v1:"
  run kfed federate -f "$seed_ingress"
  printf '\033[1;32m$\033[0m %s\n' "kfed federate -f $seed_ingress | kubectl --context federation apply -f -"
  kfed federate -f "$seed_ingress" 2>/dev/null | kubectl --context federation apply -f -
  say "Give it a global address: mode DNS, host $global_host in the FederatedDomain example.com," \
    "strategy Geo (each client gets the healthy clusters of its own region, else every healthy one)."
  run kubectl --context federation patch fing k8shserver --type merge \
    -p "{\"spec\":{\"globalLoadBalancer\":{\"mode\":\"DNS\",\"host\":\"$global_host\",\"strategy\":\"Geo\",\"ttl\":5}}}"
  say "Each member gets the Ingress; the load-balancer SIMULATION of 'kfed dev' gives it the member's" \
    "loopback address and answers HTTP there on port $lb_port, as k8shserver does: a Ready pod of the" \
    "member behind the Service, and the member's zone (no cloud load balancer exists here)."
  run kubectl --context federation wait fing/k8shserver --for=condition=GlobalAddressReady --timeout=2m
  for m in "${members[@]}"; do
    kubectl --context "$m" wait ingress/k8shserver --for=jsonpath='{.status.loadBalancer.ingress}' --timeout=1m >/dev/null
    run kubectl --context "$m" get ingress k8shserver
  done
  run kubectl --context federation get fing
  run kubectl --context federation get fing k8shserver -o jsonpath='{range .status.addresses[*]}{.ip}{"  "}{.clusters}{"\n"}{end}'

  # A client of a region: an address in the FederatedDomain's geo table for it (SIMULATED client
  # networks that 'kfed dev' sets, not any cloud's), e.g. 10.1.0.7 for us-east1.
  client_of() {
    local cidr
    cidr=$(kubectl --context federation get fdomain example.com -o jsonpath="{.spec.provider.builtin.geo[?(@.region==\"$1\")].cidrs[0]}")
    echo "${cidr%.*}.7"
  }
  us_region=$(kubectl --context federation get fcl "$us" -o jsonpath='{.status.region}')
  eu_region=$(kubectl --context federation get fcl "$eu" -o jsonpath='{.status.region}')
  us_client=$(client_of "$us_region")
  eu_client=$(client_of "$eu_region")
  say "The FederatedDomain's geo table maps each member's region to SIMULATED client networks" \
    "($us_region: $us_client is a client there, $eu_region: $eu_client). dig passes the client's" \
    "address as an EDNS0 client subnet (+subnet), as a recursive resolver would:"
  run kubectl --context federation get fdomain example.com -o jsonpath='{range .spec.provider.builtin.geo[*]}{.region}{"  "}{.cidrs}{"\n"}{end}'
  # first_ip CLIENT: the first address the global host answers the client with.
  first_ip() { dig @"$dns_host" -p "$dns_port" +short +subnet="$1" "$global_host" A | grep -m1 -E '^[0-9.]+$' || true; }
  # ask WHO CLIENT: dig as the client, then curl the address it got. curl cannot ask a DNS server
  # on port $dns_port itself, so it is given dig's answer with --resolve.
  ask() {
    local ip
    say "A client in $1 ($2):"
    run dig @"$dns_host" -p "$dns_port" +noall +answer +subnet="$2" "$global_host" A
    ip=$(first_ip "$2")
    if [[ -z $ip ]]; then
      echo "unexpected: $global_host has no address for $2" >&2
      exit 1
    fi
    run curl -s --resolve "$global_host:$lb_port:$ip" "http://$global_host:$lb_port/"
  }
  # wait_geo CLIENT PREFIX [!]: until the client's first address starts with PREFIX (or, with !,
  # no address it gets does), 2 min at most.
  wait_geo() {
    local i got
    for ((i = 0; i < 600; i++)); do
      got=$(dig @"$dns_host" -p "$dns_port" +short +subnet="$1" "$global_host" A)
      if [[ ${3:-} == '!' ]]; then
        [[ -n $got ]] && ! grep -q "^${2//./\\.}" <<<"$got" && return 0
      else
        grep -q "^${2//./\\.}" <<<"$got" && return 0
      fi
      sleep 0.2
    done
    echo "unexpected: $global_host still answers $1 with $got" >&2
    exit 1
  }
  us_prefix=$(kubectl --context "$us" get ingress k8shserver -o jsonpath='{.status.loadBalancer.ingress[0].ip}')
  us_prefix=${us_prefix%.*}.
  ask "$us_region" "$us_client"
  ask "$eu_region" "$eu_client"
  say "Each is answered by its own region's cluster (the zone in the answer). Now $us fails:" \
    "kill its API server; kfed's probes see it, and the global address drops the cluster."
  run kfed dev apiserver stop "$us" "${dir_flag[@]}"
  fail_start=$SECONDS
  wait_geo "$us_client" "$us_prefix" '!'
  say "$((SECONDS - fail_start)) s later, both clients are answered by the survivors: the client in" \
    "$us_region, whose region has no healthy cluster now, by every healthy cluster; the one in $eu_region" \
    "still by its own."
  ask "$us_region" "$us_client"
  ask "$eu_region" "$eu_client"
  run kubectl --context federation get fing k8shserver -o jsonpath='{range .status.addresses[*]}{.ip}{"  "}{.clusters}{"\n"}{end}'
  say "Start the API server of $us again:"
  run kfed dev apiserver start "$us" "${dir_flag[@]}"
  back_start=$SECONDS
  wait_geo "$us_client" "$us_prefix"
  say "$((SECONDS - back_start)) s later the client in $us_region is answered by $us again:"
  ask "$us_region" "$us_client"
fi

total_took=$((SECONDS - demo_start))
say "Timings: federation up in ${up_took} s; $total replicas Ready ${ready_took} s after the apply; demo ${total_took} s."

cat <<EOF

The federation keeps running in the background. Look around:
  export PATH=$root/bin:\$PATH KUBECONFIG=$dir/kubeconfig
  kfed status
  kubectl --context federation get federatedclusters
  kubectl --context federation get fdeploy k8shserver -o yaml    # status.plan: why each cluster has its count
  kubectl --context ${members[0]} get pods -l app=k8shserver
  dig @127.0.0.1 -p 15353 k8shserver.default.myfed.svc.example.com    # the federated Service's global name
  dig @127.0.0.1 -p 15353 +subnet=10.2.0.7 k8shserver.example.com      # the Ingress's global address, as a client in Europe
  curl http://127.0.10.1:18080/             # a simulated load balancer of the first member
  kubectl --context federation patch fdeploy k8shserver --type merge -p '{"spec":{"template":{"spec":{"replicas":1500}}}}'
  less $dir/dev.log                         # the operator's and the clusters' log
Stop it (no process is left behind):
  kfed dev down ${dir_flag[*]}
EOF
