#!/usr/bin/env bash
# relay.sh - `ipckit relay FROM TO` end to end, with real processes as
# peers: the examples of its --help, socat as a raw peer, 100 clients
# fanning into one queue, a peer killed mid-message, SIGTERM cleanup and
# CLI-05 backpressure (100 MiB through two relays into a slow reader,
# peak RSS bounded).  $1 = the ipckit binary, $2 = the build dir.
# Prints "N passed, N failed"; exits 1 on a failure.
set -u

IPK=${1:?usage: relay.sh IPCKIT [BUILD_DIR]}
TMP=$(mktemp -d "/tmp/ipk-relay-$$.XXXXXX")
MQ=/ipk-relay-$$
KEY=$(printf '0x%08x' $((0x4b000000 + ($$ & 0xffff) * 16)))
PIDS=()
MADE=

cleanup() {
	[ ${#PIDS[@]} -gt 0 ] && kill -KILL "${PIDS[@]}" 2>/dev/null
	wait 2>/dev/null
	ipcrm -Q "$KEY" 2>/dev/null
	[ -n "$MADE" ] && ipcrm -q "$MADE" 2>/dev/null
	rm -f "/dev/mqueue$MQ" # leaks.sh has mounted it where it can
	[ -n "${KEEP_TMP:-}" ] || rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ok, ko, same, free_port, wait_for
. "$(dirname "$0")/lib.sh"
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
"$IPK" recv tcp://127.0.0.1:0 -n 2 >"$TMP/t1.out" 2>"$TMP/t1.err" &
PIDS+=($!)
R=$!
wait_for "$TMP/t1.err" "listening on"
P=$(port_of "$TMP/t1.err")
relay_bg "$TMP/r2.err" "sysvmsg:$KEY" "tcp://127.0.0.1:$P"
"$IPK" send "sysvmsg:$KEY" s1 s2
wait "$R"
same "sysvmsg -> tcp" "$(cat "$TMP/t1.out")" "s1
s2"
stop "$RELAY"
same "SIGTERM removes the queue the relay made" \
	"$(ipcs -q | awk -v k="$KEY" '$1 == k')" ""

# --- --dial-from a queue someone else made (ipcmk -Q) ------------------
MADE=$(ipcmk -Q | awk '{ print $NF }') # mode 0644: needs ?share
K=$(ipcs -q | awk -v id="$MADE" '$2 == id { print $1 }')
"$IPK" recv tcp://127.0.0.1:0 -n 2 >"$TMP/t2.out" 2>"$TMP/t2.err" &
PIDS+=($!)
R=$!
wait_for "$TMP/t2.err" "listening on"
P=$(port_of "$TMP/t2.err")
"$IPK" relay --dial-from "sysvmsg:$K?share" "tcp://127.0.0.1:$P" \
	2>"$TMP/r3.err" &
PIDS+=($!)
RELAY=$!
"$IPK" send "sysvmsg:$K?share" from-ipcmk-1 from-ipcmk-2
wait "$R"
same "--dial-from an ipcmk queue" "$(cat "$TMP/t2.out")" "from-ipcmk-1
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
"$IPK" relay "fifo:$F" stdio: >"$TMP/f.out" 2>"$TMP/r4c.err" &
PIDS+=($!)
RELAY=$!
wait_for "$TMP/r4c.err" "listening on"
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
"$IPK" recv tcp://127.0.0.1:0 -n 3 >"$TMP/t3.out" 2>"$TMP/t3.err" &
PIDS+=($!)
R=$!
wait_for "$TMP/t3.err" "listening on"
P=$(port_of "$TMP/t3.err")
printf 'l1\nl2\nl3' | timeout $((10 * MULT)) "$IPK" relay stdio: \
	"tcp://127.0.0.1:$P" 2>"$TMP/r5.err"
same "stdio: -> tcp ends at stdin's EOF with 0" "$? $(cat "$TMP/r5.err")" \
	"0 ipckit: relay: 3 messages (6 bytes) FROM->TO, 0 (0 bytes) TO->FROM, 0 drops, 1 connection (0 open)"
wait "$R"
same "stdin lines, the last without newline" "$(cat "$TMP/t3.out")" "l1
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

# --- 100 clients at once fan into one queue, every message whole -------
"$IPK" recv "mq:$MQ-b" -n 2000 --timeout $((20000 * MULT)) \
	>"$TMP/fan.out" 2>"$TMP/fan.err" &
PIDS+=($!)
R=$!
wait_for "$TMP/fan.err" "listening on"
relay_bg "$TMP/r7.err" tcp://127.0.0.1:0 "mq:$MQ-b"
P=$(port_of "$TMP/r7.err")
senders=()
for c in $(seq 100); do
	seq -f "c$c-%g" 20 | "$IPK" send "tcp://127.0.0.1:$P" \
		--timeout $((20000 * MULT)) 2>>"$TMP/fan.send" &
	senders+=($!)
done
bad=0
for p in "${senders[@]}"; do wait "$p" || bad=$((bad + 1)); done
same "100 concurrent senders all confirmed" "$bad" 0
wait "$R"
same "2000 messages, none twice" "$(sort -u "$TMP/fan.out" | wc -l)" 2000
same "each client's messages in its order" "$(awk -F- '
	{ if ($2 != last[$1] + 1) bad++; last[$1] = $2 }
	END { print bad + 0, length(last) }' "$TMP/fan.out")" "0 100"

# --- a peer killed in the middle of a message; the others go on ------
"$IPK" recv "mq:$MQ-b" -n 1 --timeout $((10000 * MULT)) \
	>"$TMP/cut.out" 2>"$TMP/cut.err" &
PIDS+=($!)
R=$!
wait_for "$TMP/cut.err" "listening on"
python3 - "$P" <<'PY' &
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x00\x00\x00\x64abc") # 3 of the 100 bytes announced
os.kill(os.getpid(), 9)
PY
wait $! 2>/dev/null
wait_for "$TMP/r7.err" "connection ended" &&
	ok "the cut connection is reported" || ko "no report: $(cat "$TMP/r7.err")"
"$IPK" send "tcp://127.0.0.1:$P" after
wait "$R"
same "the next client is served, into the queue made anew" \
	"$(cat "$TMP/cut.out")" "after"
grep -q "mq:$MQ-b: gone; dialling again" "$TMP/r7.err" &&
	ok "the unlinked queue was seen and dialled again" ||
	ko "no redial of the mq: $(cat "$TMP/r7.err")"
stop "$RELAY"
grep -q "2001 messages .* 1 drops, 102 connections" "$TMP/r7.err" &&
	ok "counters: 2001 messages, the cut one dropped, 102 connections" ||
	ko "counters: $(tail -1 "$TMP/r7.err")"

# --- a dialled TO whose peer goes away is dialled again ---------------
P=$(free_port)
"$IPK" recv "tcp://127.0.0.1:$P" -n 1 >"$TMP/re1.out" 2>/dev/null &
PIDS+=($!)
R=$!
sleep 0.3
relay_bg "$TMP/r8.err" "mq:$MQ" "tcp://127.0.0.1:$P"
"$IPK" send "mq:$MQ" m1
wait "$R"
wait_for "$TMP/r8.err" "gone; dialling again" &&
	ok "the peer's close is seen before the next message" ||
	ko "no redial: $(cat "$TMP/r8.err")"
"$IPK" send "mq:$MQ" m2 m3
"$IPK" recv "tcp://127.0.0.1:$P" -n 2 --timeout $((10000 * MULT)) \
	>"$TMP/re2.out" 2>/dev/null
same "what came meanwhile waited in the queue, then went" \
	"$(cat "$TMP/re1.out" "$TMP/re2.out")" "m1
m2
m3"
wait_for "$TMP/r8.err" "connected again" && ok "reconnect reported" ||
	ko "no reconnect: $(cat "$TMP/r8.err")"
stop "$RELAY"
"$IPK" send "mq:$MQ" --timeout 0 gone 2>/dev/null
[ $? -ne 0 ] && ok "SIGTERM removes the mq the relay made" ||
	ko "mq:$MQ left"

# --- --both: stdio <-> a tcp echo (socat running cat) ------------------
P=$(free_port)
socat "TCP-LISTEN:$P,bind=127.0.0.1,reuseaddr,fork" EXEC:cat &
PIDS+=($!)
sleep 0.3
got=$(printf 'ping\npong\n' | timeout $((10 * MULT)) "$IPK" relay --both \
	stdio: "tcp://127.0.0.1:$P" 2>"$TMP/r9.err")
same "--both: the echo comes back; stdin's EOF half-closes, exit 0" \
	"$got $?" "ping
pong 0"

# --- CLI-05: 100 MiB, pipe -> tcp -> unix, into a reader that reads ----
# 1 KiB/s for 10 s and then drains; the relays' peak RSS stays small.
head -c $((100 << 20)) /dev/urandom >"$TMP/big"
want=$(sha256sum <"$TMP/big" | cut -d' ' -f1)
S=$TMP/slow.sock
python3 - "$S" 10 >"$TMP/slow.out" <<'PY' &
import hashlib, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
h, n, t0 = hashlib.sha256(), 0, time.monotonic()
while time.monotonic() - t0 < float(sys.argv[2]):
    b = c.recv(1024)
    if not b: break
    h.update(b); n += len(b); time.sleep(1)
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())
PY
PIDS+=($!)
R=$!
for i in $(seq 100); do [ -S "$S" ] && break; sleep 0.05; done
relay_bg "$TMP/r10.err" "tcp://127.0.0.1:0?raw" "unix:$S?raw"
R2=$RELAY
P=$(port_of "$TMP/r10.err")
"$IPK" relay stdio:?raw "tcp://127.0.0.1:$P?raw" <"$TMP/big" \
	2>"$TMP/r11.err" &
PIDS+=($!)
R1=$!
sleep 8
hwm1=$(awk '/VmHWM/ { print $2 }' "/proc/$R1/status")
hwm2=$(awk '/VmHWM/ { print $2 }' "/proc/$R2/status")
wait "$R1"
same "the first relay ends at its stdin's EOF" "$?" 0
wait "$R"
same "the reader got all 100 MiB, checksum equal, EOF passed on" \
	"$(cat "$TMP/slow.out")" "$((100 << 20)) $want"
stop "$R2"
echo "# peak RSS during the slow phase: ${hwm1} kB and ${hwm2} kB"
[ "${hwm1:-99999}" -lt 65536 ] && [ "${hwm2:-99999}" -lt 65536 ] &&
	ok "both relays stayed under 64 MiB (${hwm1} and ${hwm2} kB)" ||
	ko "peak RSS ${hwm1} / ${hwm2} kB"

# --- framed pairs: send's confirmation needs the half-close to cross -----
# ipckit send half-closes after its last message and waits for the
# listener's EOF; the relay passes the first on to TCP and the second back.
P=$(free_port)
"$IPK" recv "tcp://127.0.0.1:$P" -n 2 >"$TMP/hc.out" 2>/dev/null &
PIDS+=($!)
R=$!
sleep 0.3
S2=$TMP/framed.sock
relay_bg "$TMP/r12.err" "unix:$S2" "tcp://127.0.0.1:$P"
"$IPK" send "unix:$S2" --timeout $((5000 * MULT)) h1 h2 2>"$TMP/hc.err"
same "send through a unix <-> tcp pair is confirmed" "$? $(cat "$TMP/hc.err")" "0 "
wait "$R"
same "both messages arrived" "$(cat "$TMP/hc.out")" "h1
h2"
stop "$RELAY"

# --- a 3 MB message through a tcp -> unix pair, beside a small one ------
# (a connection's buffer starts at 64 KiB and grows to the message).
S3=$TMP/big.sock
head -c 3000000 /dev/urandom >"$TMP/m3"
"$IPK" recv "unix:$S3" -n 2 -o "$TMP/m3.out" 2>/dev/null &
PIDS+=($!)
R=$!
for i in $(seq 100); do [ -S "$S3" ] && break; sleep 0.05; done
relay_bg "$TMP/r14.err" tcp://127.0.0.1:0 "unix:$S3"
P=$(port_of "$TMP/r14.err")
"$IPK" send "tcp://127.0.0.1:$P" --file "$TMP/m3"
"$IPK" send "tcp://127.0.0.1:$P" small
wait "$R"
cmp -s <(cat "$TMP/m3"; printf small) "$TMP/m3.out" &&
	ok "3 MB and then 5 bytes arrive whole" || ko "the big message differs"
stop "$RELAY"

# --- CLI-04: stdout closed early ends the relay cleanly -----------------
F2=$TMP/early.fifo
{ "$IPK" relay "fifo:$F2" stdio: 2>"$TMP/r13.err"; echo $? >"$TMP/r13.rc"; } |
	head -c 1 >/dev/null &
for i in $(seq 100); do [ -p "$F2" ] && break; sleep 0.05; done
"$IPK" send "fifo:$F2" first second third 2>/dev/null
for i in $(seq $((100 * MULT))); do [ -s "$TMP/r13.rc" ] && break; sleep 0.05; done
same "relay ... stdio: | head -c1 exits 0" "$(cat "$TMP/r13.rc" 2>/dev/null)" 0
[ -e "$F2" ] && ko "the FIFO is left" || ok "and removes its FIFO"

# --- CLI-01: wrong usage is exit 2 with a reason, nothing made ----------
usage() { # usage NAME ARGS...: exit 2 and a line on stderr
	local name=$1
	shift
	"$IPK" relay "$@" >/dev/null 2>"$TMP/usage.err"
	local rc=$?
	if [ "$rc" -eq 2 ] && [ -s "$TMP/usage.err" ]; then ok "$name"; else
		ko "$name: exit $rc, $(cat "$TMP/usage.err")"
	fi
}
usage "one URL" "mq:$MQ"
usage "three URLs" "mq:$MQ" stdio: stdio:
usage "unknown option" --bogus "mq:$MQ" stdio:
usage "--stats above range" --stats 99999999999999999999 "mq:$MQ" stdio:
usage "--timeout not a number" --timeout 1x "mq:$MQ" stdio:
usage "stdio: with an option it lacks" "mq:$MQ" 'stdio:?max=1'
usage "pipe: has no name" pipe: stdio:
usage "both stdio:" stdio: stdio:
usage "two listening connection sides" tcp://127.0.0.1:0 --listen-to \
	"unix:$TMP/u.sock"
usage "--both with a one-way mq:" --both "mq:$MQ" stdio:
usage "--both on one sysvmsg: queue without two types" --both \
	"sysvmsg:$KEY" stdio:
usage "a bad option in a URL" "mq:$MQ?depht=3" stdio:
usage "%n in a URL is not a format" "mq:/%n%n%s" 'fifo:%n?x=%s'
"$IPK" send "mq:$MQ" --timeout 0 x 2>/dev/null
[ $? -ne 0 ] && ok "no queue was made by any of them" || ko "mq:$MQ made"

finish
