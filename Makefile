# ngx_bluebutton: build, test, demo and benchmark.
#
#   make          build build/ngx_bluebutton_module.so for Debian's nginx
#   make test     unit tests, a short fuzz run, the authorization server's
#                 tests, the browser tests, then the Test::Nginx suite
#   make demo     the gateway in front of a sample claims backend
#   make bench    throughput with and without the module (util/bench)
#   make fuzz     longer fuzz runs (FUZZ_SECONDS per target)
#   make fuzz-msan  the fuzz targets that stay in our own C, a few seconds
#                 each under MemorySanitizer (part of make test)
#   make soak     util/soak for SOAK_SECONDS (60); make soak-chaos with
#                 Redis stopped, stalled and nginx reloaded meanwhile;
#                 make soak-cache both with bluebutton_cache
#   make test-valgrind  the files whose code calls jansson, OpenSSL and
#                 hiredis, under valgrind memcheck (not in make test)
#   make test-asan  the Test::Nginx suite with the module built with
#                 AddressSanitizer and UndefinedBehaviorSanitizer
#   make deb      the Debian package, into build/ (util/deb, lintian)
#   make test-deb install it here, use it, purge it (util/deb-test)
#   make mutate   plant each mutant of util/mutants and run its tests
#                 (util/mutate; slow, not in make test)
#   make test-nginx-source NGINX_SRC=...  nginx and the module built from
#                 an nginx source tree, the suite run with them
#   make dist     build/ngx_bluebutton-VERSION.tar.gz, the release
#   make test-contrib  the authorization server's and the bridge's own tests
#                 (node's test runner, against a redis-server of their own)
#   make test-browser  the beneficiary's journey in Debian's chromium:
#                 screenshots of each step under build/browser-tests/
#   make measure-revoke  click on Revoke to the app's first refused call,
#                 20 times with and without the decision cache

CC ?= cc
BUILD := build
MODULE := $(BUILD)/ngx_bluebutton_module.so
DEPS_STAMP := $(BUILD)/.deps

PURE_SRCS := src/ngx_bluebutton_decision.c src/ngx_bluebutton_json.c \
             src/ngx_bluebutton_record.c src/ngx_bluebutton_memo.c \
             src/ngx_bluebutton_scope.c src/ngx_bluebutton_consent.c \
             src/ngx_bluebutton_fhir.c src/ngx_bluebutton_base64url.c \
             src/ngx_bluebutton_keys.c src/ngx_bluebutton_jwt.c \
             src/ngx_bluebutton_entry.c src/ngx_bluebutton_failover.c \
             src/ngx_bluebutton_resp.c src/ngx_bluebutton_slots.c \
             src/ngx_bluebutton_introspect.c src/ngx_bluebutton_compartment.c \
             src/ngx_bluebutton_search.c
PURE_HDRS := $(PURE_SRCS:.c=.h)
MODULE_SRCS := config ngx_bluebutton_module.c $(wildcard src/*.c src/*.h)

UNIT_CFLAGS := -std=c99 -D_DEFAULT_SOURCE -g -O1 -Wall -Wextra -Werror \
               -Isrc -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_LIBS := -lcmocka -lhiredis -ljansson -lcrypto -lm

FUZZ_SECONDS ?= 60
FUZZ_TARGETS := scope consent fhir jwt entry failover resp slots introspect \
                compartment search

# under MemorySanitizer too: the targets whose code paths stay in our own
# C (jansson, OpenSSL and hiredis are not instrumented, and what they
# write would be reported as uninitialised)
MSAN_TARGETS := scope fhir entry failover introspect compartment search

.PHONY: all deps test doc-links test-valgrind unit fuzz-smoke fuzz-msan fuzz prove demo bench deb \
        test-deb test-asan soak soak-chaos soak-cache soak-smoke mutate \
        test-nginx-source dist test-contrib test-browser measure-revoke clean

all: $(MODULE)

deps: $(DEPS_STAMP)

$(DEPS_STAMP): util/deps contrib/package-lock.json
	@util/deps
	@mkdir -p $(BUILD) && touch $@

$(MODULE): $(DEPS_STAMP) $(MODULE_SRCS)
	@util/build

test: doc-links unit fuzz-smoke fuzz-msan soak-smoke test-contrib test-browser prove

# every relative link of the pages leads to what is there
doc-links:
	util/doc-links .

unit: $(BUILD)/unit_tests
	$(BUILD)/unit_tests

$(BUILD)/unit_tests: $(DEPS_STAMP) t/unit/unit_tests.c $(PURE_SRCS) $(PURE_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ t/unit/unit_tests.c $(PURE_SRCS) $(UNIT_LIBS)

$(BUILD)/fuzz_%: $(DEPS_STAMP) t/fuzz/fuzz_%.c $(PURE_SRCS) $(PURE_HDRS)
	clang -g -O1 -Isrc -fsanitize=fuzzer,address,undefined \
	    -o $@ t/fuzz/fuzz_$*.c $(PURE_SRCS) -lhiredis -ljansson -lcrypto -lm

$(BUILD)/msan_fuzz_%: $(DEPS_STAMP) t/fuzz/fuzz_%.c $(PURE_SRCS) $(PURE_HDRS)
	clang -g -O1 -Isrc -fsanitize=fuzzer,memory \
	    -fsanitize-memory-track-origins -o $@ t/fuzz/fuzz_$*.c \
	    $(PURE_SRCS) -lhiredis -ljansson -lcrypto -lm

fuzz-msan: $(MSAN_TARGETS:%=$(BUILD)/msan_fuzz_%)
	@for t in $(MSAN_TARGETS); do \
	    mkdir -p $(BUILD)/corpus-msan-$$t; \
	    $(BUILD)/msan_fuzz_$$t -max_total_time=3 -print_final_stats=0 \
	        $(BUILD)/corpus-msan-$$t t/fuzz/corpus/$$t \
	        2>$(BUILD)/msan_fuzz_$$t.log \
	        || { tail -40 $(BUILD)/msan_fuzz_$$t.log; exit 1; }; \
	    echo "fuzz $$t under MemorySanitizer: $$(grep -o "Done [0-9]* runs" $(BUILD)/msan_fuzz_$$t.log), no report"; \
	done

# a few seconds each in "make test"; "make fuzz" runs longer
fuzz-smoke: $(FUZZ_TARGETS:%=$(BUILD)/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/corpus-$$t; \
	    $(BUILD)/fuzz_$$t -max_total_time=5 -print_final_stats=0 \
	        $(BUILD)/corpus-$$t t/fuzz/corpus/$$t 2>$(BUILD)/fuzz_$$t.log \
	        || { tail -40 $(BUILD)/fuzz_$$t.log; exit 1; }; \
	    echo "fuzz $$t: $$(grep -o "Done [0-9]* runs" $(BUILD)/fuzz_$$t.log), no crash"; \
	done

fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(BUILD)/corpus-$$t; \
	    $(BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	        $(BUILD)/corpus-$$t t/fuzz/corpus/$$t || exit 1; \
	done

prove: $(MODULE)
	t/run

test-contrib: $(DEPS_STAMP)
	cd contrib && node --test --test-concurrency=1 authorization-server/test/*.test.js

test-browser: $(MODULE)
	@rm -rf $(BUILD)/browser-tests
	cd contrib && node --test --test-concurrency=1 browser-tests/*.test.js

measure-revoke: $(MODULE)
	cd contrib && node browser-tests/revoke-timing.js

ASAN_MODULE := $(BUILD)/asan/ngx_bluebutton_module.so
SANITIZE := -fsanitize=address,undefined

$(ASAN_MODULE): $(DEPS_STAMP) $(MODULE_SRCS)
	@BLUEBUTTON_BUILD_DIR=$(CURDIR)/$(BUILD)/asan \
	 BLUEBUTTON_CC_OPT="-g -O1 $(SANITIZE) -fno-omit-frame-pointer" \
	 BLUEBUTTON_LD_OPT="$(SANITIZE)" util/build

test-asan: $(ASAN_MODULE)
	TEST_NGINX_ASAN=1 t/run

demo: $(MODULE)
	util/demo

bench: $(MODULE)
	util/bench

SOAK_SECONDS ?= 60

soak: $(MODULE)
	SOAK_SECONDS=$(SOAK_SECONDS) util/soak

soak-chaos: $(MODULE)
	SOAK_SECONDS=$(SOAK_SECONDS) util/soak --chaos

soak-cache: $(MODULE)
	SOAK_SECONDS=$(SOAK_SECONDS) util/soak --cache
	SOAK_SECONDS=$(SOAK_SECONDS) util/soak --cache --chaos

# a few seconds in "make test", before the suite, whose summary ends it
soak-smoke: $(MODULE)
	SOAK_SECONDS=5 util/soak
	SOAK_SECONDS=5 util/soak --cache

deb: $(DEPS_STAMP)
	util/deb

# the code that calls jansson, OpenSSL and hiredis, under valgrind memcheck
# (docs/testing.md: what MemorySanitizer cannot cover)
test-valgrind: $(MODULE)
	TEST_NGINX_USE_VALGRIND=1 t/run t/050-jwt.t t/110-jwks.t \
	    t/120-redis-tls.t t/180-introspection.t

test-deb: deb
	util/deb-test

mutate: $(MODULE)
	util/mutate

test-nginx-source: $(DEPS_STAMP)
	util/test-nginx-source

VERSION := $(shell sed -n 's/^\#define NGX_BLUEBUTTON_VERSION  "\(.*\)"$$/\1/p' \
               src/ngx_bluebutton_version.h)

# what git tracks, under ngx_bluebutton-VERSION/: no build outputs
dist:
	@mkdir -p $(BUILD)
	git archive --format=tar.gz --prefix=ngx_bluebutton-$(VERSION)/ \
	    -o $(BUILD)/ngx_bluebutton-$(VERSION).tar.gz HEAD
	@echo "$(BUILD)/ngx_bluebutton-$(VERSION).tar.gz"

clean:
	rm -rf $(BUILD) t/servroot
