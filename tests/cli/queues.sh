#!/usr/bin/env bash
# queues.sh - ipckit against message-queue tools we did not write: ipcmk,
# ipcs and ipcrm (util-linux), Python's sysv_ipc; and mq: priorities seen
# through `ipckit recv --json`.  $1 = the ipckit binary, $2 = the build dir.
# Prints "N passed, N failed"; exits 1 on a failure.
set -u

IPK=${1:?usage: queues.sh IPCKIT [BUILD_DIR]}
PY=/usr/bin/python3
TMP=$(mktemp -d "/tmp/ipk-q-$$.XXXXXX")
BASE=$((0x4a000000 + ($$ & 0xffff) * 16))
MQ=/ipk-sh-$$
PIDS=()
pass=0 fail=0

cleanup() {
	local p n
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for n in $(seq 0 15); do
		ipcrm -Q $((BASE + n)) 2>/dev/null
	done
	[ -n "${MADE:-}" ] && ipcrm -q "$MADE" 2>/dev/null
	$PY -c 'import ctypes, sys
rt = ctypes.CDLL("librt.so.1")
for n in sys.argv[1:]: rt.mq_unlink(n.encode())' "$MQ-a" "$MQ-b"
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
same() { # same NAME GOT WANT
	if [ "$2" == "$3" ]; then ok "$1"; else ko "$1: got [$2], want [$3]"; fi
}
key() { printf '0x%08x' $((BASE + $1)); }
# ipcs_row KEY: "owner perms messages" of the queue at KEY, or nothing
ipcs_row() { ipcs -q | awk -v k="$1" '$1 == k { print $3, $4, $6 }'; }
wait_key() { # wait_key KEY: up to 5 s for a queue to exist at KEY
	local i
	for i in $(seq 100); do
		[ -n "$(ipcs_row "$1")" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- a queue made by ipcmk is used by ipckit ---------------------------
MADE=$(ipcmk -Q -p 0600 | awk '{ print $NF }')
K=$(ipcs -q | awk -v id="$MADE" '$2 == id { print $1 }')
"$IPK" send "sysvmsg:$K" "from ipckit" 2>"$TMP/err"
same "ipckit sends into an ipcmk queue" "$?" 0
got=$("$IPK" recv "sysvmsg:$K" --dial -n 1 --timeout 5000)
same "ipckit receives from it" "$got" "from ipckit"
ipcrm -q "$MADE"

MADE=$(ipcmk -Q | awk '{ print $NF }') # mode 0644: open to others
K=$(ipcs -q | awk -v id="$MADE" '$2 == id { print $1 }')
"$IPK" send "sysvmsg:$K" refused 2>"$TMP/err"
same "an ipcmk queue with mode 644 is refused" "$?" 1
grep -q "not permitted" "$TMP/err" && ok "with a reason" || ko "reason: $(cat "$TMP/err")"
"$IPK" send "sysvmsg:$K?share" shared 2>"$TMP/err"
same "?share opens it anyway" "$?" 0
ipcrm -q "$MADE"
MADE=

# --- ipcs shows ipckit's queue: mode 600, our owner; gone after --------
K=$(key 1)
"$IPK" recv "sysvmsg:$K" -n 1 >"$TMP/ipcs.out" 2>"$TMP/ipcs.err" &
PIDS+=($!)
if wait_key "$K"; then
	same "ipcs -q: owner, mode 600, empty" "$(ipcs_row "$K")" "$(id -un) 600 0"
else
	ko "ipcs -q never showed $K"
fi
"$IPK" send "sysvmsg:$K" bye
wait "${PIDS[-1]}"
same "the listener got the message" "$(cat "$TMP/ipcs.out")" "bye"
same "and removed its queue on exit" "$(ipcs_row "$K")" ""

# --- Python's sysv_ipc and ipckit, message types both ways -------------
K=$(key 2)
$PY - "$K" <<'EOF'
import sys, sysv_ipc
q = sysv_ipc.MessageQueue(int(sys.argv[1], 0), sysv_ipc.IPC_CREX, mode=0o600)
for t, text in ((5, b"five"), (3, b"three"), (9, b"nine"), (1, b"one")):
    q.send(text, type=t)
EOF
recv_json() { "$IPK" recv "sysvmsg:$K" --dial -n 1 --timeout 5000 --json "$@"; }
same "--type 3 selects type 3" "$(recv_json --type 3)" \
	'{"len":5,"text":"three","type":3}'
same "--type -6 takes the lowest type <= 6" "$(recv_json --type -6)" \
	'{"len":3,"text":"one","type":1}'
same "--type 0 takes the first" "$(recv_json --type 0)" \
	'{"len":4,"text":"five","type":5}'
"$IPK" send "sysvmsg:$K" --type 7 "to python"
same "ipckit send --type 7" "$?" 0
got=$($PY - "$K" <<'EOF'
import sys, sysv_ipc
q = sysv_ipc.MessageQueue(int(sys.argv[1], 0))
text, t = q.receive(type=7, block=False)
print(t, text.decode())
text, t = q.receive(block=False)
print(t, text.decode())
q.remove()
EOF
)
same "sysv_ipc receives type 7, then the rest" "$got" "7 to python
9 nine"

# --- mq: priorities through recv --json ---------------------------------
"$IPK" send "mq:$MQ-a?keep" --listen --prio 1 low 2>"$TMP/err"
same "send --listen ?keep makes the queue" "$?" 0
"$IPK" send "mq:$MQ-a" --prio 7 hi
"$IPK" send "mq:$MQ-a" plain
got=$("$IPK" recv "mq:$MQ-a" --dial -n 3 --timeout 5000 --json)
same "recv --json: highest priority first, with prio" "$got" \
	'{"len":2,"text":"hi","prio":7}
{"len":3,"text":"low","prio":1}
{"len":5,"text":"plain","prio":0}'
"$IPK" recv "mq:$MQ-b" -n 1 --json >"$TMP/mq.out" 2>"$TMP/mq.err" &
PIDS+=($!)
"$IPK" send "mq:$MQ-b" --prio 7 --timeout 5000 hi
wait "${PIDS[-1]}"
same "send --prio 7 to a listening recv" "$(cat "$TMP/mq.out")" \
	'{"len":2,"text":"hi","prio":7}'
"$IPK" send "mq:$MQ-b" --timeout 0 again 2>/dev/null
[ $? -ne 0 ] && ok "the listener unlinked its queue" || ko "mq:$MQ-b left"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
