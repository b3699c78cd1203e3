#!/usr/bin/env bash
# sem.sh - end-to-end tests of `ipckit sem`: the verbs on sem:/ and
# sysvsem: semaphores, `sem run` holding one exactly as long as CMD runs
# (CMD killed, ipckit killed), signals during a wait, exit statuses.
# $1 = the ipckit binary, $2 = the build dir.  Prints "N passed, N failed".
set -u

IPK=${1:?usage: sem.sh IPCKIT [BUILD_DIR]}
TMP=$(mktemp -d "/tmp/ipk-sem-$$.XXXXXX")
PIDS=()
pass=0 fail=0 seq=0

cleanup() {
	local p k
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -f /dev/shm/sem.ipk-semsh-$$-* /dev/shm/ipckit-semlock.ipk-semsh-$$-*
	for k in $(seq 0 15); do
		ipcrm -S $((0x5f000000 + ($$ & 0xffff) * 16 + k)) 2>/dev/null
	done
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # check NAME CMD...: passes when CMD succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}
status() { # status NAME WANT CMD...: passes when CMD exits with WANT
	local name=$1 want=$2 got
	shift 2
	"$@" >"$OUT" 2>"$ERR"
	got=$?
	if [ "$got" -eq "$want" ]; then ok "$name"; else
		ko "$name: exit $got, not $want: $(head -c 300 "$ERR")"
	fi
}
one_line() { # one_line FILE WORD: exactly one line, naming WORD
	[ "$(wc -l <"$1")" -eq 1 ] && grep -qF -- "$2" "$1"
}
value_is() { [ "$("$IPK" sem value "$1" 2>/dev/null)" = "$2" ]; }

next() { # fresh names: $P (sem:/), $L (sem:/ ?lock), $S (sysvsem:)
	seq=$((seq + 1))
	P="sem:/ipk-semsh-$$-$seq"
	L="sem:/ipk-semsh-$$-l$seq?lock"
	S="sysvsem:$((0x5f000000 + ($$ & 0xffff) * 16 + seq))"
	OUT=$TMP/$seq.out ERR=$TMP/$seq.err M=$TMP/$seq.mark
}
bg() { # bg CMD...: start in the background; sets BG
	"$@" >"$OUT" 2>"$ERR" &
	BG=$!
	PIDS+=("$BG")
}
# finish PID [SECS]: its exit status, or 124 after killing it at SECS
finish() {
	local i
	for i in $(seq $((${2:-5} * 20))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1" 2>/dev/null
}
wait_file() { # wait_file PATH: up to 5 s
	local i
	for i in $(seq 100); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- the verbs ------------------------------------------------------------
for kind in P S; do
	next
	U=${!kind}
	status "$kind: create prints nothing" 0 "$IPK" sem create "$U" --value 2
	check "$kind: create printed nothing" [ ! -s "$OUT" ]
	check "$kind: value prints 2" value_is "$U" 2
	status "$kind: wait" 0 "$IPK" sem wait "$U"
	status "$kind: wait --timeout 0" 0 "$IPK" sem wait "$U" --timeout 0
	check "$kind: value 0 after two P" value_is "$U" 0
	status "$kind: wait at 0 times out" 1 "$IPK" sem wait "$U" --timeout 200
	check "$kind: one line naming the URL" one_line "$ERR" "$U"
	status "$kind: post" 0 "$IPK" sem post "$U"
	check "$kind: value 1" value_is "$U" 1
	status "$kind: second create fails" 1 "$IPK" sem create "$U"
	check "$kind: ... with one line" one_line "$ERR" "exists"
	status "$kind: rm" 0 "$IPK" sem rm "$U"
	status "$kind: value after rm" 1 "$IPK" sem value "$U"
	check "$kind: ... with one line" one_line "$ERR" "$U"
done
check "sem:/ rm leaves nothing in /dev/shm" \
	bash -c "! ls /dev/shm | grep -q ipk-semsh-$$-"

next
status "usage: no verb" 2 "$IPK" sem
status "usage: no URL" 2 "$IPK" sem wait
status "usage: unknown verb" 2 "$IPK" sem frob "$P"
status "usage: --value on wait" 2 "$IPK" sem wait "$P" --value 3
status "usage: bad --timeout" 2 "$IPK" sem wait "$P" --timeout soon
status "usage: run without CMD" 2 "$IPK" sem run "$P"
status "bad option in the URL" 1 "$IPK" sem create "$P?bogus"
check "... names the URL" one_line "$ERR" "$P?bogus"
status "--help" 0 "$IPK" sem --help
check "... on stdout" grep -q "sem run URL" "$OUT"

# --- signals during a wait: 130 / 143 within a second --------------------
for kind in P S; do
	for sig in INT:130 TERM:143; do
		next
		U=${!kind}
		"$IPK" sem create "$U" --value 0
		bg "$IPK" sem wait "$U"
		sleep 0.3
		t0=$(date +%s%N)
		kill -"${sig%:*}" "$BG"
		finish "$BG" 2
		rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
		check "$kind: SIG${sig%:*} during wait exits ${sig#*:} (${ms} ms)" \
			[ "$rc" -eq "${sig#*:}" -a "$ms" -lt 1000 ]
		check "$kind: ... and took nothing" value_is "$U" 0
		"$IPK" sem rm "$U"
	done
done

# --- sem run ---------------------------------------------------------------
for kind in L S; do
	next
	U=${!kind}
	"$IPK" sem create "$U" --value 1
	status "$kind: run exits with CMD's status" 3 \
		"$IPK" sem run "$U" -- sh -c 'exit 3'
	check "$kind: ... and gave it back" value_is "$U" 1
	status "$kind: CMD killed by SIGKILL: 137" 137 \
		"$IPK" sem run "$U" -- sh -c 'kill -9 $$'
	check "$kind: ... given back" value_is "$U" 1
	bg "$IPK" sem run "$U" -- sh -c "touch $M; sleep 1"
	wait_file "$M"
	status "$kind: held while CMD runs" 1 "$IPK" sem wait "$U" --timeout 100
	finish "$BG" 5
	check "$kind: given back when CMD ends" value_is "$U" 1
	status "$kind: run after" 0 "$IPK" sem run "$U" --timeout 1000 -- true

	# ipckit killed -9 while CMD sleeps: CMD still holds it until its end.
	rm -f "$M"
	bg "$IPK" sem run "$U" -- sh -c "touch $M; sleep 1.5; touch $M.done"
	wait_file "$M"
	kill -KILL "$BG"
	wait "$BG" 2>/dev/null
	status "$kind: ipckit killed: CMD still holds it" 1 \
		"$IPK" sem wait "$U" --timeout 300
	wait_file "$M.done"
	sleep 0.2
	status "$kind: ... free once CMD ended" 0 \
		"$IPK" sem run "$U" --timeout 2000 -- true

	# A signal while run waits: 143, and CMD never ran.
	rm -f "$M"
	# (exec: a child CMD leaves behind keeps a POSIX ?lock, see the guide)
	bg "$IPK" sem run "$U" -- sh -c "touch $M; exec sleep 2"
	wait_file "$M"
	bg2=$BG
	bg "$IPK" sem run "$U" -- touch "$M.never"
	sleep 0.3
	kill -TERM "$BG"
	finish "$BG" 2
	check "$kind: SIGTERM while run waits exits 143" [ $? -eq 143 ]
	check "$kind: ... and CMD never ran" [ ! -e "$M.never" ]
	kill -TERM "$bg2"
	finish "$bg2" 5
	check "$kind: SIGTERM to run passes on to CMD (143)" [ $? -eq 143 ]
	check "$kind: free after all of it" value_is "$U" 1
	"$IPK" sem rm "$U"
done

next
"$IPK" sem create "$P"
"$IPK" sem create "$S"
status "run on a sem:/ made without ?lock" 1 "$IPK" sem run "$P" -- true
check "... says ?lock" grep -q "?lock" "$ERR"
status "run of a missing command: 127" 127 \
	"$IPK" sem run "$S?undo" -- /nonexistent/cmd
check "... and gave it back" value_is "$S" 1
"$IPK" sem rm "$P"
"$IPK" sem rm "$S"

check "nothing left in /dev/shm" \
	bash -c "! ls /dev/shm | grep -q ipk-semsh-$$-"
left=0
for k in $(seq 0 15); do
	ipcs -s | grep -qi "0x$(printf %08x $((0x5f000000 + ($$ & 0xffff) * 16 + k)))" &&
		left=1
done
check "nothing left in ipcs -s" [ $left -eq 0 ]

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
