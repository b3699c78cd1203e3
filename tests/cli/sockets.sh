#!/usr/bin/env bash
# sockets.sh - the socket transports against tools we did not write (nc,
# socat), descriptor passing and --peer through the CLI, and a two-host
# test: two network namespaces joined by a veth pair made here (10.200.x.0/30
# only between them), ipckit recv in one and ipckit send in the other.
# $1 = the ipckit binary, $2 = the build dir.
set -u

IPK=${1:?usage: sockets.sh IPCKIT BUILD_DIR}
TMP=$(mktemp -d "/tmp/ipk-sockets-$$.XXXXXX")
NS1=ipk-a-$$ NS2=ipk-b-$$ VA=ipka$$ VB=ipkb$$
NET=10.200.$(($$ % 250)).
pass=0 fail=0 pids=""

cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	ip link del "$VA" 2>/dev/null
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # check NAME FILE STRING: FILE contains STRING
	if grep -qF -- "$3" "$2"; then ok "$1"; else
		ko "$1: wanted '$3', got '$(head -c 300 "$2")'"
	fi
}

# A free TCP/UDP port on loopback, from the kernel's ephemeral range.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start "ipckit recv ..." in the background; wait until it listens.
recv_bg() { # recv_bg OUT URL ARGS...
	local out=$1
	shift
	"$IPK" recv "$@" >"$out" 2>&1 &
	pids="$pids $!"
	sleep 0.3
}

wait_recv() { wait "${pids##* }" 2>/dev/null; }

# --- tools we did not write talk to ipckit ---
P=$(free_port)
recv_bg "$TMP/nc.out" "tcp://127.0.0.1:$P?raw" -n 1 --timeout 5000
echo "hello from nc" | timeout 5 nc -q1 127.0.0.1 "$P"
wait_recv
check "nc -> ipckit recv tcp://...?raw" "$TMP/nc.out" "hello from nc"

S=$TMP/raw.sock
recv_bg "$TMP/socat.out" "unix:$S?raw" -n 1 --timeout 5000
echo "hello from socat" | timeout 5 socat - "UNIX-CONNECT:$S"
wait_recv
check "socat -> ipckit recv unix:...?raw" "$TMP/socat.out" "hello from socat"
if [ -e "$S" ]; then ko "unix listener left $S"; else ok "unix socket removed"; fi

P=$(free_port)
timeout 5 socat -u "UDP-RECV:$P,bind=127.0.0.1" - >"$TMP/udp.out" &
pids="$pids $!"
sleep 0.3
"$IPK" send "udp://127.0.0.1:$P" "hello to socat"
sleep 0.3
kill "${pids##* }" 2>/dev/null
check "ipckit send udp:// -> socat UDP-RECV" "$TMP/udp.out" "hello to socat"

S=$TMP/pkt.sock
recv_bg "$TMP/pkt.out" "unixpacket:$S" -n 2 --timeout 5000
printf 'one packet' | timeout 5 socat - "UNIX-CONNECT:$S,type=5"
printf 'two packet' | timeout 5 socat - "UNIX-CONNECT:$S,type=5"
wait_recv
check "socat seqpacket -> ipckit recv unixpacket:" "$TMP/pkt.out" "two packet"

S=$TMP/gram.sock
recv_bg "$TMP/gram.out" "unixgram:$S" -n 1 --timeout 5000
printf 'one datagram' | timeout 5 socat - "UNIX-SENDTO:$S"
wait_recv
check "socat datagram -> ipckit recv unixgram:" "$TMP/gram.out" "one datagram"

# --- ipckit to ipckit: descriptor passing, --peer, many clients ---
S=$TMP/fd.sock
echo "content of the passed file" >"$TMP/passed.txt"
mkdir -p "$TMP/fds"
recv_bg "$TMP/fd.out" "unix:$S" -n 1 --timeout 5000 --save-fds "$TMP/fds"
"$IPK" send --fd "$TMP/passed.txt" "unix:$S" "with a file"
wait_recv
check "send --fd -> recv --save-fds (message)" "$TMP/fd.out" "with a file"
if grep -rqF "content of the passed file" "$TMP/fds" 2>/dev/null; then
	ok "the passed descriptor's content was saved"
else
	ko "no saved descriptor in $TMP/fds ($(ls "$TMP/fds"))"
fi

S=$TMP/peer.sock
recv_bg "$TMP/peer.out" "unix:$S" -n 3 --timeout 5000 --peer
for i in 1 2 3; do "$IPK" send "unix:$S" "client $i" & done
wait_recv
check "recv serves many unix clients" "$TMP/peer.out" "client 3"
check "--peer shows the uid" "$TMP/peer.out" "uid"

# --- two hosts: namespaces joined by a veth pair ---
if ! ip netns add "$NS1" 2>/dev/null || ! ip netns add "$NS2"; then
	ko "cannot make network namespaces (root needed)"
else
	ip link add "$VA" type veth peer name "$VB" &&
		ip link set "$VA" netns "$NS1" &&
		ip link set "$VB" netns "$NS2" &&
		ip -n "$NS1" addr add "${NET}1/30" dev "$VA" &&
		ip -n "$NS2" addr add "${NET}2/30" dev "$VB" &&
		ip -n "$NS1" link set "$VA" up && ip -n "$NS2" link set "$VB" up &&
		ip -n "$NS1" link set lo up && ip -n "$NS2" link set lo up ||
		ko "veth set-up failed"
	ip netns exec "$NS1" "$IPK" recv "tcp://${NET}1:7000" -n 1 \
		--timeout 5000 >"$TMP/ns-tcp.out" 2>&1 &
	pids="$pids $!"
	sleep 0.3
	ip netns exec "$NS2" "$IPK" send "tcp://${NET}1:7000" "across hosts"
	wait_recv
	check "tcp between two namespaces" "$TMP/ns-tcp.out" "across hosts"
	ip netns exec "$NS1" "$IPK" recv "udp://${NET}1:7001" -n 1 \
		--timeout 5000 >"$TMP/ns-udp.out" 2>&1 &
	pids="$pids $!"
	sleep 0.3
	ip netns exec "$NS2" "$IPK" send "udp://${NET}1:7001" "datagram across"
	wait_recv
	check "udp between two namespaces" "$TMP/ns-udp.out" "datagram across"
	if ip netns exec "$NS2" "$IPK" send "tcp://${NET}1:7002?timeout=300" x \
		2>/dev/null; then
		ko "send to a closed port succeeded"
	else
		ok "send to a closed port fails"
	fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
