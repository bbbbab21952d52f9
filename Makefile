# Convenience front end over CMake/ctest. The two commands of the README:
#   make demo   build, start redis-server, run haystackd on the shipped config
#               and signatures, replay a capture through softflowd, show the
#               detections arriving on the Redis channel
#   make test   the whole test suite under ASan/UBSan (what CI runs)
#   make fuzz   the libFuzzer targets (clang), FUZZ_SECONDS each (default 30)
JOBS ?= $(shell nproc)

.PHONY: all deps build build-asan test check fuzz demo bench install clean

all: build

deps:
	./.ci/deps.sh

build: deps
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build -j$(JOBS)

build-asan: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHS_SANITIZE=ON -DHS_WERROR=ON
	cmake --build build-asan -j$(JOBS)

test: build-asan
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j2

# Every target over its regression inputs, then fuzzed from its seeds for a
# bounded time, two at a time (tests/fuzz/run.sh); fails on any crash.
fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHS_FUZZ=ON
	cmake --build build-fuzz -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  FUZZ_SECONDS=$${FUZZ_SECONDS:-30} ./tests/fuzz/run.sh build-fuzz

check: build
	cd build && ctest --output-on-failure -j2

demo: build
	./tools/demo.sh build

bench: build
	./bench/run.sh build

install: build
	cmake --install build

clean:
	rm -rf build build-asan build-fuzz
