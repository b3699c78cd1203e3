# lib.sh - what the end-to-end scripts of tests/cli share: sourced, not
# run.  Counts results (ok, ko, check, same), finds a free loopback port and
# waits for a text in a file, stretched by $IPK_TEST_MULT.
MULT=${IPK_TEST_MULT:-1}
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # check NAME CMD...: passes when CMD succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}
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
# finish: the summary line; the exit status says whether all passed
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
}
