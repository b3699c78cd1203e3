#!/usr/bin/env bash
# tcptrace.sh - `ipckit tcp-trace`: for each close order the states of
# both sides follow the TCP state machine; the packets open with SYN,
# SYN+ACK, ACK and every FIN is acknowledged with its seq + 1; the packet
# list equals what tshark captured on the same port in the same run and
# what tshark reads back from --pcap; --linger shows RST; --json and the
# SVG parse; as nobody the states are sampled (a subsequence of the true
# ones), for the own pair and for HOST:PORT; --restart needs
# SO_REUSEADDR only after the server closed first;
# HOST:PORT watches a connection nc makes to a socat server; --pid
# watches a bash client's connections and an nc listener's;
# tracefs instances and mounts are gone afterwards, SIGINT included.
# $1 = the ipckit binary.  Needs root (tracefs, capture); else exits 0
# with "skip".
set -u

IPK=${1:?usage: tcptrace.sh IPCKIT [BUILD_DIR]}
MULT=${IPK_TEST_MULT:-1}
PY=/usr/bin/python3
TMP=$(mktemp -d "/tmp/ipk-tcptrace-$$.XXXXXX")
PIDS=()

cleanup() {
	[ ${#PIDS[@]} -gt 0 ] && kill -KILL "${PIDS[@]}" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] || rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ok, ko, check, same
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v tshark >/dev/null; then
	echo "skip - tcptrace.sh needs root and tshark (scripts/deps.sh)"
	exit 0
fi
chmod 755 "$TMP"

# wait_text FILE TEXT: up to 5 s (x MULT) for FILE to contain TEXT.
wait_text() {
	for _ in $(seq $((100 * MULT))); do
		grep -q "$2" "$1" && return 0
		sleep 0.05
	done
	return 1
}

# finish_watch PID: up to 5 s (x MULT) for a watch to end by itself,
# then SIGINT; its exit status.
finish_watch() {
	for _ in $(seq $((100 * MULT))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	kill -INT "$1" 2>/dev/null
	wait "$1"
}

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0))
print(s.getsockname()[1])'
}

# tshark_start PORT FILE: capture until tshark_stop.  Returns once tshark
# has caught a probe (a refused connect to PORT): it is really capturing.
tshark_start() {
	tshark -i lo -f "tcp port $1" -w "$2" -q >"$TMP/tshark.err" 2>&1 &
	TSHARK=$!
	PIDS+=("$TSHARK")
	for _ in $(seq $((50 * MULT))); do
		$PY -c 'import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
except OSError:
    pass' "$1"
		[ "$(tshark -r "$2" 2>/dev/null | wc -l)" -gt 0 ] && return 0
		sleep 0.1
	done
	return 1
}
# tshark_stop FILE N: once FILE holds N packets (or 5 s), stop tshark.
tshark_stop() {
	for _ in $(seq $((50 * MULT))); do
		[ "$(tshark -r "$1" 2>/dev/null | wc -l)" -ge "$2" ] && break
		sleep 0.1
	done
	sleep 0.1
	kill -INT "$TSHARK" 2>/dev/null
	wait "$TSHARK" 2>/dev/null
}

# fields FILE [FILTER]: one line per packet: sport flags seq ack len.
fields() {
	tshark -r "$1" -Y "${2:-tcp}" -T fields -e tcp.srcport -e tcp.flags -e tcp.seq_raw \
		-e tcp.ack_raw -e tcp.len 2>/dev/null | $PY -c '
import sys
for l in sys.stdin:
    sp, fl, seq, ack, ln = l.split()
    fl = int(fl, 16)
    print(sp, fl & 0x1f, seq, ack if fl & 0x10 else "-", ln)'
}

# The checks of one --json trace: $PY check.py JSON CLOSE [LINGER].
cat >"$TMP/check.py" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
close, linger = sys.argv[2], len(sys.argv) > 3
bits = {"FIN": 1, "SYN": 2, "RST": 4, "PSH": 8, "ACK": 16}
ev = t["events"]
pk = [e for e in ev if e["type"] == "packet"]
st = {s: [e["new"] for e in ev if e["type"] == "state" and e["side"] == s]
      for s in ("client", "server")}
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
fl = [e["flags"] for e in pk]
want(fl[:3] == ["SYN", "SYN+ACK", "ACK"], "handshake %s" % fl[:3])
j, k = t["isn"]["client"], t["isn"]["server"]
want(pk[1]["ack"] == (j + 1) % 2**32 and pk[2]["ack"] == (k + 1) % 2**32
     and pk[2]["seq"] == (j + 1) % 2**32, "ack=j+1, ack=k+1")
want(pk[1]["rel_ack"] == "j+1" and pk[2]["rel_ack"] == "k+1", "notation")
fins = [(i, e) for i, e in enumerate(pk) if "FIN" in e["flags"]]
for i, f in fins:
    end = (f["seq"] + f["len"] + 1) % 2**32
    want(any(p["side"] != f["side"] and "ACK" in p["flags"] and
             p["ack"] == end for p in pk[i + 1:]),
         "FIN of %s acknowledged with seq+1" % f["side"])
hs = {"client": ["SYN_SENT", "ESTABLISHED"],
      "server": ["SYN_RECV", "ESTABLISHED"]}
active = ["FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT"]
passive = ["CLOSE_WAIT", "LAST_ACK", "CLOSE"]
if linger:
    want(not fins and any("RST" in e["flags"] for e in pk), "RST, no FIN")
    for s in ("client", "server"):
        want(st[s] == hs[s] + ["CLOSE"], "%s states %s" % (s, st[s]))
    want(t["time_wait"] == [], "no TIME_WAIT after RST")
    how = "rst"
else:
    want(len(fins) == 2, "two FINs")
    first = fins[0][1]["side"]
    other = "server" if first == "client" else "client"
    # Crossed: the second FIN does not acknowledge the first.
    crossed = fins[1][1]["ack"] != (fins[0][1]["seq"] + 1) % 2**32
    if close != "both":
        want(first == close and not crossed, "%s closed first" % close)
    if crossed:
        how = "simultaneous"
        for s in ("client", "server"):
            w = hs[s] + ["FIN_WAIT1", "CLOSING", "TIME_WAIT"]
            want(st[s] == w, "%s states %s, want %s" % (s, st[s], w))
        want(len(t["time_wait"]) == 2, "TIME_WAIT on both sides")
    else:
        how = first + " first"
        want(st[first] == hs[first] + active, "%s states %s" % (first, st[first]))
        want(st[other] == hs[other] + passive, "%s states %s" % (other, st[other]))
        want([w["side"] for w in t["time_wait"]] == [first],
             "TIME_WAIT on %s only" % first)
        want(0 < t["time_wait"][0]["remaining_ms"] <= 60000, "2MSL timer")
print(how)
for b in bad:
    print("bad:", b)
sys.exit(1 if bad else 0)
EOF

# trace NAME ARGS...: tcp-trace --json on a free port with tshark beside.
trace() {
	local name=$1
	shift
	PORT=$(free_port)
	tshark_start "$PORT" "$TMP/$name.ts.pcap" || ko "$name: tshark runs"
	"$IPK" tcp-trace --json --port "$PORT" --pcap "$TMP/$name.pcap" "$@" \
		>"$TMP/$name.json" 2>"$TMP/$name.err"
	same "$name: exit status" "$?" 0
	tshark_stop "$TMP/$name.ts.pcap" "$(($(grep -c '"type":"packet"' \
		"$TMP/$name.json") + 2))"
	$PY -c 'import json,sys
for e in json.load(open(sys.argv[1]))["events"]:
    if e["type"] == "packet":
        bits = sum({"FIN":1,"SYN":2,"RST":4,"PSH":8,"ACK":16}[f]
                   for f in e["flags"].split("+"))
        port = sys.argv[2] if e["side"] == "server" else "c"
        print(port, bits, e["seq"], e["ack"] if bits & 16 else "-", e["len"])' \
		"$TMP/$name.json" "$PORT" >"$TMP/$name.ours" ||
		ko "$name: --json parses"
	local cport
	cport=$($PY -c 'import json, sys
print(json.load(open(sys.argv[1]))["client_port"])' "$TMP/$name.json")
	fields "$TMP/$name.ts.pcap" "tcp.port == $cport" |
		awk -v p="$PORT" '{ if ($1 != p) $1 = "c"; print }' \
			>"$TMP/$name.tshark"
	fields "$TMP/$name.pcap" |
		awk -v p="$PORT" '{ if ($1 != p) $1 = "c"; print }' \
			>"$TMP/$name.readback"
	local what="$name: packets = tshark's capture"
	# As sets: packets the two CPUs send at the same instant (both FINs
	# of a simultaneous close) may come in either order, by timestamp.
	if [ "$(sort "$TMP/$name.ours")" = "$(sort "$TMP/$name.tshark")" ]; then
		ok "$what ($(wc -l <"$TMP/$name.ours"))"
	else
		ko "$what"
		diff "$TMP/$name.ours" "$TMP/$name.tshark" | sed 's/^/     /'
	fi
	check "$name: --pcap read back by tshark -r" \
		test "$(sort "$TMP/$name.ours")" = "$(sort "$TMP/$name.readback")"
}

for close in client server both; do
	trace "$close" --close "$close"
	how=$($PY "$TMP/check.py" "$TMP/$close.json" "$close")
	check "--close $close: states and packets follow TCP ($(echo "$how" | head -1))" \
		test -n "$how" -a "$(echo "$how" | grep -c bad:)" = 0
	echo "$how" | grep bad: | sed 's/^/     /'
done

# Simultaneous close is a race on two cores: try a few times to see one
# and say what happened (any outcome above was checked against TCP).
sim=""
for i in 1 2 3 4 5; do
	"$IPK" tcp-trace --json --close both >"$TMP/b$i.json" 2>/dev/null
	how=$($PY "$TMP/check.py" "$TMP/b$i.json" both) || {
		ko "--close both try $i: $how"
		break
	}
	[ "$how" = simultaneous ] && sim=$i && break
done
echo "info - simultaneous close (FINs crossed) seen in try: ${sim:-none of 5}"

trace linger --close client --linger
how=$($PY "$TMP/check.py" "$TMP/linger.json" client linger)
check "--linger: RST instead of FIN, both sides ESTABLISHED -> CLOSE" \
	test "$how" = rst

trace data --data 100000 --v6
$PY - "$TMP/data.json" <<'EOF' >"$TMP/data.out" 2>&1
import json, sys
t = json.load(open(sys.argv[1]))
pk = [e for e in t["events"] if e["type"] == "packet"]
sent = sum(e["len"] for e in pk if e["side"] == "client")
acked = max((e["ack"] - t["isn"]["client"]) % 2**32 for e in pk
            if e["side"] == "server" and "ACK" in e["flags"])
assert t["address"] == "::1", t["address"]
assert sent == 100000, sent
assert acked == 100000 + 2, acked   # data, then the FIN
EOF
check "--data 100000 --v6: 100000 bytes sent and acknowledged" \
	test ! -s "$TMP/data.out"

"$IPK" tcp-trace --svg "$TMP/l.svg" >"$TMP/l.txt" 2>&1
same "--svg: exit status" "$?" 0
$PY - "$TMP/l.svg" "$TMP/l.txt" <<'EOF' >"$TMP/svg.out" 2>&1
import sys, xml.dom.minidom as md
doc = md.parse(sys.argv[1])
arrows = [l for l in doc.getElementsByTagName("line")
          if l.getAttribute("marker-end")]
texts = [t.firstChild.data for t in doc.getElementsByTagName("text")]
pk = [l.split("-->")[1].split()[0] for l in open(sys.argv[2]) if "-->" in l]
assert len(arrows) == len(pk), (len(arrows), len(pk))
named = [t.split()[0] for t in texts if " seq=" in t]
assert named == pk, (named, pk)
EOF
check "--svg: well-formed XML, one named arrow per packet" \
	test ! -s "$TMP/svg.out"
cat "$TMP/svg.out"

# --restart: the server that closed first holds its port in TIME_WAIT; a
# new listener needs SO_REUSEADDR.  When the client closed first, not.
restart() { # restart CLOSE: "without with" results of --restart
	"$IPK" tcp-trace --json --restart --close "$1" 2>/dev/null |
		$PY -c 'import json, sys; r = json.load(sys.stdin)["restart"]
print(r["without_reuseaddr"], "/", r["with_reuseaddr"])'
}
same "--restart after the server closed first" "$(restart server)" \
	"Address already in use / ok"
same "--restart after the client closed first" "$(restart client)" "ok / ok"

# HOST:PORT: watch a connection nc makes to a socat echo server.
PORT=$(free_port)
socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" SYSTEM:cat &
PIDS+=("$!")
"$IPK" tcp-trace "127.0.0.1:$PORT" --count 1 --json >"$TMP/watch.json" \
	2>"$TMP/watch.err" &
watch=$!
PIDS+=("$watch")
wait_text "$TMP/watch.err" watching
echo hi | nc -q1 127.0.0.1 "$PORT" >"$TMP/nc.out"
finish_watch "$watch"
same "HOST:PORT --count 1: exit status" "$?" 0
$PY - "$TMP/watch.json" <<'EOF2' >"$TMP/watch.out" 2>&1
import json, sys
t = json.load(open(sys.argv[1]))
ev = t["events"]
st = {s: [e["new"] for e in ev if e["type"] == "state" and e["side"] == s]
      for s in ("client", "server")}
assert st["client"] == ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1",
                        "FIN_WAIT2", "CLOSE"], st
assert st["server"] == ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT",
                        "LAST_ACK", "CLOSE"], st
pk = [e for e in ev if e["type"] == "packet"]
assert [e["flags"] for e in pk[:3]] == ["SYN", "SYN+ACK", "ACK"], pk[:3]
assert [e["len"] for e in pk if e["side"] == "client"].count(3) == 1
assert [e["len"] for e in pk if e["side"] == "server"].count(3) == 1
EOF2
check "HOST:PORT: nc's connection, both sides' states and the echo" \
	test ! -s "$TMP/watch.out" -a "$(cat "$TMP/nc.out")" = hi
cat "$TMP/watch.out"

# --pid: a bash process that connects to a socat echo server again and
# again (its client port new each time), beside another client whose
# connections must not show; --count 1 is one whole connection of it.
PORT=$(free_port)
socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" SYSTEM:cat &
PIDS+=("$!")
wait_port() {
	for _ in $(seq $((100 * MULT))); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.05
	done
	return 1
}
wait_port "$PORT"
# connect_loop PORT LINE: one connection every 0.2 s, LINE echoed on each.
connect_loop() {
	bash -c 'while :; do
		exec 3<>/dev/tcp/127.0.0.1/$1 || exit 1
		echo "$2" >&3; read -r -t 2 x <&3; exec 3<&-; sleep 0.2
	done' sh "$@" &
}
connect_loop "$PORT" hi
client=$!
PIDS+=("$client")
connect_loop "$PORT" noise
PIDS+=("$!")
timeout $((20 * MULT)) "$IPK" tcp-trace --pid "$client" --count 1 --json \
	>"$TMP/pid.json" 2>"$TMP/pid.err" &
watch=$!
PIDS+=("$watch")
wait "$watch"
same "--pid --count 1: exit status" "$?" 0
$PY - "$TMP/pid.json" <<'EOF2' >"$TMP/pid.out" 2>&1
import json, sys
ev = json.load(open(sys.argv[1]))["events"]
st = {s: ",".join(e["new"] for e in ev
                  if e["type"] == "state" and e["side"] == s)
      for s in ("client", "server")}
assert "SYN_SENT,ESTABLISHED,FIN_WAIT1,FIN_WAIT2,CLOSE" in st["client"], st
assert "SYN_RECV,ESTABLISHED,CLOSE_WAIT,LAST_ACK,CLOSE" in st["server"], st
pk = [e for e in ev if e["type"] == "packet"]
i = [e["flags"] for e in pk].index("SYN")
assert [e["flags"] for e in pk[i:i + 3]] == ["SYN", "SYN+ACK", "ACK"], pk
assert any(e["flags"].startswith("FIN") for e in pk[i:]), pk
lens = {e["len"] for e in pk}
assert 3 in lens and 6 not in lens, lens   # "hi\n", never "noise\n"
EOF2
check "--pid: its connection's handshake and close, both sides' states" \
	test ! -s "$TMP/pid.out"
cat "$TMP/pid.out"
check "--pid: no instance left of the watcher" \
	test ! -e "/sys/kernel/tracing/instances/ipckit-$watch"

# --pid of a listener (nc -lk): the connections made to it.
PORT=$(free_port)
nc -lk 127.0.0.1 "$PORT" >/dev/null &
lpid=$!
PIDS+=("$lpid")
wait_port "$PORT"
"$IPK" tcp-trace --pid "$lpid" --count 1 >"$TMP/lis.out" 2>"$TMP/lis.err" &
watch=$!
PIDS+=("$watch")
wait_text "$TMP/lis.err" watching
echo hi | nc -q0 127.0.0.1 "$PORT"
finish_watch "$watch"
same "--pid of a listener: exit status" "$?" 0
check "--pid of a listener: the server's states of nc's connection" \
	grep -q 'server  LAST_ACK -> CLOSE' "$TMP/lis.out"

# The process exits while watched: the watch ends, exit 0, says so.
bash -c 'sleep 1' &
short=$!
"$IPK" tcp-trace --pid "$short" >/dev/null 2>"$TMP/gone.err"
same "--pid of a process that exits: exit status" "$?" 0
check "--pid of a process that exits: says so" \
	grep -q "pid $short exited" "$TMP/gone.err"
# SIGINT ends it with 130, and the instance goes with it.
"$IPK" tcp-trace --pid "$lpid" >/dev/null 2>"$TMP/pint.err" &
watch=$!
PIDS+=("$watch")
wait_text "$TMP/pint.err" watching
kill -INT "$watch"
wait "$watch"
same "--pid, SIGINT: exit status" "$?" 130
check "--pid, SIGINT: no instance left" \
	test ! -e "/sys/kernel/tracing/instances/ipckit-$watch"
# A pid that does not exist: exit 1, one line.
dead=$(bash -c 'echo $$')
"$IPK" tcp-trace --pid "$dead" >"$TMP/nopid.out" 2>"$TMP/nopid.err"
same "--pid of no process: exit status" "$?" 1
same "--pid of no process: one line" "$(cat "$TMP/nopid.err")" \
	"ipckit: tcp-trace: pid $dead: No such process"

# The tracefs mount of our own where none is mounted (private namespace).
unshare --mount --propagation private sh -c \
	'umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null
	 "$1" tcp-trace --json' sh "$IPK" >"$TMP/own.json" 2>"$TMP/own.err"
same "own tracefs mount: exit status" "$?" 0
check "own tracefs mount: states from the tracepoint" \
	grep -q '"states":"tracepoint"' "$TMP/own.json"

# As nobody: no tracefs, no capture; states sampled with sock_diag.
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$IPK" tcp-trace --json >"$TMP/nobody.json" 2>"$TMP/nobody.err"
same "as nobody: exit status" "$?" 0
check "as nobody: says packets need CAP_NET_RAW" \
	grep -q 'CAP_NET_RAW' "$TMP/nobody.err"
$PY - "$TMP/nobody.json" <<'EOF' >"$TMP/nobody.out" 2>&1
import json, sys
t = json.load(open(sys.argv[1]))
assert t["states"] == "sampled" and t["packets"] is None
true = {"client": ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2",
                   "TIME_WAIT", "CLOSE"],
        "server": ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK",
                   "CLOSE"]}
for s, seq in true.items():
    got = [e["new"] for e in t["events"] if e["side"] == s]
    assert got and all(e["sampled"] for e in t["events"]), got
    it = iter(seq)
    assert all(g in it for g in got), (s, got)   # a subsequence
EOF
check "as nobody: sampled states, a subsequence of the true ones" \
	test ! -s "$TMP/nobody.out"
cat "$TMP/nobody.out"

# HOST:PORT as nobody: no tracepoint, no capture; the states sampled.
PORT=$(free_port)
socat "TCP-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork" SYSTEM:cat &
PIDS+=("$!")
wait_port "$PORT" # the watch starts faster than with tracefs
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$IPK" tcp-trace "127.0.0.1:$PORT" --count 1 --json \
	>"$TMP/nwatch.json" 2>"$TMP/nwatch.err" &
watch=$!
PIDS+=("$watch")
wait_text "$TMP/nwatch.err" watching
# nc shuts its side down at EOF: the sleep holds ESTABLISHED for samples
{ echo hi; sleep 0.3; } | nc -q1 127.0.0.1 "$PORT" >"$TMP/nnc.out"
finish_watch "$watch"
same "HOST:PORT as nobody --count 1: exit status" "$?" 0
check "HOST:PORT as nobody: says the states are sampled" \
	grep -q 'states sampled from sock_diag' "$TMP/nwatch.err"
$PY - "$TMP/nwatch.json" <<'EOF2' >"$TMP/nwatch.out" 2>&1
import json, sys
t = json.load(open(sys.argv[1]))
assert t["states"] == "sampled" and t["packets"] is None, t
ev = t["events"]
assert ev and all(e["type"] == "state" and e["sampled"] for e in ev), ev
true = {"client": ["SYN_SENT", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2",
                   "TIME_WAIT", "CLOSE"],
        "server": ["SYN_RECV", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK",
                   "CLOSE"]}
for s, seq in true.items():
    got = [e["new"] for e in ev if e["side"] == s]
    assert "ESTABLISHED" in got, (s, got)
    it = iter(seq)
    assert all(g in it for g in got), (s, got)   # a subsequence
EOF2
check "HOST:PORT as nobody: sampled states, a subsequence of the true ones" \
	test ! -s "$TMP/nwatch.out" -a "$(cat "$TMP/nnc.out")" = hi
cat "$TMP/nwatch.out"

# --pid as nobody, of nobody's nc listener: sampled too.
PORT=$(free_port)
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	nc -lk 127.0.0.1 "$PORT" >/dev/null &
lis=$!
PIDS+=("$lis")
wait_port "$PORT"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$IPK" tcp-trace --pid "$lis" --count 1 \
	>"$TMP/npid.out" 2>"$TMP/npid.err" &
watch=$!
PIDS+=("$watch")
wait_text "$TMP/npid.err" watching
{ echo hi; sleep 0.3; } | nc -q1 127.0.0.1 "$PORT"
finish_watch "$watch"
same "--pid as nobody --count 1: exit status" "$?" 0
check "--pid as nobody: both sides ESTABLISHED, sampled" \
	test "$(grep -c -- '-> ESTABLISHED  (sampled)' "$TMP/npid.out")" = 2
kill "$lis"

# SIGINT while --wait sits out TIME_WAIT: exit 130, instance removed.
"$IPK" tcp-trace --wait >"$TMP/int.out" 2>"$TMP/int.err" &
pid=$!
PIDS+=("$pid")
wait_text "$TMP/int.err" waiting
kill -INT "$pid"
wait "$pid"
same "SIGINT during --wait: exit status" "$?" 130

# Another tcp-trace may run on this machine meanwhile: an instance
# counts as left when its process (ipckit-PID) is gone.
left=$(for d in /sys/kernel/tracing/instances/ipckit-*; do
	[ -e "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && echo "$d"
done; ls -d /tmp/ipckit-tracefs.* 2>/dev/null
grep -c ipckit-tracefs /proc/mounts)
same "no tracefs instance or mount left" "$left" 0

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
