#!/usr/bin/env bash
# leaks.sh - the X-07 leak audit around the whole test run, as a CTest
# fixture: "setup" snapshots what IPC objects exist, "check" (after every
# other test) lists what is new and fails if anything is: SysV queues,
# segments and semaphore sets of this user; /dev/mqueue and /dev/shm
# entries with the names the suites use (ipk-, ipk_, ipckit-, test);
# sockets, FIFOs and dirs under /tmp/ipk-*, /tmp/ipckit-* and the runtime
# dir; processes still running a binary of the build dir.
# Usage: leaks.sh setup|check BUILD_DIR
# Objects whose creator (the pid in the name or key, or the SysV pids) is
# a live process that is not ours belong to a concurrent run: ignored.
set -u

MODE=${1:?usage: leaks.sh setup|check BUILD_DIR}
BUILD=$(realpath "${2:?usage: leaks.sh setup|check BUILD_DIR}")
STATE=$BUILD/leaks
ME=$(id -un)
NAMES='^(sem\.)?(ipk[-_]|ipckit-|test)'

# /dev/mqueue is where mq names show; mount it when it is not there.
mqueue_mounted() {
	[ -d /dev/mqueue ] || mkdir -p /dev/mqueue 2>/dev/null || return 1
	grep -qs ' /dev/mqueue mqueue ' /proc/mounts ||
		mount -t mqueue none /dev/mqueue 2>/dev/null
}

# One line per object: "kind identity".
snapshot() {
	local kind flag f d exe pid
	for kind in q m s; do
		flag=-$kind
		ipcs "$flag" 2>/dev/null | awk -v me="$ME" -v k="$kind" \
			'$1 ~ /^0x/ && $3 == me { print "sysv-" k, $1, $2 }'
	done
	mqueue_mounted || echo "leaks: /dev/mqueue unavailable" >&2
	for f in /dev/mqueue/* /dev/shm/*; do
		[[ ${f##*/} =~ $NAMES ]] || continue
		case "$f" in
		/dev/mqueue/*) echo "mq $f" ;;
		*) echo "shm $f" ;;
		esac
	done
	local rt=()
	[ -d "/tmp/ipckit-$(id -u)" ] && rt+=("/tmp/ipckit-$(id -u)")
	[ -n "${XDG_RUNTIME_DIR:-}" ] && [ -d "$XDG_RUNTIME_DIR/ipckit" ] &&
		rt+=("$XDG_RUNTIME_DIR/ipckit")
	for f in /tmp/ipk-* /tmp/ipckit-*; do
		[ -e "$f" ] || [ -L "$f" ] || continue
		case " ${rt[*]:-} " in *" $f "*) continue ;; esac
		echo "file $f"
	done
	for d in ${rt[@]+"${rt[@]}"}; do
		for f in "$d"/* "$d"/.[!.]*; do
			[ -e "$f" ] || [ -L "$f" ] || continue
			# Owner records (src/core/owner.c): the first listener
			# makes the dir; a kill -9 test leaves a stale record
			# on purpose, and the next owner of that object reuses it.
			[ "$f" = "$d/owners" ] && continue
			echo "file $f"
		done
	done
	for exe in /proc/[0-9]*/exe; do
		pid=${exe#/proc/}
		pid=${pid%/exe}
		[ "$pid" = "$$" ] && continue
		f=$(readlink "$exe" 2>/dev/null) || continue
		case "$f" in "$BUILD"/*) echo "proc $pid $f" ;; esac
	done
}

# The pids that may have made the object of one snapshot line.
creators() {
	local kind=$1 id=$2 third=${3:-} base n
	case "$kind" in
	sysv-q | sysv-m)
		# qh_key(): 0x40000000 + (pid & 0x3fffff) * 16 + n
		n=$((id))
		if [ $n -ge $((0x40000000)) ] && [ $n -lt $((0x80000000)) ]; then
			echo $(((n - 0x40000000) / 16))
		fi
		ipcs -"${kind#sysv-}" -p 2>/dev/null |
			awk -v id="$third" '$1 == id { print $3; print $4 }'
		;;
	sysv-s)
		n=$((id))
		if [ $n -ge $((0x40000000)) ] && [ $n -lt $((0x80000000)) ]; then
			echo $(((n - 0x40000000) / 16))
		fi
		;;
	mq | shm | file)
		base=${id##*/}
		# The first run of 3+ digits after a '-': th_path, qh_name, $$.
		echo "$base" | grep -oE -- '-[0-9]{3,}' | head -1 | tr -d -
		;;
	esac
}

# Whether pid is alive and not a process of this build dir.
foreign_alive() {
	local pid=$1 f
	[ -n "$pid" ] && [ "$pid" -gt 1 ] 2>/dev/null || return 1
	[ -d "/proc/$pid" ] || return 1
	f=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 0
	case "$f" in "$BUILD"/*) return 1 ;; esac
	return 0
}

case "$MODE" in
setup)
	mkdir -p "$STATE" || exit 1
	snapshot | sort -u >"$STATE/before" || exit 1
	echo "leaks: $(wc -l <"$STATE/before") objects before the tests"
	;;
check)
	if [ ! -f "$STATE/before" ]; then
		echo "leaks: no snapshot; did the setup test run?" >&2
		exit 1
	fi
	snapshot | sort -u >"$STATE/after"
	leaked=0
	while read -r kind id third; do
		[ -n "$kind" ] || continue
		if [ "$kind" != proc ]; then
			skip=
			for pid in $(creators "$kind" "$id" "$third"); do
				foreign_alive "$pid" && skip=$pid && break
			done
			if [ -n "$skip" ]; then
				echo "leaks: ignored $kind $id (live pid $skip is not ours)"
				continue
			fi
		fi
		echo "LEAKED: $kind $id ${third}"
		leaked=$((leaked + 1))
		# A process of ours outliving the run is killed, once reported.
		[ "$kind" = proc ] && kill -KILL "$id" 2>/dev/null
	done < <(comm -13 "$STATE/before" "$STATE/after")
	if [ "$leaked" -gt 0 ]; then
		echo "leaks: $leaked objects left behind by the tests" >&2
		exit 1
	fi
	echo "leaks: nothing left behind"
	;;
*)
	echo "usage: leaks.sh setup|check BUILD_DIR" >&2
	exit 2
	;;
esac
