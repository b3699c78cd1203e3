#!/usr/bin/env bash
# limits.sh - `ipckit limits`: valid JSON whose values are those of
# /proc/sys, rlimits as ulimit reports them, plain output in 100 columns,
# and the errors that send users to 'ipckit limits' name the limit hit.
# $1 = the ipckit binary.  Exits 1 on a failure.
set -u

IPK=${1:?usage: limits.sh IPCKIT [BUILD_DIR]}
PY=/usr/bin/python3
TMP=$(mktemp -d "/tmp/ipk-lim-$$.XXXXXX")
MQ=/ipk-lim-$$

cleanup() {
	$PY -c 'import ctypes, sys
ctypes.CDLL("librt.so.1").mq_unlink(sys.argv[1].encode())' "$MQ"
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ok, ko, check, same
. "$(dirname "$0")/lib.sh"

"$IPK" limits --json >"$TMP/l.json"
same "limits --json exits 0" "$?" 0
check "limits --json is valid JSON" $PY -m json.tool "$TMP/l.json" >/dev/null
$PY - "$TMP/l.json" "$(ulimit -Sq) $(ulimit -Hq) $(ulimit -Sn) $(ulimit -Hn)" \
	>"$TMP/cmp" 2>&1 <<'EOF'
import json, sys
lims = {o["name"]: o for o in json.load(open(sys.argv[1]))}
bad, seen = 0, 0
for o in lims.values():
    if not o["sysctl"]:
        continue
    want = [int(x) for x in open(o["sysctl"]).read().split()]
    got = o["value"] if isinstance(o["value"], list) else [o["value"]]
    seen += 1
    if got != want:
        print(o["name"], "got", got, "want", want); bad = 1
def ul(s):
    return -1 if s == "unlimited" else int(s)
u = [ul(x) for x in sys.argv[2].split()]
for name, pair in (("RLIMIT_MSGQUEUE", u[0:2]), ("RLIMIT_NOFILE", u[2:4])):
    if lims[name]["value"] != pair:
        print(name, lims[name]["value"], "ulimit", pair); bad = 1
for name in ("PIPE_BUF", "fs.mqueue.queues_max", "kernel.msgmni",
             "kernel.shmall", "kernel.sem", "net.unix.max_dgram_qlen",
             "/dev/shm", "net.core.rmem_max"):
    if name not in lims:
        print("missing", name); bad = 1
if lims["PIPE_BUF"]["value"] != 4096 or seen < 20:
    print("PIPE_BUF", lims["PIPE_BUF"]["value"], "sysctls", seen); bad = 1
if lims["kernel.msgmni"]["used"] != sum(1 for _ in open("/proc/sysvipc/msg")) - 1:
    print("msgmni used", lims["kernel.msgmni"]["used"]); bad = 1
sys.exit(bad)
EOF
check "every value equals /proc/sys and ulimit" test $? = 0
[ -s "$TMP/cmp" ] && cat "$TMP/cmp"

"$IPK" limits >"$TMP/l.txt"
same "plain limits fits 100 columns" \
	"$(awk 'length($0) >= 100' "$TMP/l.txt" | wc -l)" 0
check "plain limits says how to raise kernel.msgmnb" \
	grep -q "raise: sysctl -w kernel.msgmnb=N" "$TMP/l.txt"
"$IPK" limits --bogus 2>/dev/null
same "limits --bogus is a usage error" "$?" 2

# An error that points here names a limit that limits shows.
big=$(($(cat /proc/sys/fs/mqueue/msgsize_max) + 1))
"$IPK" send "mq:$MQ?msgsize=$big" x --listen --timeout 0 2>"$TMP/err"
check "mq ?msgsize= above msgsize_max fails" test $? = 1
check "... pointing to 'ipckit limits'" grep -q "see 'ipckit limits'" \
	"$TMP/err"
check "... naming fs.mqueue.msgsize_max, which limits lists" \
	grep -q "msgsize_max" "$TMP/err"
check "... beside its value" grep -q "^fs.mqueue.msgsize_max  *$((big - 1)) " \
	"$TMP/l.txt"

# The limits behind the other hints, hit in a private IPC namespace (its
# sysctls are its own): each error names the limit and points here.
hit() { # hit NAME LIMIT SETUP URL: SETUP, then a listener on URL must fail
	if [ "$(id -u)" != 0 ] || ! unshare --ipc true 2>/dev/null; then
		echo "skip - $1 needs root for a private IPC namespace"
		return
	fi
	unshare --ipc bash -c "$3; \"\$0\" send '$4' x --listen --timeout 0" \
		"$IPK" 2>"$TMP/err"
	check "$1 fails" test $? = 1
	check "... naming $2 and 'ipckit limits'" \
		grep -q "$2.*see 'ipckit limits'" "$TMP/err"
	check "... which limits lists" grep -q "^$2 " "$TMP/l.txt"
}
hit "mq beyond fs.mqueue.queues_max" fs.mqueue.queues_max \
	"echo 0 >/proc/sys/fs/mqueue/queues_max" "mq:$MQ"
hit "sysvmsg beyond kernel.msgmni" kernel.msgmni \
	"echo 0 >/proc/sys/kernel/msgmni" "sysvmsg:0x4a5e0001"
hit "mq beyond RLIMIT_MSGQUEUE (EMFILE)" RLIMIT_MSGQUEUE "ulimit -q 100" \
	"mq:$MQ"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
