#!/bin/sh
# Installs the build and test dependencies that a fresh Debian box lacks:
# Criterion for the suites; socat, netcat, ipcmk/ipcs (util-linux),
# python3-sysv-ipc, iproute2 and setpriv as real peers for interop tests;
# groff, with which the install test renders the manual pages;
# hiredis for redis://, and redis-server / redis-cli for its suite.
set -e
need=""
pkg-config --exists criterion 2>/dev/null || need="$need libcriterion-dev"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
command -v socat >/dev/null 2>&1 || need="$need socat"
command -v nc >/dev/null 2>&1 || need="$need netcat-openbsd"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v setpriv >/dev/null 2>&1 || need="$need util-linux"
command -v groff >/dev/null 2>&1 || need="$need groff-base"
pkg-config --exists hiredis 2>/dev/null || need="$need libhiredis-dev"
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v redis-cli >/dev/null 2>&1 || need="$need redis-tools"
/usr/bin/python3 -c 'import sysv_ipc' 2>/dev/null || need="$need python3-sysv-ipc"
# tcp-trace: libpcap for its packets, tshark to check them against.
pkg-config --exists libpcap 2>/dev/null || need="$need libpcap-dev"
command -v tshark >/dev/null 2>&1 || need="$need tshark"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing:$need" >&2
	echo "run: sudo apt-get install -y$need" >&2
	exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq $need >/dev/null
