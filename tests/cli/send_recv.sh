#!/usr/bin/env bash
# send_recv.sh - end-to-end tests of `ipckit send` and `ipckit recv` over
# fifo: real processes, real FIFOs under /tmp.  $1 = the ipckit binary,
# $2 = the build dir.  Prints "N passed, N failed"; exits 1 on a failure.
set -u

IPK=${1:?usage: send_recv.sh IPCKIT [BUILD_DIR]}
TMP=$(mktemp -d "/tmp/ipk-sr-$$.XXXXXX")
PIDS=()
pass=0 fail=0 seq=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -f /tmp/ipk-sr-$$-*.fifo
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
not_in() { ! grep -qF "$2" "$1"; }
check() { # check NAME CMD...: passes when CMD succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}
same() { # same NAME FILE EXPECTED-TEXT: the file holds exactly that text
	if [ "$(cat "$2"; echo x)" == "$3"x ]; then
		ok "$1"
	else
		ko "$1: got [$(head -c 300 "$2" | od -An -c | tr -s ' \n' ' ')]"
	fi
}
# A listening recv says on stderr where it listens; the rest is errors.
errors() { grep -v '^ipckit: recv: listening on ' "$1"; }
one_line() { # one_line FILE WORD: exactly one error line, naming WORD
	[ "$(errors "$1" | wc -l)" -eq 1 ] && errors "$1" | grep -qF -- "$2"
}
quiet() { [ -z "$(errors "$1")" ]; } # quiet FILE: no error line
gone() { [ ! -e "$1" ]; }

new_fifo() { # a fresh unique path
	seq=$((seq + 1))
	F=/tmp/ipk-sr-$$-$seq.fifo
	OUT=$TMP/$seq.out ERR=$TMP/$seq.err
}
# bg CMD...: start in the background, stdout/stderr to $OUT/$ERR; sets BG
bg() {
	"$@" >"$OUT" 2>"$ERR" &
	BG=$!
	PIDS+=("$BG")
}
# wait_fifo PATH: up to 5 s for a listener's FIFO to appear
wait_fifo() {
	local i
	for i in $(seq 100); do
		[ -p "$1" ] && return 0
		sleep 0.05
	done
	return 1
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

# --- messages from arguments, from several writers in turn ---------------
new_fifo
bg "$IPK" recv "fifo:$F" -n 3
wait_fifo "$F"
check "listener's FIFO is mode 0600" \
	test "$(stat -c %a "$F" 2>/dev/null)" = 600
"$IPK" send "fifo:$F" one two "three four"
check "send of three arguments exits 0" test $? -eq 0
finish "$BG"
check "recv -n 3 exits 0 after three messages" test $? -eq 0
same "recv prints one message per line" "$OUT" $'one\ntwo\nthree four\n'
check "recv -n 3 says only where it listens" quiet "$ERR"
check "... which is the FIFO" grep -qx "ipckit: recv: listening on fifo:$F" "$ERR"
check "recv removes its FIFO on exit" gone "$F"

new_fifo
bg "$IPK" recv "fifo:$F" -n 3 --json
wait_fifo "$F"
for w in first second third; do "$IPK" send "fifo:$F" "$w"; done
finish "$BG"
check "listener keeps receiving while writers come and go" test $? -eq 0
same "three writers in turn, in order" "$OUT" '{"len":5,"text":"first"}
{"len":6,"text":"second"}
{"len":5,"text":"third"}
'

# --- standard input, --hex ------------------------------------------------
new_fifo
bg "$IPK" recv "fifo:$F" -n 4 --hex
wait_fifo "$F"
printf 'alpha\nbeta gamma\n\nlast' | "$IPK" send "fifo:$F"
check "send from stdin exits 0" test $? -eq 0
finish "$BG"
check "recv --hex exits 0" test $? -eq 0
same "one message per stdin line, empty line and no final newline" "$OUT" \
	$'616c706861\n626574612067616d6d61\n\n6c617374\n'

# --- --file, --json ---------------------------------------------------------
new_fifo
printf 'a\0b\nc\377' >"$TMP/bin"
bg "$IPK" recv "fifo:$F" -n 1 --hex
wait_fifo "$F"
"$IPK" send "fifo:$F" --file "$TMP/bin"
check "send --file exits 0" test $? -eq 0
finish "$BG"
same "--file sends the file as one message, bytes exact" "$OUT" \
	$'6100620a63ff\n'

new_fifo
head -c 100000 /dev/zero | tr '\0' z >"$TMP/big"
bg "$IPK" recv "fifo:$F" -n 1 --json
wait_fifo "$F"
"$IPK" send "fifo:$F" --file "$TMP/big"
check "send --file of 100000 bytes (> PIPE_BUF, one writer) exits 0" \
	test $? -eq 0
finish "$BG"
check "a 100000-byte message arrives whole" \
	grep -q '^{"len":100000,"text":"zzzz*"}$' "$OUT"

new_fifo
bg "$IPK" recv "fifo:$F" -n 4 --json
wait_fifo "$F"
"$IPK" send "fifo:$F" 'say "hi"' 'back\slash' $'tab\there\nnl' ''
finish "$BG"
check "recv --json exits 0" test $? -eq 0
same "--json output is exact" "$OUT" '{"len":8,"text":"say \"hi\""}
{"len":10,"text":"back\\slash"}
{"len":11,"text":"tab\u0009here\nnl"}
{"len":0,"text":""}
'

new_fifo
bg "$IPK" recv "fifo:$F" -n 1 --json
wait_fifo "$F"
"$IPK" send "fifo:$F" $'h\xc3\xa9llo \xe2\x82\xac \xe2\x82\xac'
finish "$BG"
same "--json: valid UTF-8 as text" "$OUT" \
	$'{"len":14,"text":"h\xc3\xa9llo \xe2\x82\xac \xe2\x82\xac"}\n'

# --- ?raw: a plain shell writer ------------------------------------------
new_fifo
bg "$IPK" recv "fifo:$F?raw" -n 1
wait_fifo "$F"
echo hi >"$F"
finish "$BG"
check "recv ?raw fed by 'echo hi > FIFO' exits 0" test $? -eq 0
same "?raw prints the bytes as they are" "$OUT" $'hi\n'
check "recv ?raw removes its FIFO" gone "$F"

new_fifo
bg "$IPK" recv "fifo:$F?raw"
wait_fifo "$F"
printf 'one\ntwo\n' >"$F"
finish "$BG"
check "recv ?raw without -n ends at the writers' EOF, as cat does" \
	test $? -eq 0
same "... with every byte" "$OUT" $'one\ntwo\n'

new_fifo
bg "$IPK" recv "fifo:$F" -n 1 --json
wait_fifo "$F"
"$IPK" send "fifo:$F" $'\xff\xfe'
finish "$BG"
same "--json: other bytes as base64" "$OUT" $'{"len":2,"base64":"//4="}\n'

# A framed listener fed by a raw writer: "hell" is no sane length prefix.
new_fifo
bg "$IPK" recv "fifo:$F" -n 1
wait_fifo "$F"
echo hello >"$F"
# A writer that opens while the listener still discards loses its bytes
# too (fifo.md): send only once the listener has said what it lost.
for i in $(seq 100); do [ -n "$(errors "$ERR")" ] && break; sleep 0.05; done
"$IPK" send "fifo:$F" --timeout 2000 good
finish "$BG"
check "framed recv fed raw bytes goes on, then exits 1 (it lost one)" \
	test $? -eq 1
check "... with the next writer's message" grep -qx good "$OUT"
check "... and one line naming the endpoint, suggesting ?raw" \
	eval 'errors "$ERR" | grep -F "fifo:$F" | grep -qF "?raw"'

# --- timeouts and errors --------------------------------------------------
new_fifo
start=$(date +%s%N)
"$IPK" recv "fifo:$F" --timeout 300 >"$OUT" 2>"$ERR"
rc=$? ms=$((($(date +%s%N) - start) / 1000000))
check "recv --timeout 300 with no writer exits 1" test $rc -eq 1
check "... with one stderr line naming the endpoint" one_line "$ERR" "fifo:$F"
check "... within 3 s (took $ms ms)" test $ms -lt 3000
check "... and removes its FIFO" gone "$F"

"$IPK" recv bogus:/x >"$OUT" 2>"$ERR"
check "unknown scheme: recv exits 2 (usage)" test $? -eq 2
check "... with one line naming the endpoint" one_line "$ERR" "bogus:/x"
"$IPK" send bogus:/x hi >"$OUT" 2>"$ERR"
check "unknown scheme: send exits 2 (usage)" test $? -eq 2
check "... with one line naming the endpoint" one_line "$ERR" "bogus:/x"

new_fifo
"$IPK" recv "fifo:$F?nope=1" >"$OUT" 2>"$ERR"
check "unknown URL option exits 2 (usage)" test $? -eq 2
check "... with one line naming the endpoint" one_line "$ERR" "fifo:$F?nope=1"
check "... and creates nothing" gone "$F"

for verb in recv send; do
	"$IPK" $verb "fifo:$F" --bogus >"$OUT" 2>"$ERR"
	check "$verb --bogus exits 2 (usage)" test $? -eq 2
	check "... with one line naming the option" one_line "$ERR" "--bogus"
done
"$IPK" recv >"$OUT" 2>"$ERR"
check "recv without URL exits 2" test $? -eq 2
"$IPK" recv "fifo:$F" -n 0 >"$OUT" 2>"$ERR"
check "recv -n 0 exits 2" test $? -eq 2
# A password in a URL never reaches the terminal; rediss:// says to tunnel.
if "$IPK" --version | grep -q ' redis'; then
	"$IPK" send 'redis://u:s3cret@127.0.0.1:1/s' x >"$OUT" 2>"$ERR"
	check "redis: refused connection exits 1" test $? -eq 1
	check "... and the password is not shown" not_in "$ERR" s3cret
	check "... but the user is" grep -q 'redis://u:\*\*\*@' "$ERR"
fi
"$IPK" send 'rediss://u:s3cret@h:1/s' x >"$OUT" 2>"$ERR"
check "rediss:// exits 2" test $? -eq 2
check "... saying to tunnel, without the password" \
	sh -c "grep -q tunnel '$ERR' && ! grep -q s3cret '$ERR'"
"$IPK" recv --dial "fifo:$F" >"$OUT" 2>"$ERR"
check "recv --dial of a FIFO (a writer) exits 2" test $? -eq 2
check "... saying that recv listens on a FIFO" one_line "$ERR" "drop --dial"
"$IPK" send --listen "fifo:$F" x >"$OUT" 2>"$ERR"
check "send --listen of a FIFO (the reader) exits 2" test $? -eq 2
check "usage errors create nothing" gone "$F"

new_fifo
"$IPK" send "fifo:$F" --timeout 300 hi >"$OUT" 2>"$ERR"
check "send with no FIFO and --timeout 300 exits 1" test $? -eq 1
check "... with one stderr line naming the URL" one_line "$ERR" "fifo:$F"

new_fifo
mkfifo -m 600 "$F"
start=$(date +%s%N)
"$IPK" send "fifo:$F" --timeout 300 hi >"$OUT" 2>"$ERR"
rc=$? ms=$((($(date +%s%N) - start) / 1000000))
check "send to a FIFO without reader, --timeout 300, exits 1" test $rc -eq 1
check "... with one stderr line naming the URL" one_line "$ERR" "fifo:$F"
check "... saying it timed out" grep -qi "timed out" "$ERR"
check "... within 3 s (took $ms ms)" test $ms -lt 3000
check "... and a dialer never removes the FIFO" test -p "$F"
rm -f "$F"

# --- ownership of the path ------------------------------------------------
new_fifo
echo precious >"$F"
"$IPK" recv "fifo:$F" --timeout 300 >"$OUT" 2>"$ERR"
check "recv refuses a regular file at its path (exit 1)" test $? -eq 1
check "... naming the endpoint" one_line "$ERR" "fifo:$F"
check "... and leaves the file untouched" \
	test "$(cat "$F" 2>/dev/null)" = precious
rm -f "$F"

new_fifo
bg "$IPK" recv "fifo:$F" -n 1
first=$BG
wait_fifo "$F"
"$IPK" recv "fifo:$F" --timeout 300 >"$TMP/second.out" 2>"$TMP/second.err"
check "a second listener on a live FIFO exits 1" test $? -eq 1
check "... naming the endpoint" one_line "$TMP/second.err" "fifo:$F"
"$IPK" send "fifo:$F" still-here
finish "$first"
check "... and the first listener still works" test $? -eq 0
check "... and receives" grep -qx still-here "$OUT"

new_fifo
bg "$IPK" recv "fifo:$F"
wait_fifo "$F"
{ kill -KILL "$BG" && finish "$BG"; } 2>/dev/null
check "a listener killed by SIGKILL leaves its FIFO" test -p "$F"
bg "$IPK" recv "fifo:$F" -n 1
sleep 0.2
"$IPK" send "fifo:$F" --timeout 2000 taken-over
finish "$BG"
check "a new listener takes the stale FIFO over" test $? -eq 0
check "... and receives on it" grep -qx taken-over "$OUT"
check "... and removes it" gone "$F"

new_fifo
(umask 000 && exec "$IPK" recv "fifo:$F?keep" -n 1) >"$OUT" 2>"$ERR" &
BG=$! && PIDS+=("$BG")
wait_fifo "$F"
check "mode 0600 under umask 000" test "$(stat -c %a "$F" 2>/dev/null)" = 600
"$IPK" send "fifo:$F" kept
finish "$BG"
check "?keep: recv exits 0" test $? -eq 0
check "?keep: the FIFO stays" test -p "$F"
rm -f "$F"

new_fifo
bg "$IPK" recv "fifo:$F?max=10" -n 2
wait_fifo "$F"
"$IPK" send "fifo:$F" short "longer than ten" 2>/dev/null
# The listener discards what the writers of that moment send: the next
# writer comes once it has said so (else it could be one of them).
for i in $(seq 100); do
	grep -q "Message too long" "$ERR" && break
	sleep 0.05
done
"$IPK" send "fifo:$F" after 2>/dev/null
finish "$BG"
check "a message above ?max= is reported, recv goes on, exits 1" test $? -eq 1
check "... after printing the messages around it" \
	test "$(cat "$OUT")" = $'short\nafter'
check "... with one line naming the endpoint and ?max=" \
	test "$(grep -F "fifo:$F?max=10: Message too long" "$ERR" | grep -cF '?max=')" -eq 1
check "... and one counting the bytes it discarded" \
	grep -q "discarded [0-9]* byte" "$ERR"
check "... and the FIFO is removed" gone "$F"

# --- signals and a closed stdout -----------------------------------------
new_fifo
bg "$IPK" recv "fifo:$F"
wait_fifo "$F"
"$IPK" send "fifo:$F" before-term
sleep 0.1
kill -TERM "$BG"
finish "$BG"
check "SIGTERM ends a listening recv with exit 143" test $? -eq 143
check "... and removes its FIFO" gone "$F"
check "... after printing what came before" grep -qx before-term "$OUT"

new_fifo
bg "$IPK" recv "fifo:$F"
wait_fifo "$F"
kill -INT "$BG"
finish "$BG"
check "SIGINT ends a listening recv with exit 130" test $? -eq 130
check "... and removes its FIFO" gone "$F"

new_fifo
"$IPK" recv "fifo:$F" 2>"$ERR" > >(head -c1 >"$OUT") &
BG=$! && PIDS+=("$BG")
wait_fifo "$F"
for i in $(seq 20); do
	kill -0 "$BG" 2>/dev/null || break
	"$IPK" send "fifo:$F" --timeout 500 "message $i" 2>/dev/null
	sleep 0.05
done
finish "$BG"
rc=$?
check "recv | head -c1 ends by itself, cleanly (exit $rc)" test $rc -eq 0
check "... with nothing on stderr but where it listened" quiet "$ERR"
check "... and removes its FIFO" gone "$F"
check "... no core file" test ! -e core -a ! -e "core.$BG"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
