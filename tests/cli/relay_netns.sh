#!/usr/bin/env bash
# relay_netns.sh - the relay's two-host test: hosts A and B are network
# namespaces joined by a veth pair made here (10.201.x.0/30, only between
# them), each with its own IPC namespace, so they share no queue.  On A a
# producer writes sequence numbers into mq:, relay A carries them over
# TCP to relay B, which puts them into B's sysvmsg: queue, where a
# consumer reads them.  Then relay B is killed mid-stream and restarted:
# docs/guide/cli.md says what is lost and what is kept, and this checks
# it.  Exit 77 (skip) where network namespaces cannot be made.
# $1 = the ipckit binary.  Prints "N passed, N failed".
set -u

IPK=${1:?usage: relay_netns.sh IPCKIT [BUILD_DIR]}
TMP=$(mktemp -d "/tmp/ipk-relayns-$$.XXXXXX")
NSA=ipk-ra-$$ NSB=ipk-rb-$$ VA=iprla$$ VB=iprlb$$
NET=10.201.$(($$ % 250)).
MQ=/ipk-relayns-$$
KEY=$(printf '0x%08x' $((0x4c000000 + ($$ & 0xffff) * 16)))
N1=100000                    # messages of the first run
N2=30000                     # of the run during which relay B dies
PIDS=()

cleanup() {
	[ ${#PIDS[@]} -gt 0 ] && kill -KILL "${PIDS[@]}" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
	ip link del "$VA" 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] || rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ok, ko, same (wait_for is redefined below: two hosts take longer)
. "$(dirname "$0")/lib.sh"
skip() {
	echo "skip: $1"
	exit 77
}
wait_for() { # wait_for FILE TEXT: up to 10 s (x MULT)
	local i
	for i in $(seq $((200 * MULT))); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

for t in ip unshare nsenter; do
	command -v "$t" >/dev/null || skip "no $t"
done
ip netns add "$NSA" 2>/dev/null || skip "ip netns add is not permitted here"
ip netns add "$NSB" || skip "ip netns add failed"
ip link add "$VA" type veth peer name "$VB" 2>/dev/null || skip "no veth"
ip link set "$VA" netns "$NSA" && ip link set "$VB" netns "$NSB" &&
	ip -n "$NSA" addr add "${NET}1/30" dev "$VA" &&
	ip -n "$NSB" addr add "${NET}2/30" dev "$VB" &&
	ip -n "$NSA" link set "$VA" up && ip -n "$NSB" link set "$VB" up &&
	ip -n "$NSA" link set lo up && ip -n "$NSB" link set lo up ||
	skip "cannot set up the veth pair"

# One process per host holds its namespaces; nsenter runs each command
# of that host inside them.
ip netns exec "$NSA" unshare --ipc sleep 600 &
HA=$!
PIDS+=($!)
ip netns exec "$NSB" unshare --ipc sleep 600 &
HB=$!
PIDS+=($!)
for h in $HA $HB; do
	for i in $(seq 100); do
		[ "$(readlink "/proc/$h/ns/ipc")" != "$(readlink /proc/self/ns/ipc)" ] &&
			[ "$(readlink "/proc/$h/ns/net")" != "$(readlink /proc/self/ns/net)" ] &&
			break
		sleep 0.05
	done
done
[ "$(readlink "/proc/$HA/ns/ipc")" != "$(readlink "/proc/$HB/ns/ipc")" ] ||
	skip "unshare --ipc did not give the hosts their own IPC namespaces"
# nsenter execs the command, so $! of "${ON_A[@]}" CMD & is CMD itself.
ON_A=(nsenter -t "$HA" --net --ipc)
ON_B=(nsenter -t "$HB" --net --ipc)
ina() { "${ON_A[@]}" "$@"; }
ina ip link show "$VA" >/dev/null 2>&1 || skip "nsenter cannot enter host A"

# consumer OUT ERR: on B, read the queue until 5 s (x MULT) pass idle.
consumer() {
	"${ON_B[@]}" "$IPK" recv "sysvmsg:$KEY" --timeout $((5000 * MULT)) >"$1" 2>"$2" &
	PIDS+=($!)
	CONS=$!
	wait_for "$2" "listening on"
}
relay_b() { # relay_b ERR
	"${ON_B[@]}" "$IPK" relay "tcp://${NET}2:9000" "sysvmsg:$KEY" 2>"$1" &
	PIDS+=($!)
	RB=$!
	wait_for "$1" "listening on"
}

# --- 100 000 messages from A's mq: to B's sysvmsg:, in order ------------
consumer "$TMP/b1.out" "$TMP/b1.err"
relay_b "$TMP/rb1.err"
"${ON_A[@]}" "$IPK" relay "mq:$MQ" "tcp://${NET}2:9000" 2>"$TMP/ra.err" &
PIDS+=($!)
RA=$!
wait_for "$TMP/ra.err" "listening on"
same "the hosts share no queue (A's ipcs has no $KEY)" \
	"$(ina ipcs -q | awk -v k="$KEY" '$1 == k')" ""
start=$(date +%s.%N)
seq -f '%06g' 1 $N1 | ina "$IPK" send "mq:$MQ" --timeout $((10000 * MULT))
same "the producer on A sent $N1" "$?" 0
wait "$CONS"
end=$(date +%s.%N)
same "B's consumer got $N1 messages" "$(wc -l <"$TMP/b1.out")" "$N1"
seq -f '%06g' 1 $N1 | cmp -s - "$TMP/b1.out" &&
	ok "none lost, none duplicated, order kept" ||
	ko "the sequence differs: $(seq -f '%06g' 1 $N1 | diff - "$TMP/b1.out" | head -3)"
echo "# $N1 messages A -> B in $(echo "$end - $start - 5 * $MULT" | bc) s (less the consumer's idle wait)"

# --- relay B killed mid-stream, then restarted --------------------------
# The first N2A go before the kill; what was in flight then (A's TCP send
# buffer, B's receive buffer) is lost, and may be all of them when A is
# fast.  The rest are sent once relay B is back, so that "everything
# after the loss arrives" has something to show.
N2A=$((N2 * 2 / 3))
consumer "$TMP/b2.out" "$TMP/b2.err"
seq -f '%06g' $((N1 + 1)) $((N1 + N2A)) |
	"${ON_A[@]}" "$IPK" send "mq:$MQ" --timeout $((10000 * MULT)) &
PIDS+=($!)
PROD=$!
for i in $(seq $((400 * MULT))); do
	[ "$(wc -l <"$TMP/b2.out")" -ge 3000 ] && break
	sleep 0.025
done
kill -KILL "$RB"
wait "$RB" 2>/dev/null
at=$(wc -l <"$TMP/b2.out")
sleep 0.5
relay_b "$TMP/rb2.err"
wait "$PROD"
rc=$?
seq -f '%06g' $((N1 + N2A + 1)) $((N1 + N2)) |
	ina "$IPK" send "mq:$MQ" --timeout $((10000 * MULT))
same "the producer's sends all went into A's queue" "$rc $?" "0 0"
wait "$CONS"
got=$(wc -l <"$TMP/b2.out")
echo "# relay B killed after $at of $N2 had arrived; $((N2 - got)) lost"
same "no duplicate, order kept (each number above the last)" \
	"$(awk 'NR > 1 && $1 + 0 <= prev { bad++ } { prev = $1 + 0 }
		END { print bad + 0 }' "$TMP/b2.out")" 0
same "everything after the loss arrived, to the last message" \
	"$(tail -1 "$TMP/b2.out")" "$(printf '%06d' $((N1 + N2)))"
same "what was lost is one run at the kill (at most one gap)" \
	"$(awk -v first=$((N1 + 1)) 'NR == 1 && $1 + 0 != first { gaps++ }
		NR > 1 && $1 + 0 != prev + 1 { gaps++ } { prev = $1 + 0 }
		END { print (gaps + 0 <= 1) }' "$TMP/b2.out")" 1
wait_for "$TMP/ra.err" "connected again" &&
	ok "relay A dialled B again by itself" ||
	ko "relay A: $(cat "$TMP/ra.err")"
kill -TERM "$RA"
wait "$RA"
grep -q "^ipckit: relay: $((N1 + N2)) messages .* 0 drops" "$TMP/ra.err" &&
	ok "relay A counted every message as handed to TCP, none dropped" ||
	ko "relay A's counters: $(tail -1 "$TMP/ra.err")"
kill -TERM "$RB"
wait "$RB"

finish
