# Shared by the lab scripts (record.sh, attacks.sh): network namespaces as
# pods on one bridge. Source it after setting
#   PREFIX   namespace name prefix (stale namespaces with it are removed)
#   NS_NODE  the node namespace that holds the bridge
#   BRIDGE   the bridge's name
#   IP_DNS   the resolver the pods' resolv.conf points at
# It defines CREATED_ETC_NETNS (resolv.conf dirs to remove at exit).
# shellcheck shell=bash

CREATED_ETC_NETNS=()

# Stops every process of a namespace (TERM, then KILL after 2 s).
ns_kill_all() {
    local ns="$1" pids
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    [[ -n "$pids" ]] || return 0
    # shellcheck disable=SC2086 # word splitting of the pid list is intended
    kill -TERM $pids 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pids="$(ip netns pids "$ns" 2>/dev/null || true)"
        [[ -z "$pids" ]] && return 0
        sleep 0.2
    done
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
}

# Removes the given namespaces (their processes first) and the resolv.conf
# dirs this run created.
lab_teardown() {
    local ns
    for ns in "$@"; do
        if ip netns list | awk '{print $1}' | grep -qx "$ns"; then
            ns_kill_all "$ns"
            ip netns del "$ns"
        fi
    done
    for d in "${CREATED_ETC_NETNS[@]}"; do rm -rf "$d"; done
}

# Removes namespaces left by a killed run.
lab_remove_stale() {
    local ns
    for ns in $(ip netns list | awk '{print $1}' | grep "^$PREFIX-" || true); do
        log "removing stale namespace $ns from an earlier run"
        ns_kill_all "$ns"
        ip netns del "$ns"
    done
}

in_ns() { local ns="$1"; shift; ip netns exec "$ns" "$@"; }

mac_of() { # 10.244.1.10 -> 02:42:0a:f4:01:0a
    local IFS=.
    # shellcheck disable=SC2206
    local o=($1)
    printf '02:42:%02x:%02x:%02x:%02x' "${o[0]}" "${o[1]}" "${o[2]}" "${o[3]}"
}

new_ns() {
    ip netns add "$1"
    in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    in_ns "$1" ip link set lo up
}

# The node namespace with its bridge.
lab_node() {
    new_ns "$NS_NODE"
    in_ns "$NS_NODE" ip link add "$BRIDGE" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    in_ns "$NS_NODE" ip link set "$BRIDGE" up
}

add_pod() { # ns short-name ip
    local ns="$1" short="$2" ip="$3"
    new_ns "$ns"
    in_ns "$NS_NODE" ip link add "veth-$short" type veth peer name eth0 netns "$ns"
    in_ns "$NS_NODE" ip link set "veth-$short" master "$BRIDGE" up
    in_ns "$ns" ip link set eth0 address "$(mac_of "$ip")"
    in_ns "$ns" ethtool -K eth0 tx off tso off gso off gro off >/dev/null 2>&1 || true
    in_ns "$ns" ip addr add "$ip/24" dev eth0
    in_ns "$ns" ip link set eth0 up
    # resolv.conf seen by processes under `ip netns exec` (bind-mounted by ip)
    if [[ ! -e "/etc/netns/$ns" ]]; then
        mkdir -p "/etc/netns/$ns"
        CREATED_ETC_NETNS+=("/etc/netns/$ns")
        printf 'nameserver %s\nsearch osprey.lab\noptions timeout:1 attempts:1\n' "$IP_DNS" \
            >"/etc/netns/$ns/resolv.conf"
    fi
}
