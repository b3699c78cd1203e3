#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds a program against it
# twice: with pkg-config and with find_package(ipckit).  Also checks that
# the shared library exports nothing but the ipk_ API.
set -u
build=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/ipk-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $*"; fi; }

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
export PKG_CONFIG_PATH=$tmp/p/lib/pkgconfig
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
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
