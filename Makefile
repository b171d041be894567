# Partita: the two commands a newcomer needs are `make demo` and `make test`.
# Both install missing Debian packages (scripts/install-deps), configure and build.
#
#   make demo      run `partita demo`, the end-to-end tour
#   make test      build and run the whole test suite (ctest)
#   make asan      the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench     build and run the benchmarks in bench/
#   make fuzz      build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
#   make format    clang-format the tree; `make format-check` fails on unformatted files
#   make check-deps  fails on an #include that docs/architecture.md's dependency graph forbids
#   make check-hot-path  fails when the gateway's instructions per request grow past the budget

JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=
# Let ccache reuse objects across clones in different directories.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_MAXSIZE ?= 20G

SOURCES = $(shell git ls-files '*.cc' '*.h' 2>/dev/null)

.PHONY: demo test asan bench fuzz deps build format format-check check-deps check-hot-path clean

deps:
	@./scripts/install-deps

# The benchmarks are compiled with the tests (not run), so a change cannot break them unseen.
build: deps
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARTITA_BUILD_BENCH=ON \
	  $(CMAKE_FLAGS) > /dev/null
	@cmake --build build -j $(JOBS)

demo: deps
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) > /dev/null
	@cmake --build build -j $(JOBS) --target partita
	./build/sdk/cli/partita demo

test: build
	ctest --test-dir build --output-on-failure -j $(JOBS)

asan: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DPARTITA_SANITIZE=ON $(CMAKE_FLAGS) > /dev/null
	@cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir build-asan --output-on-failure -j $(JOBS)

bench: deps
	@cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DPARTITA_BUILD_BENCH=ON \
	  -DPARTITA_BUILD_TESTS=OFF $(CMAKE_FLAGS) > /dev/null
	@cmake --build build-bench -j $(JOBS)
	./scripts/run-benchmarks build-bench

fuzz: deps
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DPARTITA_BUILD_FUZZ=ON \
	  -DPARTITA_BUILD_TESTS=OFF $(CMAKE_FLAGS) > /dev/null
	@cmake --build build-fuzz -j $(JOBS)
	./scripts/run-fuzzers build-fuzz $(FUZZ_SECONDS)

format:
	clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES) && echo "format-check: all files formatted"
	@if grep -rnzoP 'TEST_CASE\(\s*"[^"]*;' tests/ | tr '\0' '\n' | grep .; then \
	  echo "format-check: a ';' in a test name splits it in two ctest tests (that run nothing)"; \
	  false; fi

check-deps:
	@./scripts/check-deps

check-hot-path: build
	@./scripts/check-hot-path build

clean:
	rm -rf build build-asan build-bench build-fuzz
