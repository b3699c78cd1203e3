#!/usr/bin/env bash
# ls.sh - `ipckit ls` and `ipckit rm` against tools we did not write
# (ipcmk, ipcs, Python's sysv_ipc) and against owners killed with -9.
# Runs in its own IPC and mount namespaces (private /tmp, /dev/shm and
# /dev/mqueue), so that rm --stale can only meet what this test made and
# everything made here vanishes with the namespace, even on a failure.
# $1 = the ipckit binary, $2 = the build dir.  Exits 1 on a failure.
set -u

IPK=${1:?usage: ls.sh IPCKIT [BUILD_DIR]}
BUILD=${2:-$(dirname "$IPK")}
PY=/usr/bin/python3

if [ -z "${IPK_LS_INSIDE:-}" ]; then
	if [ "$(id -u)" != 0 ] || ! unshare --ipc --mount true 2>/dev/null; then
		echo "skip - ls.sh needs root for its private namespaces"
		exit 0
	fi
	exec env IPK_LS_INSIDE=1 unshare --ipc --mount --propagation private \
		bash "$0" "$IPK" "$BUILD"
fi

# In the namespaces: keep the binaries, then hide the host's /tmp.
mount -t tmpfs -o mode=1777 none /dev/shm || exit 1
mount -t mqueue none /dev/mqueue || exit 1
BIN=/dev/shm/.ipk-bin
mkdir -p "$BIN" && cp "$IPK" "$BIN/ipckit" &&
	cp -L "$BUILD/libipckit.so" "$BIN/libipckit.so" || exit 1
mount -t tmpfs -o mode=1777 none /tmp || exit 1
# Root's ls also reads the records under /run/user: none but ours here.
[ -d /run/user ] && { mount -t tmpfs -o mode=0755 none /run/user || exit 1; }
unset XDG_RUNTIME_DIR
IPK=$BIN/ipckit
TMP=$(mktemp -d /tmp/ipk-ls.XXXXXX)
PIDS=()
pass=0 fail=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # check NAME CMD...: CMD must succeed
	local name=$1
	shift
	if "$@"; then ok "$name"; else ko "$name"; fi
}
same() { # same NAME GOT WANT
	if [ "$2" == "$3" ]; then ok "$1"; else ko "$1: got [$2], want [$3]"; fi
}
MULT=${IPK_TEST_MULT:-1}
wait_for() { # wait_for CMD...: up to 10 s x MULT for CMD to succeed
	local i
	for i in $(seq $((200 * MULT))); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}
gone() { # gone PID...: none of them runs any more
	local p
	for p in "$@"; do
		[ -d "/proc/$p" ] && return 1
	done
	return 0
}
ls_urls() { # ls_urls [ARGS]: the sorted URLs of `ls --json ARGS`
	"$IPK" ls --json "$@" | $PY -c 'import json, sys
for o in json.load(sys.stdin): print(o["url"])' | sort
}
state_of() { # state_of URL: its state in `ls --json`
	"$IPK" ls --json | $PY -c 'import json, sys
for o in json.load(sys.stdin):
    if o["url"] == sys.argv[1]: print(o["state"])' "$1"
}
has_url() { ls_urls | grep -qxF "$1"; }

# --- SysV figures are those of ipcs ------------------------------------
Q=$(ipcmk -Q -p 0640 | awk '{ print $NF }')
M=$(ipcmk -M 12345 -p 0600 | awk '{ print $NF }')
S=$(ipcmk -S 3 -p 0604 | awk '{ print $NF }')
$PY - "$TMP/py.ready" <<'EOF' &
import sys, time, sysv_ipc
q = sysv_ipc.MessageQueue(0x4a5a0001, sysv_ipc.IPC_CREX, mode=0o600)
q.send(b"hello"); q.send(b"sysv_ipc!", type=2)
m = sysv_ipc.SharedMemory(0x4a5a0002, sysv_ipc.IPC_CREX, mode=0o640,
                          size=8192)  # attached: nattch 1
s = sysv_ipc.Semaphore(0x4a5a0003, sysv_ipc.IPC_CREX, mode=0o600)
open(sys.argv[1], "w").close()
time.sleep(600)
EOF
PIDS+=($!)
wait_for test -e "$TMP/py.ready"
"$IPK" ls --json >"$TMP/ls.json"
check "ls --json is valid JSON" $PY -m json.tool "$TMP/ls.json" >/dev/null
ipcs -q >"$TMP/ipcs.q"
ipcs -m >"$TMP/ipcs.m"
ipcs -s >"$TMP/ipcs.s"
$PY - "$TMP" >"$TMP/cmp" 2>&1 <<'EOF'
import json, sys
d = sys.argv[1]
ls = json.load(open(d + "/ls.json"))
def rows(f, cols):
    out = {}
    for line in open(d + "/" + f):
        p = line.split()
        if p and p[0].startswith("0x"):
            out[int(p[1])] = tuple(p[i] for i in cols)
    return out
want = {"sysvmsg": rows("ipcs.q", (0, 2, 3, 4, 5)),
        "sysvshm": rows("ipcs.m", (0, 2, 3, 4, 5)),
        "sysvsem": rows("ipcs.s", (0, 2, 3, 4))}
fig = {"sysvmsg": ("bytes", "messages"), "sysvshm": ("bytes", "nattch"),
       "sysvsem": ("nsems",)}
bad = 0
for kind, rows_ in want.items():
    got = {o["id"]: ("0x%08x" % o["key"], o["user"], "%o" % o["mode"])
           + tuple(str(o[f]) for f in fig[kind])
           for o in ls if o["kind"] == kind}
    if got != rows_:
        print(kind, "ls:", got, "ipcs:", rows_); bad = 1
    elif len(got) < 2:
        print(kind, "too few objects:", got); bad = 1
sys.exit(bad)
EOF
check "ls --json figures equal ipcs for ipcmk and sysv_ipc objects" \
	test $? = 0
[ -s "$TMP/cmp" ] && cat "$TMP/cmp"
same "the sysv_ipc queue holds 2 messages, 14 bytes" \
	"$(ipcs -q | awk '$1 == "0x4a5a0001" { print $5, $6 }')" "14 2"
"$IPK" ls >"$TMP/ls.txt"
same "plain ls fits 100 columns" \
	"$(awk 'length($0) >= 100' "$TMP/ls.txt" | wc -l)" 0
check "plain ls lists the ipcmk queue" grep -q "^sysvmsg .*0x" "$TMP/ls.txt"
same "--kind picks rows" "$(ls_urls --kind sysvsem | wc -l)" 2
same "an empty listing is []" "$("$IPK" ls --json --kind udp --user 4242)" "[]"
touch "$(printf '/dev/shm/ipk-\377-"q"\n')"
"$IPK" ls --json --kind shm >"$TMP/odd.json"
check "a name that is not UTF-8 still gives valid JSON" \
	$PY -m json.tool "$TMP/odd.json" >/dev/null
same "... with the odd bytes escaped" "$($PY -c 'import json, sys
print(*[o["name"] for o in json.load(open(sys.argv[1]))])' "$TMP/odd.json")" \
	"$(printf '/ipk-\u00ff-"q"\n')"
rm -f /dev/shm/ipk-*
"$IPK" ls --kind sysvmsg --stale --json >"$TMP/none.json"
same "objects without a record are never stale" "$(cat "$TMP/none.json")" "[]"

# --- rm as nobody is refused on root's objects -------------------------
K=$(ipcs -q | awk -v id="$Q" '$2 == id { print $1 }')
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
"${NOBODY[@]}" "$IPK" rm "sysvmsg:$K" 2>"$TMP/err"
same "rm as nobody of root's queue exits 1" "$?" 1
check "... naming the owner" grep -q "belongs to user root" "$TMP/err"
same "... in one line" "$(wc -l <"$TMP/err")" 1
"${NOBODY[@]}" "$IPK" rm --force "sysvmsg:$K" 2>"$TMP/err"
same "rm --force as nobody: the kernel refuses, exit 1" "$?" 1
check "root's queue is still there" has_url "sysvmsg:$K"
"${NOBODY[@]}" "$IPK" sem create sem:/ipk-ls-nobody
"$IPK" rm sem:/ipk-ls-nobody 2>"$TMP/err"
same "root's rm of nobody's semaphore is refused" "$?" 1
check "... naming its owner" grep -q "belongs to user nobody" "$TMP/err"
"$IPK" rm --force sem:/ipk-ls-nobody >/dev/null
same "... and --force removes it" "$?" 0
check "... for good" test ! -e /dev/shm/sem.ipk-ls-nobody
"$IPK" rm --dry-run "sysvmsg:$K" >/dev/null
check "--dry-run removes nothing" has_url "sysvmsg:$K"
"$IPK" rm "sysvmsg:$K" >/dev/null
same "rm of an idle queue exits 0" "$?" 0
check "... and it is gone" test -z "$(ipcs -q | awk -v id="$Q" '$2 == id')"
"$IPK" rm "sysvshm:0x4a5a0002" 2>"$TMP/err"
same "rm refuses an attached segment" "$?" 1
check "... saying it is in use" grep -q "in use" "$TMP/err"
ipcrm -m "$M" -s "$S"
SOCAT=$(sh -c 'socat UNIX-LISTEN:"$1" /dev/null >/dev/null 2>&1 & echo $!' \
	sh "$TMP/socat.sock")
PIDS+=("$SOCAT")
wait_for test -S "$TMP/socat.sock"
"$IPK" rm "unix:$TMP/socat.sock" 2>"$TMP/err"
same "rm refuses a socket another program listens on" "$?" 1
check "... whose file stays" test -S "$TMP/socat.sock"
kill -KILL "$SOCAT"
wait_for gone "$SOCAT"
"$IPK" rm "unix:$TMP/socat.sock" >/dev/null
same "rm of the socket file its listener left exits 0" "$?" 0
check "... and removes it" test ! -e "$TMP/socat.sock"
"$IPK" rm 2>/dev/null
same "rm without URL is a usage error" "$?" 2
"$IPK" rm --bogus x 2>/dev/null
same "rm --bogus is a usage error" "$?" 2
"$IPK" ls extra 2>/dev/null
same "ls with an argument is a usage error" "$?" 2
"$IPK" ls --kind mq,bogus 2>"$TMP/err"
same "ls --kind with an unknown kind is a usage error" "$?" 2
check "... naming it" grep -q "unknown kind 'bogus'" "$TMP/err"
"$IPK" rm mq:/ipk-none 2>"$TMP/err"
same "rm of nothing exits 1" "$?" 1

# --- a forged record of nobody's cannot make root's FIFO stale ---------
mkfifo -m 0600 "$TMP/root.fifo"
"${NOBODY[@]}" sh -c 'mkdir -p -m 0700 /tmp/ipckit-65534/owners &&
	printf "kind=fifo\nurl=fifo:%s\nobject=%s\nid=-1\nid2=-1\nino=%s\npid=1\nstart=0\nuid=65534\n" \
	"$1" "$1" "$2" >/tmp/ipckit-65534/owners/fifo-forged' sh "$TMP/root.fifo" \
	"$(stat -c %i "$TMP/root.fifo")"
check "nobody planted a record naming root's FIFO" \
	test -s /tmp/ipckit-65534/owners/fifo-forged
"$IPK" rm --stale >"$TMP/rm.out"
check "root's rm --stale leaves root's FIFO alone" test -p "$TMP/root.fifo"
rm -f -- "$TMP/root.fifo"

# --- stale after kill -9, for every kind -------------------------------
# A sanitizer build's library needs its runtimes loaded first in Python.
PRELOAD=$(ldd "$BIN/libipckit.so" | awk '/lib(asan|ubsan)/ { printf "%s ", $3 }')
# listen KIND URL: an owner of URL in the background, its pid in LAST
# (not a job of this shell, so that its kill -9 goes unannounced).
listen() {
	local run=("$IPK" recv "$2" --timeout 600000)
	[ "$1" = sem ] && run=(env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0 $PY -c 'import ctypes, sys, time
lib = ctypes.CDLL(sys.argv[1]); p = ctypes.c_void_p()
rc = lib.ipk_sem_create(sys.argv[2].encode(), 1, ctypes.byref(p))
sys.exit(1) if rc else time.sleep(600)' "$BIN/libipckit.so" "$2")
	LAST=$(sh -c '"$@" >/dev/null 2>&1 & echo $!' sh "${run[@]}")
	PIDS+=("$LAST")
}
declare -A DEAD LIVE
for v in dead live; do
	listen fifo "fifo:$TMP/f-$v"
	eval "${v^^}[fifo:$TMP/f-$v]=$LAST"
	listen unix "unix:$TMP/u-$v"
	eval "${v^^}[unix:$TMP/u-$v]=$LAST"
	listen mq "mq:/ipk-ls-$v"
	eval "${v^^}[mq:/ipk-ls-$v]=$LAST"
	listen shm "shm:/ipk-ls-$v"
	eval "${v^^}[shm:/ipk-ls-$v]=$LAST"
	n=$([ $v = dead ] && echo 1 || echo 2)
	listen sysvmsg "sysvmsg:0x4a5b000$n"
	eval "${v^^}[sysvmsg:0x4a5b000$n]=$LAST"
	listen sysvshm "sysvshm:0x4a5c000$n"
	eval "${v^^}[sysvshm:0x4a5c000$n]=$LAST"
	listen sem "sem:/ipk-ls-$v"
	eval "${v^^}[sem:/ipk-ls-$v]=$LAST"
	listen sem "sysvsem:0x4a5d000$n"
	eval "${v^^}[sysvsem:0x4a5d000$n]=$LAST"
done
all_live() { # all_live URL...: each is listed, and live
	local u
	for u in "$@"; do
		[ "$(state_of "$u")" = live ] || return 1
	done
}
check "every owner's object is listed live" \
	wait_for all_live "${!DEAD[@]}" "${!LIVE[@]}"
for u in "${!DEAD[@]}"; do
	kill -KILL "${DEAD[$u]}"
done
wait_for gone "${DEAD[@]}"
want=$(printf '%s\n' "${!DEAD[@]}" sysvsem:0x4a5c0001 | sort)
same "ls --stale lists exactly the killed owners' objects" \
	"$(ls_urls --stale)" "$want"
"$IPK" ls --stale >"$TMP/stale.txt"
check "... each with the reason" \
	test "$(grep -c 'stale: pid [0-9]* is gone' "$TMP/stale.txt")" = 9
"$IPK" rm --stale --dry-run >"$TMP/dry"
same "rm --stale --dry-run removes nothing" "$(ls_urls --stale)" "$want"
"$IPK" rm --stale >"$TMP/rm.out"
same "rm --stale exits 0" "$?" 0
same "rm --stale names exactly those (the set with its segment)" \
	"$(awk '$1 == "removed" { print $2 }' "$TMP/rm.out" | sort)" \
	"$(printf '%s\n' "${!DEAD[@]}" | sort)"
check "... with the reason" grep -q "^removed fifo:.*(pid [0-9]* is gone)" \
	"$TMP/rm.out"
same "nothing is stale any more" "$(ls_urls --stale)" ""
left=""
for u in "${!DEAD[@]}" sysvsem:0x4a5c0001; do
	has_url "$u" && left="$left $u"
done
same "the killed owners' objects are gone" "$left" ""
check "every live owner's object is untouched and live" \
	all_live "${!LIVE[@]}"
"$IPK" rm "mq:/ipk-ls-live" 2>"$TMP/err"
same "rm refuses a live owner's queue" "$?" 1
check "... saying who holds it" grep -q "pid [0-9]* holds it" "$TMP/err"
check "... which is still there" has_url "mq:/ipk-ls-live"

# --- a mapping is a holder, with no descriptor left --------------------
pids_of() { # pids_of URL: the pids `ls --json` gives as its holders
	"$IPK" ls --json | $PY -c 'import json, sys
for o in json.load(sys.stdin):
    if o["url"] == sys.argv[1]: print(*o["pids"])' "$1"
}
M=$(ipcmk -M 4096 -p 0600 | awk '{ print $NF }')
MK=$(ipcs -m | awk -v id="$M" '$2 == id { print $1 }')
# Not a job of this shell, so that its kill -9 goes unannounced.
MAPPER=$(sh -c '"$@" >/dev/null 2>&1 & echo $!' sh $PY -c 'import mmap, os, sys, time, sysv_ipc
fd = os.open("/dev/shm/ipk-ls-map", os.O_CREAT | os.O_RDWR, 0o600)
os.ftruncate(fd, 4096)
m = mmap.mmap(fd, 4096)
os.close(fd)  # only the mapping is left
seg = sysv_ipc.attach(int(sys.argv[2]))
open(sys.argv[1], "w").close()
time.sleep(600)' "$TMP/map.ready" "$M")
PIDS+=("$MAPPER")
wait_for test -e "$TMP/map.ready"
same "a mapped POSIX segment whose fd was closed names its mapper" \
	"$(pids_of shm:/ipk-ls-map)" "$MAPPER"
same "an attached SysV segment names the process attached" \
	"$(pids_of "sysvshm:$MK")" "$MAPPER"
"$IPK" rm shm:/ipk-ls-map 2>"$TMP/err"
same "rm refuses the mapped segment" "$?" 1
check "... saying who uses it" grep -q "in use by pid $MAPPER" "$TMP/err"
check "... which is still there" test -e /dev/shm/ipk-ls-map
kill -KILL "$MAPPER"
wait_for gone "$MAPPER"
same "once its mapper is gone, no holder" "$(pids_of shm:/ipk-ls-map)" ""
rm -f /dev/shm/ipk-ls-map
ipcrm -m "$M"

# --- rm sysvshm: without a record removes the segment and its set ------
has_set() { test -n "$(ipcs -s | awk -v k="$1" '$1 == k')"; }
touch "$TMP/no-rec"
XDG_RUNTIME_DIR=$TMP/no-rec listen sysvshm sysvshm:0x4a5e0001
check "a sysvshm listener without a record has its segment and set" \
	wait_for has_set 0x4a5e0001
"$IPK" rm sysvshm:0x4a5e0001 2>/dev/null
same "rm refuses the pair while its listener is attached" "$?" 1
kill -KILL "$LAST"
wait_for gone "$LAST"
"$IPK" rm sysvshm:0x4a5e0001 >/dev/null
same "rm of the killed listener's ring exits 0" "$?" 0
same "... and neither its segment nor its set is left" \
	"$(ipcs -m -s | awk '$1 == "0x4a5e0001"')" ""
"${NOBODY[@]}" $PY -c 'import sysv_ipc
sysv_ipc.Semaphore(0x4a5e0002, sysv_ipc.IPC_CREX, mode=0o600)'
$PY -c 'import sysv_ipc
sysv_ipc.SharedMemory(0x4a5e0002, sysv_ipc.IPC_CREX, mode=0o600).detach()'
"$IPK" rm sysvshm:0x4a5e0002 2>"$TMP/err"
same "rm refuses a segment whose set is another user's" "$?" 1
check "... naming the set's owner" grep -q "belongs to user nobody" "$TMP/err"
same "... and leaves both" \
	"$(ipcs -m -s | awk '$1 == "0x4a5e0002"' | wc -l)" 2
"$IPK" rm --force sysvshm:0x4a5e0002 >/dev/null
same "rm --force removes both" "$(ipcs -m -s | awk '$1 == "0x4a5e0002"')" ""

# --- fork and exec: what the guide says of the OFD lock ------------------
# owner MODE URL: ipk_listen(URL) in Python, then MODE: "fork" leaves a
# child holding the channel and exits; "exec" becomes sleep(1).
owner() {
	sh -c '"$@" >/dev/null 2>&1 & echo $!' sh env LD_PRELOAD="$PRELOAD" \
		ASAN_OPTIONS=detect_leaks=0 $PY -c 'import ctypes, os, sys, time
lib = ctypes.CDLL(sys.argv[1]); p = ctypes.c_void_p()
if lib.ipk_listen(sys.argv[3].encode(), ctypes.byref(p)): sys.exit(1)
if sys.argv[2] == "exec": os.execv("/bin/sleep", ["sleep", "600"])
if os.fork() == 0: time.sleep(600)
os._exit(0)' "$BIN/libipckit.so" "$1" "$2"
}
reason_of() { # reason_of URL: its reason in `ls --json`
	"$IPK" ls --json | $PY -c 'import json, sys
for o in json.load(sys.stdin):
    if o["url"] == sys.argv[1]: print(o["reason"])' "$1"
}
P=$(owner fork mq:/ipk-ls-fork)
check "a listener that forked and exited..." wait_for gone "$P"
check "... is live while its child holds the channel" \
	wait_for has_url mq:/ipk-ls-fork
same "... said so" "$(reason_of mq:/ipk-ls-fork)" "a fork of pid $P holds it"
CHILD=$("$IPK" ls --json --kind mq | $PY -c 'import json, sys
for o in json.load(sys.stdin):
    if o["url"] == "mq:/ipk-ls-fork": print(*o["pids"])')
PIDS+=($CHILD)
same "... which holds the queue open" "$(echo "$CHILD" | wc -w)" 1
kill -KILL $CHILD
wait_for gone $CHILD
same "... and stale once the child is gone" \
	"$(state_of mq:/ipk-ls-fork)" stale
P=$(owner exec mq:/ipk-ls-exec)
PIDS+=("$P")
check "a listener that exec'd..." wait_for has_url mq:/ipk-ls-exec
same "... let go of its record" "$(state_of mq:/ipk-ls-exec)" stale
same "... said so" "$(reason_of mq:/ipk-ls-exec)" "pid $P let go of it (exec?)"

# --- no record can be written: the listener works, its object is unknown
touch "$TMP/not-a-dir"
XDG_RUNTIME_DIR=$TMP/not-a-dir listen mq mq:/ipk-ls-norec
check "a listener whose record cannot be written still listens" \
	wait_for has_url mq:/ipk-ls-norec
same "... and its queue is unknown" "$(state_of mq:/ipk-ls-norec)" unknown

# --- /dev/mqueue unmounted: a hint, and the rest is listed -------------
while mountpoint -q /dev/mqueue; do # ours, and the host's beneath
	umount /dev/mqueue || break
done
"$IPK" ls >/dev/null 2>"$TMP/err"
same "ls without /dev/mqueue exits 0" "$?" 0
check "... and says how to mount it" \
	grep -q "mount -t mqueue none /dev/mqueue" "$TMP/err"
mount -t mqueue none /dev/mqueue

for c in ls rm limits; do
	"$IPK" $c --help >"$TMP/help"
	check "$c --help has examples" grep -q "^Examples:" "$TMP/help"
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
