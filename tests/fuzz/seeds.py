#!/usr/bin/env python3
"""seeds.py - writes the seed inputs of tests/fuzz/corpus/<target>/.

Run from anywhere; files are named seed-*.  Crash reproducers that
libFuzzer finds are committed beside them under their own names
(crash-<sha1>), so the replay tests keep checking them.
"""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


URLS = {
    "pipe": "pipe:", "pipe-atomic": "pipe:?atomic",
    "fifo-path": "fifo:/run/x?mode=0600&max=65536&keep",
    "fifo-name": "fifo:demo?timeout=5000",
    "sysvmsg": "sysvmsg:0x1234?type=7&mode=0640",
    "mq": "mq:/orders?prio=3&depth=10&max=8192",
    "unix-path": "unix:/tmp/s.sock?allow=any",
    "unix-abstract": "unix:@name?uid=1000",
    "unix-random": "unix:@",
    "unixgram": "unixgram:/tmp/g.sock?raw",
    "unixpacket": "unixpacket:@pkt?max=1",
    "tcp4": "tcp://127.0.0.1:9000?timeout=-1",
    "tcp6": "tcp://[::1]:0?raw=1",
    "tcp-noport": "tcp://:9000?keep=0",
    "udp": "udp://0.0.0.0:53",
    "redis": "redis://localhost:6379/0",
    "bad-dup": "pipe:?max=1&max=2",
    "bad-empty-key": "pipe:?=1&&",
    "bad-scheme": "PIPE:",
    "bad-num": "mq:/q?max=0x1ffffffff&timeout=99999999999999999999",
    "many-options": "pipe:?" + "&".join("k%d=%d" % (i, i) for i in range(17)),
}
for name, url in URLS.items():
    put("url", name, url)


def frame(payload):
    return struct.pack(">I", len(payload)) + payload


# Control bytes: bits 0-2 ?max= (0 1 4 16 100 4096 65536 16M), 3 raw,
# 4 unix: instead of pipe:, 5-7 buffer (0 1 3 16 100 4096 65536 70000);
# then bit 0: ipk_peek instead of ipk_recv.
def ctl(maxi, capi, raw=False, unix=False, peek=False):
    return bytes([maxi | (8 if raw else 0) | (16 if unix else 0) | capi << 5,
                  1 if peek else 0])


put("stream", "empty", ctl(7, 7))
put("stream", "frames", ctl(7, 7) + frame(b"hello") + frame(b"") + frame(b"x" * 300))
put("stream", "frames-unix", ctl(7, 7, unix=True) + frame(b"hello") + frame(b"world"))
put("stream", "small-buffer", ctl(7, 2) + frame(b"too big for three"))
put("stream", "over-max", ctl(4, 7) + frame(b"y" * 101))
put("stream", "torn-header", ctl(7, 7) + frame(b"a") + b"\x00\x00")
put("stream", "torn-body", ctl(7, 7) + struct.pack(">I", 50) + b"short")
put("stream", "claims-4gib", ctl(7, 7) + b"\xff\xff\xff\xff" + b"z" * 64)
put("stream", "claims-max", ctl(6, 7) + struct.pack(">I", 65536) + b"q" * 1000)
put("stream", "raw", ctl(0, 3, raw=True) + b"plain bytes for cat and nc")
put("stream", "raw-unix", ctl(0, 4, raw=True, unix=True) + b"line one\nline two\n")
put("stream", "big", ctl(6, 6) + frame(b"B" * 60000))
put("stream", "peek", ctl(7, 0, peek=True) + frame(b"peeked") + frame(b"") + b"\x00")
put("stream", "peek-raw-unix", ctl(0, 0, raw=True, unix=True, peek=True) + b"raw bytes")
put("stream", "peek-over-max", ctl(3, 0, peek=True) + frame(b"p" * 17))

PIPE_BUF = 4096
CHUNK_MAX = PIPE_BUF - 8


def chunks(payload, first=True):
    out, off = b"", 0
    while off < len(payload):
        n = min(CHUNK_MAX, len(payload) - off)
        w0 = 0x80000000 | (0x40000000 if off == 0 and first else 0) | n
        out += struct.pack(">II", w0, len(payload) - off - n) + payload[off:off + n]
        off += n
    return out


# Control byte: bits 0-2 ?max= (0 100 4096 4097 8192 65536 1M 16M),
# 5-7 buffer (0 1 16 4096 4097 8192 65536 70000).
def cctl(maxi, capi):
    return bytes([maxi | capi << 5])


msg = bytes(range(256)) * 40  # 10240 bytes: three chunks
put("chunk", "empty", cctl(7, 7))
put("chunk", "one", cctl(7, 7) + chunks(msg))
put("chunk", "two", cctl(7, 7) + chunks(msg) + chunks(b"m" * 5000))
put("chunk", "mixed-frames", cctl(7, 7) + frame(b"small") + chunks(msg) + frame(b"after"))
put("chunk", "cut", cctl(7, 7) + chunks(msg)[:4096] + chunks(b"n" * 4200))
put("chunk", "cut-then-frame", cctl(7, 7) + chunks(msg)[:4096] + frame(b"next"))
put("chunk", "orphan-tail", cctl(7, 7) + chunks(msg)[4096:] + frame(b"ok"))
put("chunk", "over-max", cctl(5, 7) + chunks(b"o" * 70000)[:8192])
put("chunk", "small-buffer", cctl(7, 4) + chunks(msg))
put("chunk", "chunk-too-long", cctl(7, 7) + struct.pack(">II", 0xC0000000 | 5000, 0) + b"c" * 5000)
put("chunk", "rest-4gib", cctl(7, 7) + struct.pack(">II", 0xC0000000 | 10, 0xffffffff) + b"r" * 10)
put("chunk", "eof-mid", cctl(7, 7) + chunks(msg)[:5000])

# cli: argv words joined by NUL, from the examples of each verb's --help
# and of the man pages, plus a few refusals.  relay's, ls's, rm's,
# limits' and tcp-trace's words are those of their --help.
CLI = {
    "send-fifo": ["send", "fifo:/tmp/demo", "hello", "world"],
    "send-prio": ["send", "mq:/orders", "--prio", "3"],
    "send-type": ["send", "sysvmsg:0x10", "--type", "7", "order-42"],
    "send-file": ["send", "tcp://127.0.0.1:9000", "--file", "report.pdf"],
    "send-fd": ["send", "unix:/tmp/app.sock", "--fd", "/etc/hostname"],
    "send-listen": ["send", "--listen", "--timeout=5000", "unix:@x", "--", "-x"],
    "send-help": ["send", "--help"],
    "send-bad-prio": ["send", "fifo:/tmp/demo", "--prio", "3"],
    "send-bad-file": ["send", "--file", "f", "mq:/q", "msg"],
    "recv-count": ["recv", "fifo:/tmp/demo", "-n", "2"],
    "recv-json": ["recv", "tcp://127.0.0.1:0", "--json", "--peer"],
    "recv-dial": ["recv", "--dial", "mq:/orders", "--timeout", "1000"],
    "recv-type": ["recv", "sysvmsg:0x10", "--type", "-5", "--hex"],
    "recv-save": ["recv", "unix:/tmp/app.sock", "--save-fds", "/tmp/got",
                  "--save-fds-max", "1024"],
    "recv-output": ["recv", "-n1", "-o", "out.bin", "fifo:/tmp/x?raw"],
    "recv-cluster": ["recv", "-hn"],
    "recv-stopped-in-cluster": ["recv", "-xh", "fifo:/tmp/x"],
    "recv-bad-both": ["recv", "--hex", "--json", "mq:/q"],
    "recv-bad-url": ["recv", "mq:/q?timout=5"],
    "sem-create": ["sem", "create", "sem:/slots", "--value", "3"],
    "sem-wait": ["sem", "wait", "sem:/slots", "--timeout", "500"],
    "sem-run": ["sem", "run", "sem:/job?lock", "--", "make"],
    "sem-value": ["sem", "value", "sysvsem:0x20?nsems=2&index=1"],
    "sem-bad-verb": ["sem", "frob", "sem:/x"],
    "sem-bad-run": ["sem", "run", "sem:/x"],
    "bench-quick": ["bench", "--quick"],
    "bench-json": ["bench", "--only", "fifo,mq,shm", "--size", "64,4096", "--json"],
    "bench-html": ["bench", "--size", "64", "--repeat", "1", "--html", "report.html"],
    "bench-bad-both": ["bench", "--json", "--csv"],
    "bench-bad-size": ["bench", "--size", "0,,64"],
    "no-verb": ["\x03", "--quick", "--gap", "10"],
    "relay-tcp-mq": ["relay", "tcp://0.0.0.0:9000", "mq:/orders"],
    "relay-sysvmsg-tcp": ["relay", "sysvmsg:0x10", "tcp://hostB:9000"],
    "relay-dial-from": ["relay", "--dial-from", "sysvmsg:0x10?share",
                        "tcp://hostB:9000"],
    "relay-raw": ["relay", "unix:/run/app.sock?raw", "tcp://127.0.0.1:8080?raw"],
    "relay-stdio": ["relay", "fifo:/tmp/in", "stdio:"],
    "relay-both": ["relay", "--both", "--listen-to", "--stats", "5", "--json",
                   "--timeout=-1", "unix:@a", "sysvmsg:0x11?send=1&recv=2"],
    "relay-help": ["relay", "--help"],
    "relay-bad-stdio": ["relay", "stdio:", "stdio:?raw"],
    "relay-bad-both-mq": ["relay", "--both", "mq:/a", "tcp://127.0.0.1:1"],
    "relay-bad-accept": ["relay", "--listen-to", "tcp://:1", "unix:@b"],
    "relay-bad-pipe": ["relay", "pipe:", "stdio:"],
    "relay-bad-stats": ["relay", "--stats", "0", "mq:/a", "stdio:"],
    "ls": ["ls"],
    "ls-kind-json": ["ls", "--kind", "sysvmsg,mq", "--json"],
    "ls-stale": ["ls", "--stale", "--user", "0"],
    "ls-help": ["ls", "-h"],
    "ls-bad-kind": ["ls", "--kind", "mq,,queue"],
    "ls-bad-user": ["ls", "-u", "no-such-user-h9"],
    "ls-bad-arg": ["ls", "-sj", "extra"],
    "rm-urls": ["rm", "mq:/orders", "sysvmsg:0x1234"],
    "rm-stale-dry": ["rm", "--stale", "--dry-run"],
    "rm-force": ["rm", "--force", "unix:/run/app.sock"],
    "rm-help": ["rm", "--help"],
    "rm-bad-stale-url": ["rm", "-s", "mq:/x"],
    "rm-bad-stale-force": ["rm", "--stale", "-f"],
    "rm-bad-none": ["rm", "-n"],
    "limits": ["limits"],
    "limits-json": ["limits", "--json"],
    "limits-bad": ["limits", "--jsn"],
    "tcp-trace": ["tcp-trace"],
    "tcp-trace-own": ["tcp-trace", "--close", "server", "--linger", "--data",
                      "100", "--port", "9000", "--v6", "--wait", "--restart",
                      "--json", "--pcap", "t.pcap", "--svg", "t.svg"],
    "tcp-trace-watch": ["tcp-trace", "127.0.0.1:9000", "--count", "1",
                        "--json"],
    "tcp-trace-watch6": ["tcp-trace", "[::1]:9000"],
    "tcp-trace-help": ["tcp-trace", "-h"],
    "tcp-trace-bad-close": ["tcp-trace", "--close", "nobody"],
    "tcp-trace-bad-watch": ["tcp-trace", "localhost:80"],
    "tcp-trace-bad-mix": ["tcp-trace", "127.0.0.1:80", "--wait"],
    "tcp-trace-bad-count": ["tcp-trace", "--count", "3"],
    # Refusals that once named the wrong word or printed a control byte:
    # a short option inside a cluster, a value given to a flag, a word
    # that is not an option.
    "ls-bad-cluster": ["ls", "-xs"],
    "ls-bad-no-value": ["ls", "--kind"],
    "rm-bad-cluster": ["rm", "-xs", "mq:/a"],
    "relay-bad-flag-value": ["relay", "--json=1", "mq:/a", "stdio:"],
    "recv-bad-flag-value": ["recv", "--hex=1", "mq:/a"],
    "tcp-trace-bad-cluster": ["tcp-trace", "-*h"],
    "tcp-trace-bad-flag-value": ["tcp-trace", "--wait=1"],
    "bench-bad-word": ["bench", "report"],
}
for name, words in CLI.items():
    put("cli", name, "\0".join(words))
