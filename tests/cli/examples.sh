#!/usr/bin/env bash
# examples.sh - runs each example program of examples/ that the build made,
# checks its exit status and the lines it must print, and that it left no
# IPC object behind.  $1 = the ipckit binary (unused), $2 = the build dir.
set -u

# Examples every build has.  OPTIONAL ones run only when their binary exists:
# add the name here and its expected lines to EXPECT below.
EXAMPLES="pipe_parent_child fifo_writer_reader"
OPTIONAL="sysv_msg_types posix_mq_priorities tcp_echo_server unix_fd_passing
	shm_ring sysv_shm_sem"

# Lines each example must print (one fixed string per line, any order).
declare -A EXPECT=(
	[pipe_parent_child]='child: got "hello"
child: got "from"
child: got "the parent"
child: end of stream after 3 messages (Broken pipe)
parent: sent 3 messages'
	[fifo_writer_reader]='reader: got "message 1 of 3"
reader: got "message 2 of 3"
reader: got "message 3 of 3"
removed'
	[sysv_msg_types]='child: sent 4 messages (types 3, 1, 2, 1)
parent: --type 2 got type 2 "two"
parent: --type -3 got type 1 "first one"
parent: --type -3 got type 1 "second one"
parent: --type 0 got type 3 "three"'
	[posix_mq_priorities]='receiver: prio 9 "urgent"
receiver: prio 9 "urgent, second"
receiver: prio 5 "normal"
receiver: prio 1 "low"'
	[tcp_echo_server]='client: got "hello"'
	[unix_fd_passing]='parent: read through it: secret content'
	[shm_ring]='reader: "frame 1 written in place" (24 bytes, in the ring)
reader: "frame 2 written in place" (24 bytes, in the ring)
reader: "frame 3 written in place" (24 bytes, in the ring)
segment removed'
	[sysv_shm_sem]='child: P done, the parent said go
parent: got "hello through shmat'"'"'ed memory"'
)

BUILD=${2:?usage: examples.sh IPCKIT BUILD_DIR}
TMP=$(mktemp -d "/tmp/ipk-examples-$$.XXXXXX")
pass=0 fail=0

# Examples name what they create "ipckit-example-<pid>" (see the examples).
leftovers() {
	ls -d /tmp/ipckit-example-* /dev/shm/*ipckit-example* \
		/dev/mqueue/*ipckit-example* 2>/dev/null | sort
}

BEFORE=$(leftovers)
cleanup() {
	# Remove what an example left (only what was not there before).
	comm -13 <(echo "$BEFORE") <(leftovers) | while read -r f; do
		[ -n "$f" ] && rm -f -- "$f"
	done
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }

run_example() {
	local name=$1 bin=$BUILD/$1 out=$TMP/$1.out err=$TMP/$1.err
	local before rc line missing=""
	before=$(leftovers)
	timeout 10 "$bin" >"$out" 2>"$err"
	rc=$?
	if [ "$rc" -eq 124 ]; then
		ko "$name: did not finish within 10 s"
	elif [ "$rc" -ne 0 ]; then
		ko "$name: exit status $rc (stderr: $(head -c 300 "$err"))"
	else
		ok "$name: exit status 0"
	fi
	while IFS= read -r line; do
		[ -z "$line" ] && continue
		grep -qF -- "$line" "$out" || missing="$missing [$line]"
	done <<<"${EXPECT[$name]:-}"
	if [ -z "$missing" ]; then
		ok "$name: expected output"
	else
		ko "$name: missing output lines:$missing"
	fi
	local left
	left=$(comm -13 <(echo "$before") <(leftovers))
	# The FIFO example names its path; it must be gone too.
	local fifo
	fifo=$(sed -n 's/^reader: listening on \(.*\)$/\1/p' "$out")
	if [ -n "$fifo" ] && [ -e "$fifo" ] && [[ " $left " != *" $fifo "* ]]; then
		left="$left $fifo"
	fi
	if [ -z "${left// /}" ]; then
		ok "$name: left nothing behind"
	else
		ko "$name: left behind:$(echo $left)"
	fi
}

for ex in $EXAMPLES; do
	if [ -x "$BUILD/$ex" ]; then
		run_example "$ex"
	else
		ko "$ex: $BUILD/$ex was not built"
	fi
done
for ex in $OPTIONAL; do
	[ -x "$BUILD/$ex" ] && run_example "$ex"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
