#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds a program against it
# with pkg-config and with find_package(ipckit); checks that the shared
# library exports nothing but the ipk_ API, that the man pages, the bash
# completion and LICENSE are installed (the pages render without
# warnings), that ipckit.pc is right for a /usr prefix with a multiarch
# or absolute libdir (staged with DESTDIR),
# and that a parent project can add_subdirectory() the source tree, link
# ipckit::ipckit, and not build ipckit's tests.
set -u
build=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/ipk-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*"; fi; }
# pcvar FILE VAR: a variable of a .pc file as pkg-config resolves it.
pcvar() { pkg-config --variable="$2" "$1"; }

cmake --install "$build" --prefix "$tmp/p" >/dev/null || { echo "install failed"; exit 1; }
cat > "$tmp/app.c" <<'C'
#include <ipckit.h>
int main(void) {
	ipk_chan *a, *b;
	char c[4];
	if (ipk_pair("pipe:", &a, &b) || ipk_send(b, "x", 1, 0)) return 1;
	int ok = ipk_recv(a, c, sizeof c, 0) == 1 && c[0] == 'x';
	ipk_close(a);
	ipk_close(b);
	return !ok;
}
C
# A sanitizer build's library needs the runtime in the program too.
san=""
ldd "$tmp/p/lib/libipckit.so" | grep -q libasan && san="-fsanitize=address,undefined"
ldd "$tmp/p/lib/libipckit.so" | grep -q libtsan && san="-fsanitize=thread"
export PKG_CONFIG_PATH=$tmp/p/lib/pkgconfig
check test "$(pkg-config --variable=prefix ipckit)" = "$tmp/p"
check cc $san "$tmp/app.c" $(pkg-config --cflags --libs ipckit) -Wl,-rpath,"$tmp/p/lib" -o "$tmp/app1"
check "$tmp/app1"
mkdir -p "$tmp/cm"
cat > "$tmp/cm/CMakeLists.txt" <<C
cmake_minimum_required(VERSION 3.16)
project(app C)
find_package(ipckit REQUIRED)
add_executable(app $tmp/app.c)
target_link_libraries(app ipckit::ipckit)
C
check cmake -S "$tmp/cm" -B "$tmp/cm/b" -DCMAKE_PREFIX_PATH="$tmp/p" \
	-DCMAKE_BUILD_RPATH="$tmp/p/lib" -DCMAKE_C_FLAGS="$san" >/dev/null
check cmake --build "$tmp/cm/b" >/dev/null
check "$tmp/cm/b/app"
others=$(nm -D --defined-only "$tmp/p/lib/libipckit.so" | awk '{print $3}' | grep -v '^ipk_' || true)
check test -z "$others"
check test -x "$tmp/p/bin/ipckit"
check test -f "$tmp/p/include/ipckit.h"

# Manual pages and the licence; groff -ww prints every warning it has (on
# an 80-column terminal, as man(1) formats them).
check test -f "$tmp/p/share/doc/ipckit/LICENSE"
check cmp -s "$src/LICENSE" "$tmp/p/share/doc/ipckit/LICENSE"
for page in man1/ipckit.1 man3/ipckit.3 man1/ipckit-ls.1 man1/ipckit-rm.1 \
	man1/ipckit-limits.1 man1/ipckit-send.1 man1/ipckit-recv.1 \
	man1/ipckit-sem.1 man1/ipckit-bench.1 man1/ipckit-relay.1 \
	man1/ipckit-tcp-trace.1; do
	check test -f "$tmp/p/share/man/$page"
	warn=$(groff -t -man -Tutf8 -rLL=80n -ww -z "$tmp/p/share/man/$page" 2>&1)
	check test -z "$warn"
	[ -z "$warn" ] || echo "$page: $warn"
done

# The bash completion, where bash-completion looks for it, loadable.
comp=$tmp/p/share/bash-completion/completions/ipckit
check cmp -s "$src/completion/ipckit.bash" "$comp"
check bash -c 'source "$1" && complete -p ipckit >/dev/null' _ "$comp"

# A parent project that add_subdirectory()s the source tree, configured
# for /usr as a distribution package would be.  One build serves both.
arch=$(cc -print-multiarch 2>/dev/null)
mkdir -p "$tmp/sub"
cat > "$tmp/sub/CMakeLists.txt" <<C
cmake_minimum_required(VERSION 3.16)
project(parent C)
include(GNUInstallDirs) # caches the parent's CMAKE_INSTALL_DOCDIR first
add_subdirectory($src ipckit)
add_executable(app $tmp/app.c)
target_link_libraries(app ipckit::ipckit)
C
out=$(cmake -S "$tmp/sub" -B "$tmp/sub/b" -DCMAKE_INSTALL_PREFIX=/usr 2>&1)
check test $? -eq 0
check grep -q "ipckit: tests: off (ipckit is a subproject" <<<"$out"
check cmake --build "$tmp/sub/b" -j2 >/dev/null
check "$tmp/sub/b/app"
built_tests=$(find "$tmp/sub/b" -type f -name '*_test' | head -3)
check test -z "$built_tests"
check test ! -e "$tmp/sub/b/ipckit/tests"

# /usr with the libdir GNUInstallDirs picks (multiarch on Debian), then
# with an absolute libdir: neither may get the prefix twice.
want=/usr/lib${arch:+/$arch}
for libdir in "" "$want"; do
	cmake "$tmp/sub/b" ${libdir:+-DCMAKE_INSTALL_LIBDIR="$libdir"} >/dev/null
	rm -rf "$tmp/d"
	DESTDIR=$tmp/d cmake --install "$tmp/sub/b" >/dev/null
	pc=$tmp/d$want/pkgconfig/ipckit.pc
	check test -f "$pc"
	check test "$(pcvar "$pc" libdir)" = "$want"
	check test "$(pcvar "$pc" includedir)" = /usr/include
	check test "$(pcvar "$pc" prefix)" = /usr
	check test -f "$tmp/d$want/libipckit.so"
	check test -f "$tmp/d/usr/share/man/man3/ipckit.3"
	check test -f "$tmp/d/usr/share/doc/ipckit/LICENSE"
done
# The staged tree is usable through a sysroot, as a package build uses it.
flags=$(PKG_CONFIG_SYSROOT_DIR=$tmp/d PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 \
	PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 pkg-config --cflags --libs "$pc")
check cc "$tmp/app.c" $flags -Wl,-rpath,"$tmp/d$want" -o "$tmp/app2"
check "$tmp/app2"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
