#!/usr/bin/env bash
# redis.sh - the command with redis:// unchanged, against redis-servers
# this script starts on free loopback ports (and always stops): send and
# recv through a group, the relay exporting an mq: queue to a stream read
# back by redis-cli, redis-cli XADD read by ipckit recv, and a password
# kept out of ipckit's messages and, through REDISCLI_AUTH, out of ps.
# $1 = the ipckit binary, $2 = the build dir.  Registered only with hiredis.
# Prints "N passed, N failed"; exits 1 on a failure.
set -u

IPK=${1:?usage: redis.sh IPCKIT [BUILD_DIR]}
source "$(dirname "$0")/lib.sh"
TMP=$(mktemp -d "/tmp/ipk-redis-$$.XXXXXX")
MQ=/ipk-redis-$$
PW=s3cret-$$
PIDS=()

cleanup() {
	[ ${#PIDS[@]} -gt 0 ] && kill -KILL "${PIDS[@]}" 2>/dev/null
	wait 2>/dev/null
	rm -f "/dev/mqueue$MQ" # leaks.sh has mounted it where it can
	[ -n "${KEEP_TMP:-}" ] || rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# server NAME [ARGS...]: a redis-server in $TMP/NAME; sets PORT
server() {
	local dir=$TMP/$1 i
	shift
	mkdir -p "$dir"
	PORT=$(free_port)
	redis-server --port "$PORT" --bind 127.0.0.1 --dir "$dir" --save '' \
		--logfile "$dir/log" --daemonize no "$@" &
	PIDS+=($!)
	for i in $(seq $((100 * MULT))); do
		redis-cli -p "$PORT" ping 2>/dev/null | grep -q -e PONG -e NOAUTH &&
			return 0
		sleep 0.05
	done
	echo "redis-server did not start on $PORT" >&2
	exit 1
}
rcli() { redis-cli -p "$PORT" "$@"; }

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "redis-server and redis-cli are needed (scripts/deps.sh)" >&2
	exit 1
fi

server plain
U=redis://127.0.0.1:$PORT

# send and recv: the receiver makes the group, the sender waits for one.
"$IPK" recv "$U/orders?group=workers" -n 1 >"$TMP/r1" 2>"$TMP/r1.err" &
R=$!
PIDS+=($R)
wait_for "$TMP/r1.err" "listening on" || ko "recv did not start"
"$IPK" send "$U/orders" hello 2>"$TMP/s1.err"
same "send redis:// exits 0" "$?" 0
wait "$R"
same "recv -n 1 exits 0" "$?" 0
same "recv -n 1 prints the message" "$(cat "$TMP/r1")" hello
same "the message acknowledged on exit" \
	"$(rcli XPENDING orders workers | head -1)" 0

# The relay exports a local queue to a stream a redis-cli consumer reads.
rcli XGROUP CREATE relayed cli '$' MKSTREAM >/dev/null
"$IPK" relay "mq:$MQ" "$U/relayed" 2>"$TMP/relay.err" &
RL=$!
PIDS+=($RL)
wait_for "$TMP/relay.err" "listening on" || ko "relay did not start"
printf 'one\ntwo\n' | "$IPK" send "mq:$MQ"
same "send into the relay's queue exits 0" "$?" 0
for i in $(seq $((100 * MULT))); do
	[ "$(rcli XLEN relayed)" == 2 ] && break
	sleep 0.05
done
got=$(rcli XREADGROUP GROUP cli c1 COUNT 10 STREAMS relayed '>' |
	grep -v -e '^relayed$' -e '-' -e '^m$')
same "redis-cli XREADGROUP reads what the relay wrote" "$got" \
	"$(printf 'one\ntwo')"
kill -TERM "$RL"
wait "$RL"
same "relay: SIGTERM, exit 143" "$?" 143
[ -e "/dev/mqueue$MQ" ] && ko "the relay left mq:$MQ" ||
	ok "the relay removed its queue"

# What redis-cli XADD writes (field m) ipckit recv receives.
rcli XADD orders '*' m 'from redis-cli' >/dev/null
out=$(timeout $((10 * MULT)) "$IPK" recv "$U/orders?group=workers" -n 1 2>/dev/null)
same "ipckit recv reads redis-cli XADD" "$out" "from redis-cli"
rcli XADD orders '*' other 'first field' >/dev/null
out=$(timeout $((10 * MULT)) "$IPK" recv "$U/orders?group=workers" -n 1 2>/dev/null)
same "an entry without m: its first field" "$out" "first field"

# ipckit bench --only redis: the ipckit row and its raw row against the
# --redis server, whose streams it deletes; without --redis, a server of
# its own, stopped at the end.
"$IPK" bench --only redis --redis "$U" --quick --rtts 500 --count 2000 \
	>"$TMP/bench" 2>"$TMP/bench.err"
same "bench --only redis --redis URL exits 0" "$?" 0
same "bench: an ipckit row and a raw row" \
	"$(grep -c -e '^redis ' -e '^  raw ' "$TMP/bench")" 2
same "bench leaves no streams behind" \
	"$(rcli --scan --pattern 'ipk-bench-*' | wc -l)" 0
own() { pgrep -f -- '--dir /tmp/ipk-bench-redis-' | wc -l; }
before=$(own)
"$IPK" bench --only redis --quick --rtts 500 --count 2000 >"$TMP/bench2" 2>&1
same "bench --only redis with a server of its own exits 0" "$?" 0
same "bench stopped the server it started" "$(own)" "$before"
"$IPK" bench --only redis --redis "redis://127.0.0.1:$(free_port)" --quick \
	>"$TMP/bench3" 2>&1
# The row is left out, so the command ends as for an unknown name (2).
same "bench --redis with no server there exits 2" "$?" 2
grep -q "no server answers at --redis URL" "$TMP/bench3" &&
	ok "bench says no server answers" || ko "bench3: $(cat "$TMP/bench3")"

# A password: never in ipckit's own lines, right or wrong.
server auth --requirepass "$PW"
A=redis://default:$PW@127.0.0.1:$PORT
"$IPK" recv "$A/p?group=g" -n 1 >"$TMP/r2" 2>"$TMP/r2.err" &
R=$!
PIDS+=($R)
wait_for "$TMP/r2.err" "listening on" || ko "recv with a password did not start"
"$IPK" send "$A/p" secret-ok 2>"$TMP/s2.err"
same "send with a password exits 0" "$?" 0
wait "$R"
same "recv with a password gets it" "$(cat "$TMP/r2")" secret-ok
"$IPK" send "redis://default:wrong-$PW@127.0.0.1:$PORT/p" x 2>"$TMP/s3.err"
same "a wrong password exits 1" "$?" 1
grep -q "Permission denied" "$TMP/s3.err" && ok "a wrong password says so" ||
	ko "a wrong password: $(cat "$TMP/s3.err")"
"$IPK" relay "mq:$MQ" "$A/p" 2>"$TMP/relay2.err" &
RL=$!
PIDS+=($RL)
wait_for "$TMP/relay2.err" "listening on" || ko "relay with a password did not start"
kill -TERM "$RL"
wait "$RL"
grep -q "listening on redis://default:\*\*\*@" "$TMP/r2.err" &&
	ok "recv's listening line shows ***" || ko "r2: $(cat "$TMP/r2.err")"
for f in r2.err s2.err s3.err relay2.err; do
	grep -q -e "$PW" "$TMP/$f" && ko "$f shows the password: $(cat "$TMP/$f")" ||
		ok "$f keeps the password out"
done

# REDISCLI_AUTH keeps it out of ps too (a password in the URL is in argv).
REDISCLI_AUTH=$PW "$IPK" recv "redis://127.0.0.1:$PORT/p?group=g" -n 1 \
	>"$TMP/r3" 2>"$TMP/r3.err" &
R=$!
PIDS+=($R)
wait_for "$TMP/r3.err" "listening on" || ko "recv with REDISCLI_AUTH did not start"
if ps -eo args= | grep -F -e "$PW" | grep -v -e redis-server -e grep -q; then
	ko "ps shows the password: $(ps -eo args= | grep -F -e "$PW")"
else
	ok "ps shows no password with REDISCLI_AUTH"
fi
REDISCLI_AUTH=$PW "$IPK" send "redis://127.0.0.1:$PORT/p" via-env
same "send with REDISCLI_AUTH exits 0" "$?" 0
wait "$R"
same "recv with REDISCLI_AUTH gets it" "$(cat "$TMP/r3")" via-env

finish
