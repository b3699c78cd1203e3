# The README's two commands: `make run` and `make test`.
BUILD ?= build
JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: run test deps build release clean format

run: release
	./build-release/ipckit bench --quick

release:
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DIPK_TESTS=OFF >/dev/null
	cmake --build build-release -j$(JOBS)

# Installs what the suite needs on a fresh Debian box, then builds and runs
# every test through CTest (IPK_TESTS=ON: without Criterion, an error).
test: deps
	cmake -S . -B $(BUILD) -DIPK_TESTS=ON $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j$(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

deps:
	@sh scripts/deps.sh

clean:
	rm -rf build build-release build-asan build-werror build-tsan build-fuzz

format:
	clang-format -i include/*.h src/*/*.c src/*/*.h cli/*.c cli/*.h \
		tests/*.c tests/*.h tests/fuzz/*.c tests/fuzz/*.h examples/*.c bench/*.h
