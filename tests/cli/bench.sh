#!/usr/bin/env bash
# bench.sh - `ipckit bench --quick` end to end: every transport and its raw
# baseline produce a row with sane values (non-zero, p50 <= p99, no loss on
# reliable transports) in the JSON, which is strict JSON; the shm rows
# and only they have zero-copy numbers; the SVG parses as XML, the HTML
# as HTML; CSV has equal rows; bad options exit 2.  Asserts no speed.
# $1 = the ipckit binary.  Prints "N passed, N failed"; exits 1 on a failure.
set -u

IPK=${1:?usage: bench.sh IPCKIT [BUILD_DIR]}
PY=/usr/bin/python3
TMP=$(mktemp -d "/tmp/ipk-bench-sh-$$.XXXXXX")
pass=0 fail=0
trap 'rm -rf -- "$TMP"' EXIT

ok() { pass=$((pass + 1)); echo "ok   - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; }
check() { # check NAME COMMAND...
	local name=$1
	shift
	if out=$("$@" 2>&1); then ok "$name"; else ko "$name: $out"; fi
}

timeout 25 "$IPK" bench --quick --json --svg "$TMP/b.svg" \
	--html "$TMP/b.html" >"$TMP/b.json" 2>"$TMP/err"
check "bench --quick --json exits 0" test $? -eq 0

check "every transport and its raw row are sane" $PY - "$TMP/b.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "ipckit-bench/1", d["schema"]
rows = d["rows"]
want = {"pipe", "fifo", "unix", "unixpacket", "unixgram", "tcp", "udp",
        "mq", "sysvmsg", "shm", "shm-spin"}
seen = {(r["transport"], r["impl"]) for r in rows}
for t in want:
    for impl in ("ipckit", "raw"):
        assert (t, impl) in seen, (t, impl)
assert any(r["timeout_ms"] > 0 for r in rows if r["transport"] == "sysvmsg")
for r in rows:
    name = "%s %s %s" % (r["transport"], r["impl"], r["timeout_ms"])
    m = r["median"]
    assert r["runs"] >= 1 and r["error"] is None, (name, r["error"])
    assert r["size"] == 64, name
    assert 0 < m["rtt_p50_us"] <= m["rtt_p99_us"] <= m["rtt_max_us"], name
    for k in ("msgs_per_s", "mb_per_s", "batch_msgs_per_s", "cpu_us_per_msg",
              "rtt_cpu_us"):
        assert m[k] > 0, (name, k)
    if r["transport"] != "udp":
        assert m["loss"] == 0 and m["batch_loss"] == 0, name
    else:
        assert 0 <= m["loss"] < 1, name
    if r["impl"] == "ipckit":
        assert r["vs_raw"]["rtt_p50"] > 0, name
PYEOF

check "the JSON is strict (python3 -m json.tool, no NaN)" $PY -c '
import json, subprocess, sys
subprocess.run([sys.executable, "-m", "json.tool", sys.argv[1]], check=True,
               stdout=subprocess.DEVNULL)
def bad(c): raise ValueError(c)
json.load(open(sys.argv[1]), parse_constant=bad)' "$TMP/b.json"

check "zero-copy numbers for the shm rows only" $PY - "$TMP/b.json" <<'PYEOF'
import json, math, sys
rows = json.load(open(sys.argv[1]))["rows"]
zc = {"shm", "shm-spin", "sysvshm", "sysvshm-sleep"}
assert zc <= {r["transport"] for r in rows}
keys = ("zc_msgs_per_s", "zc_mb_per_s", "zc_cpu_us_per_msg", "zc_csw_per_msg")
for r in rows:
    name = "%s %s" % (r["transport"], r["impl"])
    m = r["median"]
    if r["transport"] in zc:
        for k in keys[:3]:
            assert m[k] is not None and math.isfinite(m[k]) and m[k] > 0, \
                (name, k, m[k])
        assert m["zc_csw_per_msg"] >= 0, name
        if r["impl"] == "ipckit":
            assert r["vs_raw"]["zc_msgs_per_s"] > 0, name
    else:
        assert all(m[k] is None for k in keys), (name, m)
        if r["impl"] == "ipckit":
            assert r["vs_raw"]["zc_msgs_per_s"] is None, name
PYEOF

check "the SVG is well-formed XML" $PY -c '
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg"' "$TMP/b.svg"

check "the HTML parses, with table and chart" $PY -c '
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    seen = set()
    def handle_starttag(s, t, a): s.seen.add(t)
p = P(); p.feed(open(sys.argv[1]).read()); p.close()
assert {"html", "table", "tr", "svg"} <= p.seen, p.seen' "$TMP/b.html"

timeout 10 "$IPK" bench --quick --only pipe --csv >"$TMP/b.csv" 2>&1
check "--csv: header and equal rows" $PY -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
assert len(rows) == 3 and all(len(r) == len(rows[0]) for r in rows)' \
	"$TMP/b.csv"

"$IPK" bench --bogus >/dev/null 2>&1
check "a bad option exits 2" test $? -eq 2
"$IPK" bench --only nosuch >/dev/null 2>&1
check "an unknown transport exits 2" test $? -eq 2

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
