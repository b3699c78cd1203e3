#!/usr/bin/env bash
# completion.sh - completion/ipckit.bash: sourced into a plain bash, its
# function is called as bash calls it (COMP_LINE, COMP_POINT, COMP_WORDS
# split at the default COMP_WORDBREAKS) and COMPREPLY is checked: verbs,
# options, URL schemes and paths after a colon, files, lists, and that
# every verb of `ipckit --help` is completed.
# $1 = the ipckit binary.  Exits 1 on a failure.
set -u

IPK=${1:?usage: completion.sh IPCKIT [BUILD_DIR]}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d "/tmp/ipk-comp-$$.XXXXXX")
pass=0 fail=0
trap 'rm -rf -- "$TMP"' EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
same() {
	if [ "$2" == "$3" ]; then ok "$1"; else ko "$1: got [$2], want [$3]"; fi
}

# shellcheck disable=SC1091
source "$SRC/completion/ipckit.bash" || {
	echo "FAIL - the script does not source"
	exit 1
}
COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'

# comp LINE: COMPREPLY for the cursor at the end of LINE, sorted, one line.
comp() {
	COMP_LINE=$1
	COMP_POINT=${#1}
	# COMP_WORDS as bash makes them: ':' and '=' are words of their own.
	local spaced=${1//:/ : }
	spaced=${spaced//=/ = }
	read -ra COMP_WORDS <<<"$spaced"
	[[ $1 == *' ' ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_ipckit ipckit "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort -u | tr '\n' ' ' | sed 's/ $//'
}

same "complete -F is registered" "$(complete -p ipckit 2>&1)" \
	"complete -F _ipckit ipckit"
same "verbs" "$(comp 'ipckit ')" \
	"--help --version bench limits ls recv relay rm sem send tcp-trace"
same "a verb's prefix" "$(comp 'ipckit re')" "recv relay"
same "recv options" "$(comp 'ipckit recv mq:/q --s')" \
	"--save-fds --save-fds-max"
same "send options" "$(comp 'ipckit send --')" \
	"--dial --fd --file --help --listen --prio --timeout --type"
same "bench --c" "$(comp 'ipckit bench --c')" "--count --csv"
same "schemes after send" "$(comp 'ipckit send u')" \
	"udp:// unix: unixgram: unixpacket:"
same "schemes with r" "$(comp 'ipckit recv r')" "redis://"
same "stdio: for relay" "$(comp 'ipckit relay st')" "stdio:"
same "relay's second URL" "$(comp 'ipckit relay --both stdio: tc')" "tcp://"
same "no third relay URL" "$(comp 'ipckit relay a: b: ')" ""
same "no URL after send's first" "$(comp 'ipckit send fifo:/x ')" ""
same "a value's word is no positional" \
	"$(comp 'ipckit send --timeout 5 f')" "fifo:"
same "sem verbs" "$(comp 'ipckit sem ')" "create post rm run value wait"
same "sem URLs" "$(comp 'ipckit sem wait s')" "sem: sysvsem:"
same "ls --kind list" "$(comp 'ipckit ls --kind sysvmsg,u')" \
	"sysvmsg,udp sysvmsg,unix sysvmsg,unixgram sysvmsg,unixpacket"
same "bench --only list" "$(comp 'ipckit bench --only shm')" \
	"shm shm-spin"
same "tcp-trace --close" "$(comp 'ipckit tcp-trace --close ')" \
	"both client server"
same "numbers get nothing" "$(comp 'ipckit recv -n ')" ""

mkdir -p "$TMP/dir"
: >"$TMP/report.svg"
: >"$TMP/rep two.html"
same "files for --svg" "$(comp "ipckit bench --svg $TMP/rep")" \
	"$TMP/rep two.html $TMP/report.svg"
same "--html=FILE" "$(comp "ipckit bench --html=$TMP/rep")" \
	"$TMP/rep two.html $TMP/report.svg"
same "directories for --save-fds" "$(comp "ipckit recv --save-fds $TMP/")" \
	"$TMP/dir"
# After the colon bash replaces only what follows it: the candidates
# must be the path alone.
same "paths after fifo:" "$(comp "ipckit send fifo:$TMP/d")" "$TMP/dir/"
same "paths after unix:" "$(comp "ipckit recv unix:$TMP/rep")" \
	"$TMP/rep two.html $TMP/report.svg"
MQ=ipk-comp-$$
if [ -d /dev/mqueue ] && python3 -c 'import ctypes, os, sys
rt = ctypes.CDLL("librt.so.1", use_errno=True)
fd = rt.mq_open(sys.argv[1].encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
sys.exit(fd < 0 or rt.mq_close(fd) < 0)' "/$MQ"; then
	same "mq: names from /dev/mqueue" "$(comp "ipckit recv mq:/ipk-comp-$$")" \
		"/$MQ"
	python3 -c 'import ctypes, sys
ctypes.CDLL("librt.so.1").mq_unlink(sys.argv[1].encode())' "/$MQ"
fi
same "sem run's command" "$(comp 'ipckit sem run sem:/x -- ipcki')" \
	"$(compgen -c -- ipcki | sort -u | tr '\n' ' ' | sed 's/ $//')"

# Every verb the command lists has options to offer.
for verb in $("$IPK" --help | awk '/^  [a-z-]+ / { print $1 }'); do
	got=" $(comp "ipckit $verb --h") "
	if [[ $got == *" --help "* ]]; then
		ok "'ipckit $verb' is completed"
	else
		ko "'ipckit $verb' is completed: got [$got]"
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
