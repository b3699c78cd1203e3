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
mkfifo "$TMP/stdin.fifo"
sleep 30 >"$TMP/stdin.fifo" &
PIDS+=($!)
"$IPK" send "fifo:$F" <"$TMP/stdin.fifo" >"$TMP/$seq.sout" 2>&1 &
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
	until_true 15 eval "[ \$(wc -l <'$rcs') -eq 80 ]"
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
yes "$(big 1000 b)" | head -3000 | "$IPK" send "$U" 2>/dev/null
kill -CONT "$BG"
sleep 0.5
"$IPK" send "$U" last
until_true 3 grep -q '"text":"last"' "$OUT"
stop_with INT "$BG" 130 "recv udp:"
check "... says on stderr how many datagrams the kernel dropped" \
	grep -Eq "udp://127.0.0.1:0: the kernel dropped [1-9][0-9]* datagram" "$ERR"
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
new
mkfifo "$TMP/drip.fifo"
(while :; do echo drip; sleep 0.2; done) >"$TMP/drip.fifo" &
PIDS+=($!)
mkdir "$TMP/drips"
bg "$IPK" recv "unix:$S" --save-fds "$TMP/drips"
listening
"$IPK" send "unix:$S" --fd "$TMP/drip.fifo" dripping
until_true 5 test -s "$TMP/drips/fd-0-0"
stop_with INT "$BG" 130 "recv saving a descriptor that drips forever"
check "... after saving some of it" grep -q drip "$TMP/drips/fd-0-0"
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
if [ "$(id -u)" -eq 0 ]; then
	refused "as nobody to root's default-policy unix listener" \
		"unix:@$A?allow=any" \
		setpriv --reuid=65534 --regid=65534 --clear-groups
else
	echo "skip - a refused other user needs root (setpriv)"
fi
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

# === 4. errors tell the truth ==========================================
"$IPK" send "tcp://no-such-host.invalid:9000" --timeout 2000 hi 2>"$TMP/nx"
check "an unresolvable host: exit 1" test $? -eq 1
check "... says the name does not resolve" has "$TMP/nx" "does not resolve"
check "... not 'no such file'" hasnt "$TMP/nx" "no such file"

new
"$IPK" send --listen "mq:$Q?depth=1&keep" one
"$IPK" send "mq:$Q" --timeout 300 two 2>"$ERR"
check "send to a full mq: times out (exit 1)" test $? -eq 1
check "... saying the queue is full and nobody reads it" \
	one_line "$ERR" "the queue is full and nobody reads it"
check "... not 'no peer'" hasnt "$ERR" "no peer"
rm -f "/dev/mqueue/${Q#/}"

new
M=$(big 8000)
"$IPK" send --listen "sysvmsg:$K?keep" "$M" "$M"
"$IPK" send "sysvmsg:$K" --timeout 300 "$M" 2>"$ERR"
check "send to a full sysvmsg: says the queue is full" \
	one_line "$ERR" "the queue is full and nobody reads it"
ipcrm -Q "$K" 2>/dev/null

new
bg "$IPK" recv "fifo:$F"
RP=$BG
listening
kill -STOP "$RP"
"$IPK" send "fifo:$F" --timeout 300 --file "$TMP/big" 2>"$TMP/full.err"
check "a message the full FIFO took only part of by the timeout: exit 1" \
	test $? -eq 1
M=$(big 4000)
"$IPK" send "fifo:$F" --timeout 300 $(for i in $(seq 20); do echo "$M"; done) \
	2>"$TMP/full.err"
check "send to a full FIFO says the FIFO is full and nobody reads it" \
	one_line "$TMP/full.err" "the FIFO is full and nobody reads it"
kill -CONT "$RP"
kill "$RP"
finish "$RP"

new
bg "$IPK" recv "fifo:$F?max=10"
listening
"$IPK" send "fifo:$F" short "longer than ten" 2>/dev/null
"$IPK" send "fifo:$F" after 2>/dev/null
until_true 3 grep -qx after "$OUT"
stop_with TERM "$BG" 143 "recv fifo:?max=10"
check "... a message above ?max= suggests ?max=" has "$ERR" "raise ?max="
check "... and the listener goes on with the next writer" \
	test "$(cat "$OUT")" = $'short\nafter'
"$IPK" send "udp://127.0.0.1:9" "$(big 70000)" 2>"$TMP/udp.err"
check "a datagram above the kernel's limit: exit 1" test $? -eq 1
check "... without suggesting ?max=" hasnt "$TMP/udp.err" "?max="

new
"$IPK" send "tcp://127.0.0.1:99999?timout=5" hi 2>"$ERR"
check "a bad URL is wrong usage (exit 2)" test $? -eq 2
check "... naming the unknown option" one_line "$ERR" "unknown option 'timout'"
"$IPK" recv "fifo:$F?mode=999" 2>"$ERR"
check "a bad option value: exit 2" test $? -eq 2
check "... naming it" one_line "$ERR" "mode"
check "... creating nothing" gone "$F"

MADE=$(ipcmk -Q | awk '{ print $NF }') # mode 0644: open to others
MK=$(ipcs -q | awk -v id="$MADE" '$2 == id { print $1 }')
"$IPK" send "sysvmsg:$MK" x 2>"$ERR"
check "a 0644 queue is refused (exit 1)" test $? -eq 1
check "... suggesting ?share" one_line "$ERR" "?share"
ipcrm -q "$MADE"

new
"$IPK" send --listen "mq:$Q?mode=0644&keep" first
"$IPK" send "mq:$Q" x 2>"$ERR"
check "a 0644 mq: is refused (exit 1)" test $? -eq 1
check "... suggesting ?share" one_line "$ERR" "?share"
rm -f "/dev/mqueue/${Q#/}"

new
bg "$IPK" recv "unix:$S"
listening
echo hello | socat - "UNIX-CONNECT:$S" 2>/dev/null
until_true 3 grep -q "?raw" "$ERR"
check "plain text into a framed socket suggests ?raw" has "$ERR" "add ?raw"
kill "$BG"
finish "$BG"

"$IPK" >"$OUT" 2>"$ERR"
check "ipckit with no arguments exits 2" test $? -eq 2
check "... with the usage on stderr" has "$ERR" "usage: ipckit"
check "... nothing on stdout" test ! -s "$OUT"
check "... and no 'ipckit: ipckit:'" hasnt "$ERR" "ipckit: ipckit:"

# === 5. options and output as people expect ============================
new
bg "$IPK" recv -n1 --timeout=5000 "fifo:$F"
listening
"$IPK" send --timeout 2000 "fifo:$F" -- -dash 2>"$TMP/dash.err"
check "send URL -- -dash: exit 0" test $? -eq 0
finish "$BG"
check "recv -n1 --timeout=5000 URL: exit 0" test $? -eq 0
check "... got the message that begins with '-'" test "$(cat "$OUT")" = -dash

new
bg "$IPK" recv "fifo:$F" --json -n 2
listening
"$IPK" send "fifo:$F" one --timeout=2000 two
finish "$BG"
check "options after the URL and between messages" \
	test "$(grep -c '"text":"one"\|"text":"two"' "$OUT")" -eq 2
"$IPK" recv -n 0 "fifo:$F" 2>"$ERR"
check "recv -n 0 is wrong usage (exit 2)" test $? -eq 2
"$IPK" recv "fifo:$F" --timeout 2>"$ERR"
check "--timeout without a value: exit 2" test $? -eq 2
check "... naming it" one_line "$ERR" "--timeout"
for v in --version -V; do
	check "ipckit $v prints the version" \
		eval "\"$IPK\" $v | grep -Eq '^ipckit [0-9]+\.[0-9]+\.[0-9]+$'"
done

usage_case() { # usage_case NAME ARGS...: exit 2 with one line naming why
	local name=$1
	shift
	"$IPK" "$@" >"$OUT" 2>"$ERR"
	check "$name: exit 2" test $? -eq 2
	check "... with one line saying why" one_line "$ERR" "${name%% *}"
}
new
usage_case "--type only on sysvmsg:" send "fifo:$F" --type 3 x
usage_case "--prio only on mq:" send "unix:$S" --prio 3 x
usage_case "--fd only on unix sockets" send "tcp://127.0.0.1:9" --fd /etc/hosts
usage_case "--save-fds only on unix sockets" recv "fifo:$F" --save-fds "$TMP"
check "... none of them made anything" eval "gone $F && gone $S"

# --json is valid JSON for any payload
new
printf 'a\0b\377\376\nz' >"$TMP/bin"
printf '\xed\xa0\x80 surrogate' >"$TMP/sur"
bg "$IPK" recv "unix:$S" --json --peer -n 5
listening
"$IPK" send "unix:$S" --file "$TMP/bin"
"$IPK" send "unix:$S" --file "$TMP/sur"
"$IPK" send "unix:$S" 'plain "quoted" \ text' $'h\xc3\xa9 \xe2\x82\xac' $'\x01\x7f'
finish "$BG"
check "recv --json of binary payloads: exit 0" test $? -eq 0
check "... every line is valid JSON" python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 5, lines
' "$OUT"
check "... binary and invalid UTF-8 as base64 of the exact bytes" python3 -c '
import base64, json, sys
l = [json.loads(x) for x in open(sys.argv[1])]
assert base64.b64decode(l[0]["base64"]) == open(sys.argv[2], "rb").read()
assert base64.b64decode(l[1]["base64"]) == open(sys.argv[3], "rb").read()
assert "text" not in l[0] and "base64" not in l[2]
assert l[2]["text"] == "plain \"quoted\" \\ text"
assert l[3]["text"] == "h\u00e9 \u20ac" and l[4]["text"] == "\x01\x7f"
' "$OUT" "$TMP/bin" "$TMP/sur"
check "... peer is an object with pid, uid, gid" python3 -c '
import json, sys
p = json.loads(open(sys.argv[1]).readline())["peer"]
assert p["uid"] == 0 and p["pid"] > 0 and "gid" in p, p
' "$OUT"

new
bg "$IPK" recv "udp://127.0.0.1:0" --json --peer -n 1
listening
U=$(sed -n 's/.*listening on //p' "$ERR")
check "udp://127.0.0.1:0 listens on a real port" \
	eval "[[ $U =~ ^udp://127\.0\.0\.1:[1-9][0-9]*$ ]]"
"$IPK" send "$U" hi
finish "$BG"
check "... a datagram's peer is {address, port}" python3 -c '
import json, sys
p = json.loads(open(sys.argv[1]).readline())["peer"]
assert p["address"] == "127.0.0.1" and p["port"] > 0, p
' "$OUT"

new
bg "$IPK" recv "unix:@"
until_true 5 grep -q "listening on unix:@." "$ERR"
U=$(sed -n 's/.*listening on //p' "$ERR")
"$IPK" send "$U" abstract
until_true 3 grep -qx abstract "$OUT"
check "unix:@ prints the random name, and a peer can dial it" \
	grep -qx abstract "$OUT"
kill "$BG"
finish "$BG"

# ?raw ends at the peer's EOF
new
bg "$IPK" recv "unix:$S?raw"
listening
printf 'raw bytes\nno newline' | socat - "UNIX-CONNECT:$S"
finish "$BG" 3
check "recv unix:?raw ends with exit 0 at the peer's EOF" test $? -eq 0
check "... bytes as they are" test "$(cat "$OUT")" = $'raw bytes\nno newline'

# --output is byte-exact
new
bg "$IPK" recv "unix:$S" -n 2 --output "$TMP/got"
listening
"$IPK" send "unix:$S" --file "$TMP/bin"
"$IPK" send "unix:$S" --file "$TMP/sur"
finish "$BG"
cat "$TMP/bin" "$TMP/sur" >"$TMP/want"
check "recv --output writes the payloads byte for byte" \
	cmp -s "$TMP/got" "$TMP/want"
check "... and nothing to stdout" test ! -s "$OUT"

# --file on ?raw streams a file larger than any message
new
truncate -s 300M "$TMP/sparse"
printf 'end' >>"$TMP/sparse"
socat -u "UNIX-LISTEN:$S" - 2>/dev/null | md5sum >"$TMP/sum" &
PIDS+=($!)
until_true 5 test -S "$S"
"$IPK" send "unix:$S?raw" --file "$TMP/sparse" 2>"$ERR"
check "send --file of 300 MiB to unix:?raw: exit 0" test $? -eq 0
until_true 20 test -s "$TMP/sum"
check "... socat got every byte" \
	test "$(cut -d' ' -f1 "$TMP/sum")" = "$(md5sum <"$TMP/sparse" | cut -d' ' -f1)"

new
truncate -s 20M "$TMP/20m"
bg "$IPK" recv "fifo:$F"
listening
"$IPK" send "fifo:$F" --file "$TMP/20m" 2>"$TMP/20m.err"
check "send --file above the channel's max on a framed URL: exit 1" \
	test $? -eq 1
check "... saying it is above the max" one_line "$TMP/20m.err" "max"
kill "$BG"
finish "$BG"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
