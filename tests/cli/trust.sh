#!/usr/bin/env bash
# trust.sh - can the ipckit command be trusted: every wait ends on
# SIGINT/SIGTERM and cleans up, a closed stdout ends recv, nothing is lost
# without a word, errors name the real cause, options and output behave
# as people expect.  Real processes and signals; times are hang guards.
# $1 = the ipckit binary, $2 = the build dir.  Prints "N passed, N
# failed"; exits 1 on a failure.
set -u

IPK=${1:?usage: trust.sh IPCKIT [BUILD_DIR]}
IPK=$(realpath "$IPK")
TMP=$(mktemp -d "/tmp/ipk-trust-$$.XXXXXX")
chmod 755 "$TMP"
PIDS=()
MQS=()
KEYS=()
pass=0 fail=0 seq=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for p in "${MQS[@]}"; do
		rm -f "/dev/mqueue/${p#/}"
	done
	for p in "${KEYS[@]}"; do
		ipcrm -Q "$p" 2>/dev/null
	done
	rm -rf -- "$TMP"
}
trap cleanup EXIT
[ -n "${KEEP_TMP:-}" ] && trap - EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # check NAME CMD...: passes when CMD succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}
has() { grep -qF -- "$2" "$1"; }          # has FILE TEXT
hasnt() { ! grep -qiF -- "$2" "$1"; }     # hasnt FILE TEXT (any case)
one_line() { [ "$(wc -l <"$1")" -eq 1 ] && has "$1" "$2"; }
gone() { [ ! -e "$1" ]; }
no_queue() { ! ipcs -q | awk '{ print $1 }' | grep -qix -- "$1"; }
has_queue() { ! no_queue "$1"; }

new() { # fresh names: $S socket, $F fifo, $Q mq, $K sysv key, $OUT, $ERR
	seq=$((seq + 1))
	S=$TMP/$seq.sock F=$TMP/$seq.fifo Q=/ipk-trust-$$-$seq
	K=$(printf '0x%08x' $(((0x3a000000 + $$ * 64 + seq) & 0x7fffffff)))
	A=ipk-trust-$$-$seq
	OUT=$TMP/$seq.out ERR=$TMP/$seq.err
	MQS+=("$Q")
	KEYS+=("$K")
}
bg() { # bg CMD...: in the background, stdout/stderr to $OUT/$ERR; sets BG
	"$@" >"$OUT" 2>"$ERR" &
	BG=$!
	PIDS+=("$BG")
}
until_true() { # until_true SECS CMD...: poll CMD every 20 ms
	local i
	for i in $(seq $(($1 * 50))); do
		"${@:2}" && return 0
		sleep 0.02
	done
	return 1
}
listening() { until_true 5 grep -q "listening on" "$ERR"; }
# finish PID [SECS]: its exit status, or 124 after killing it at SECS
finish() {
	if ! until_true "${2:-5}" eval "! kill -0 $1 2>/dev/null"; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1" 2>/dev/null
}
# stop_with SIG PID WANT NAME: the signal ends PID within 2 s with WANT
stop_with() {
	kill -"$1" "$2"
	finish "$2" 2
	local rc=$?
	check "$4: SIG$1 ends it within 2 s with $3 (got $rc)" test $rc -eq "$3"
}
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
big() { head -c "$1" /dev/zero | tr '\0' "${2:-a}"; }

if [ ! -d /dev/mqueue ] || ! mountpoint -q /dev/mqueue; then
	mkdir -p /dev/mqueue && mount -t mqueue none /dev/mqueue 2>/dev/null
fi

# === 1. every wait ends on SIGINT/SIGTERM, and cleans up =================
new
bg "$IPK" recv "fifo:$F"
listening
stop_with INT "$BG" 130 "recv listening on a FIFO"
check "... and removes its FIFO" gone "$F"
check "... and says nothing on stderr but where it listens" \
	one_line "$ERR" "listening on"

new
bg "$IPK" recv "unix:$S"
listening
stop_with TERM "$BG" 143 "recv listening on a unix socket"
check "... and removes its socket file" gone "$S"

new
bg "$IPK" send "unix:$S" --timeout -1 hello
sleep 0.3
stop_with INT "$BG" 130 "send dialling with --timeout -1, no listener"
check "... quietly" test ! -s "$ERR"

new
bg "$IPK" send --listen "unix:$S" --timeout -1 hello
until_true 5 test -S "$S"
stop_with TERM "$BG" 143 "send --listen waiting for a peer"
check "... and removes its socket file" gone "$S"

new
bg "$IPK" send --listen "mq:$Q?depth=1" --timeout -1 one two
until_true 5 test -e "/dev/mqueue/${Q#/}"
sleep 0.3
stop_with INT "$BG" 130 "send on a full mq: queue"
check "... and removes the queue it made" gone "/dev/mqueue/${Q#/}"

new
M=$(big 8000)
bg "$IPK" send --listen "sysvmsg:$K" --timeout -1 "$M" "$M" "$M"
until_true 5 has_queue "$K"
sleep 0.3
stop_with TERM "$BG" 143 "send on a full sysvmsg: queue"
check "... and removes the queue it made" no_queue "$K"

new
bg "$IPK" recv "sysvmsg:$K"
until_true 5 has_queue "$K"
stop_with INT "$BG" 130 "recv waiting on a sysvmsg: queue"
check "... and removes the queue it made" no_queue "$K"

new
bg "$IPK" recv "fifo:$F"
RP=$BG
listening
kill -STOP "$RP"
big 300000 >"$TMP/big"
OUT=$TMP/$seq.send ERR=$TMP/$seq.senderr
bg "$IPK" send "fifo:$F" --timeout -1 --file "$TMP/big"
sleep 0.5
stop_with INT "$BG" 130 "send on a full FIFO nobody reads"
kill -CONT "$RP"
stop_with TERM "$RP" 143 "... its listener"
check "... which removes its FIFO" gone "$F"

new
bg "$IPK" recv "fifo:$F"
RP=$BG
listening
sleep 30 | "$IPK" send "fifo:$F" >"$TMP/$seq.sout" 2>&1 &
SP=$!
PIDS+=("$SP")
sleep 0.3
stop_with INT "$SP" 130 "send reading stdin"
stop_with INT "$RP" 130 "... its listener"

# === 2. a closed or full stdout ends recv ==============================
# head_case NAME URL WAITCMD...: recv URL | head -1 ends once head does
head_case() {
	local name=$1 url=$2 rcf=$TMP/$seq.rc
	shift 2
	{
		"$IPK" recv "$url" 2>"$ERR"
		echo $? >"$rcf"
	} | head -1 >"$OUT" &
	PIDS+=($!)
	until_true 5 "$@"
	"$IPK" send "$url" --timeout 2000 first 2>/dev/null
	until_true 5 test -s "$OUT"
	# head has exited; no further message comes
	if until_true 3 test -s "$rcf"; then
		check "$name | head -1 ends when head does (exit $(cat "$rcf"))" \
			test "$(cat "$rcf")" -eq 0
	else
		ko "$name | head -1 still runs 3 s after head exited"
	fi
	check "... head got the message" test "$(cat "$OUT")" = first
	check "... and recv said nothing more" one_line "$ERR" "listening on"
}
new
head_case "recv unix:" "unix:$S" test -S "$S"
check "... and removed its socket" gone "$S"
new
head_case "recv sysvmsg: (no descriptor to poll)" "sysvmsg:$K" has_queue "$K"
check "... and removed its queue" until_true 2 no_queue "$K"
new
head_case "recv fifo:" "fifo:$F" test -p "$F"
check "... and removed its FIFO" gone "$F"

new
"$IPK" recv "fifo:$F" >/dev/full 2>"$ERR" &
RP=$!
PIDS+=("$RP")
until_true 5 test -p "$F"
"$IPK" send "fifo:$F" --timeout 2000 into-full 2>/dev/null
finish "$RP" 3
check "recv >/dev/full exits 1" test $? -eq 1
check "... saying so about stdout" has "$ERR" "stdout: No space left on device"
check "... not blaming the peer" hasnt "$ERR" "peer"

# === 3. nothing lost without a word ====================================
# many URL: 80 senders connected at once, each sends once they all are
many() {
	local url=$1 i rcs=$TMP/$seq.rcs
	: >"$rcs"
	for i in $(seq 80); do
		{
			{ sleep 1.5; echo "client $i"; } |
				"$IPK" send "$url" --timeout 5000 2>>"$ERR.send"
			echo $? >>"$rcs"
		} &
		PIDS+=($!)
	done
	until_true 15 test "$(wc -l <"$rcs")" -eq 80
	check "$url: 80 concurrent senders all exit 0" \
		test "$(grep -cx 0 "$rcs")" -eq 80
}
new
bg "$IPK" recv "unix:$S" -n 80
listening
many "unix:$S"
finish "$BG" 5
check "... recv -n 80 exits 0" test $? -eq 0
check "... with 80 distinct messages" \
	test "$(sort -u "$OUT" | grep -c '^client ')" -eq 80

new
bg "$IPK" recv "tcp://127.0.0.1:0" -n 80
listening
many "$(sed -n 's/.*listening on //p' "$ERR")"
finish "$BG" 5
check "... recv -n 80 exits 0" test $? -eq 0
check "... with 80 distinct messages" \
	test "$(sort -u "$OUT" | grep -c '^client ')" -eq 80

# UDP: a stopped receiver overflows; the drops are said and in --json
new
bg "$IPK" recv "udp://127.0.0.1:0" --json
listening
U=$(sed -n 's/.*listening on //p' "$ERR")
kill -STOP "$BG"
big 1000 | tr a b >"$TMP/line"
for i in $(seq 3000); do cat "$TMP/line"; echo; done |
	"$IPK" send "$U" 2>/dev/null
kill -CONT "$BG"
sleep 0.5
"$IPK" send "$U" last
until_true 3 grep -q '"text":"last"' "$OUT"
stop_with INT "$BG" 130 "recv udp:"
check "... says on stderr how many datagrams the kernel dropped" \
	grep -Eq "udp://127.0.0.1:0: the kernel dropped [1-9][0-9]* datagrams" "$ERR"
check "... and --json carries the count" \
	grep -Eq '"text":"last".*"dropped":[1-9]' "$OUT"

# --save-fds: a missing directory is an error before anything is made
new
"$IPK" recv "unix:$S" --save-fds "$TMP/nodir" >"$OUT" 2>"$ERR"
check "--save-fds into a missing directory exits 1" test $? -eq 1
check "... naming the directory" one_line "$ERR" "$TMP/nodir"
check "... before opening anything" gone "$S"

new
mkdir "$TMP/fds"
big 3000000 >"$TMP/3mb"
bg "$IPK" recv "unix:$S" -n 2 --save-fds "$TMP/fds" --save-fds-max 1000
listening
"$IPK" send "unix:$S" --fd "$TMP/3mb" capped
mkfifo "$TMP/slow.fifo"
sleep 20 >"$TMP/slow.fifo" &
PIDS+=($!)
"$IPK" send "unix:$S" --fd "$TMP/slow.fifo" endless
finish "$BG" 5
check "recv --save-fds-max: exits 0" test $? -eq 0
check "... keeps exactly 1000 bytes of a 3 MB file" \
	test "$(stat -c %s "$TMP/fds/fd-0-0" 2>/dev/null)" = 1000
check "... and says it cut" has "$ERR" "kept the first 1000 bytes"
check "... a descriptor that never ends does not hang it" \
	test -e "$TMP/fds/fd-1-0"
"$IPK" recv --help | grep -q "16 MiB"
check "recv --help gives the --save-fds-max default" test $? -eq 0

# refused connections: send does not say it sent.  The listener is held
# (SIGSTOP) while the sender connects and writes, so that the refusal
# always finds the message unread: the kernel then resets the connection.
# refused NAME URL [PREFIX...]: the sender (run under PREFIX) exits 1
refused() {
	local name=$1 url=$2 rc
	shift 2
	kill -STOP "$BG"
	"$@" "$IPK" send "$url" hello >"$OUT.x" 2>"$ERR.x" &
	local sp=$!
	PIDS+=("$sp")
	sleep 0.5
	kill -CONT "$BG"
	finish "$sp" 5
	rc=$?
	check "$name: send exits 1 (got $rc)" test $rc -eq 1
	check "... saying the listener closed without reading" \
		one_line "$ERR.x" "closed the connection without reading"
}
new
bg "$IPK" recv "unix:@$A"
listening
refused "as nobody to root's default-policy unix listener" \
	"unix:@$A?allow=any" setpriv --reuid=65534 --regid=65534 --clear-groups
"$IPK" send "unix:@$A" mine 2>"$TMP/own.err"
check "send as the listener's own user exits 0" test $? -eq 0
stop_with INT "$BG" 130 "... the listener"
check "... which got only the allowed message" test "$(cat "$OUT")" = mine
check "... and said it refused one" has "$ERR" "refused 1"

new
bg "$IPK" recv "unix:@$A?maxconn=1"
listening
{ sleep 4; echo held; } | "$IPK" send "unix:@$A" 2>/dev/null &
PIDS+=($!)
until_true 5 eval "ss -Hx state connected | grep -q '@$A '"
refused "beyond a unix listener's ?maxconn=1" "unix:@$A"
kill "$BG"
finish "$BG"

new
bg "$IPK" recv "tcp://127.0.0.1:0?maxconn=1"
listening
U=$(sed -n 's/.*listening on //p' "$ERR")
{ sleep 4; echo held; } | "$IPK" send "$U" 2>/dev/null &
PIDS+=($!)
until_true 5 eval "ss -Htn state established | grep -q ':${U##*:} '"
refused "beyond a tcp listener's ?maxconn=1" "$U"
kill "$BG"
finish "$BG"
