# dscat build. `make` builds build/dscat; `make SAN=1` builds the ASan+UBSan variant in
# build-asan/. `make demo` and `make check` install what is missing first (scripts/install-deps).

SAN ?= 0
FUZZ ?= 0
ifeq ($(FUZZ),1)
# `make fuzz`: the library built with clang for libFuzzer, ASan and UBSan, and tests/fuzz/ on it.
BUILD ?= build-fuzz
CC = clang
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
      -fno-sanitize-recover=all
SANLD = -fsanitize=address,undefined
else ifeq ($(SAN),1)
BUILD ?= build-asan
OPT = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
SANLD = -fsanitize=address,undefined
else
BUILD ?= build
OPT = -O2 -g -D_FORTIFY_SOURCE=2
SANLD =
endif

DUCKDB_HOME ?= $(CURDIR)/.deps/duckdb
DUCKDB_EXT_DIR ?= $(CURDIR)/$(BUILD)/duckdb_extensions

CC ?= cc
WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
       -Wvla -Werror
PKGS = libpq sqlite3 jansson libmariadb libmicrohttpd libcurl libcrypto libutf8proc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS = -Iinclude -Isrc -isystem $(DUCKDB_HOME) $(PKG_CFLAGS) -D_GNU_SOURCE \
           -DDSCAT_DUCKDB_EXT_DIR='"$(DUCKDB_EXT_DIR)"' \
           -DDSCAT_DUCKDB_LIBRARY='"$(DUCKDB_HOME)/libduckdb.so"'
CFLAGS = -std=c11 $(WARN) $(OPT) -pthread -MMD -MP
LDFLAGS = $(SANLD) -pthread -L$(DUCKDB_HOME) -Wl,-rpath,$(DUCKDB_HOME)
# DuckDB is not linked: it is opened on first use (src/core/duck_api.c), by the full path of the
# copy in DUCKDB_HOME (DSCAT_DUCKDB_LIBRARY), else by name through the usual library search.
# Programs that call it directly (duckq, the search benchmark) link it.
LDLIBS = $(PKG_LIBS) -lsybdb -lm

# Every folder of src/ but the CLI's is the library, except src/core/testhooks.c: it is linked
# twice, without DSCAT_TEST_HOOKS into the release binary $(BUILD)/dscat (no test hook in it) and
# with it into everything the tests run: $(BUILD)/test/dscat (the same objects, another link),
# the unit tests, the tools, the fuzzers.
LIB_SRC := $(filter-out src/cli/% src/core/testhooks.c,$(wildcard src/*/*.c))
HOOKS_OFF := $(BUILD)/obj/hooks/off.o
HOOKS_ON := $(BUILD)/obj/hooks/on.o
CLI_SRC := $(wildcard src/cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/openapi.o $(BUILD)/obj/gen/ui_assets.o
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all deps demo check unit tools clean format format-check fuzz fuzzers
all: $(BUILD)/dscat tools

tools: $(BUILD)/test/dscat $(BUILD)/duckq $(BUILD)/silent_listener $(BUILD)/stall_proxy \
       $(BUILD)/s3tool

$(BUILD)/s3tool: $(BUILD)/obj/tests/tools/s3tool.o $(HOOKS_ON) $(BUILD)/libdscat.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/silent_listener: $(BUILD)/obj/tests/tools/silent_listener.o
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/stall_proxy: $(BUILD)/obj/tests/tools/stall_proxy.o
	$(CC) $(LDFLAGS) -o $@ $^

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# docs/openapi.json is served by GET /openapi.json exactly as it is in the repository: it is
# compiled into the library as a byte array (xxd -i), NUL-terminated.
$(BUILD)/gen/openapi.c: docs/openapi.json
	@mkdir -p $(dir $@)
	@{ echo '#include "server/openapi.h"'; \
	   echo 'const unsigned char dscat_openapi_json[] = {'; xxd -i <$<; echo ', 0x00};'; \
	   echo "const size_t dscat_openapi_json_len = $$(wc -c <$<);"; } >$@.tmp && mv $@.tmp $@

# The web UI that `dscat serve` answers at / (docs/api.md): the files of src/server/ui and
# Mermaid's ES module build (scripts/install-deps puts it in .deps/ui/mermaid), compiled into the
# library by scripts/embed-assets, each as it is and gzip-compressed (src/server/ui_assets.h).
MERMAID_DIR ?= $(CURDIR)/.deps/ui/mermaid
UI_FILES := $(filter-out %/index.html,$(wildcard src/server/ui/*))
MERMAID_CHUNKS := $(wildcard $(MERMAID_DIR)/chunks/mermaid.esm.min/*.mjs)
$(BUILD)/gen/ui_assets.c: scripts/embed-assets src/server/ui/index.html $(UI_FILES) \
                          $(MERMAID_DIR)/mermaid.esm.min.mjs $(MERMAID_CHUNKS)
	@mkdir -p $(dir $@)
	@echo "  GEN $@"
	@scripts/embed-assets $@ /=src/server/ui/index.html \
	    $(foreach f,$(UI_FILES),/ui/$(notdir $(f))=$(f)) \
	    /ui/mermaid/LICENSE=$(MERMAID_DIR)/LICENSE \
	    /ui/mermaid/mermaid.esm.min.mjs=$(MERMAID_DIR)/mermaid.esm.min.mjs \
	    $(foreach f,$(MERMAID_CHUNKS),/ui/mermaid/chunks/mermaid.esm.min/$(notdir $(f))=$(f))

$(MERMAID_DIR)/mermaid.esm.min.mjs:
	@echo "Mermaid is missing from $(MERMAID_DIR): run scripts/install-deps" >&2; exit 1

$(HOOKS_OFF): src/core/testhooks.c
	@mkdir -p $(dir $@)
	@echo "  CC $< (release)"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(HOOKS_ON): src/core/testhooks.c
	@mkdir -p $(dir $@)
	@echo "  CC $< (test hooks)"
	@$(CC) $(CPPFLAGS) -DDSCAT_TEST_HOOKS $(CFLAGS) -c $< -o $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libdscat.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	@rm -f $@ && ar rcs $@ $^

$(BUILD)/dscat: $(CLI_OBJ) $(HOOKS_OFF) $(BUILD)/libdscat.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/test/dscat: $(CLI_OBJ) $(HOOKS_ON) $(BUILD)/libdscat.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/duckq: $(BUILD)/obj/tests/tools/duckq.o
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lduckdb

$(BUILD)/search_bench: $(BUILD)/obj/bench/search_bench.o $(HOOKS_OFF) $(BUILD)/libdscat.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lduckdb

$(BUILD)/store_bench: $(BUILD)/obj/bench/store_bench.o $(HOOKS_OFF) $(BUILD)/libdscat.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/exports_bench: $(BUILD)/obj/bench/exports_bench.o $(HOOKS_OFF) $(BUILD)/libdscat.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(HOOKS_ON) $(BUILD)/libdscat.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

unit: $(UNIT_BIN)

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(HOOKS_ON) $(BUILD)/libdscat.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzzers: $(FUZZ_BIN)

fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 fuzzers

deps:
	@scripts/install-deps

demo: deps
	@$(MAKE) --no-print-directory all
	./$(BUILD)/dscat demo

check: deps
	@scripts/check

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(HOOKS_OFF:.o=.d) $(HOOKS_ON:.o=.d) $(UNIT_BIN:$(BUILD)/tests/%=$(BUILD)/obj/tests/unit/%.d) \
         $(FUZZ_BIN:$(BUILD)/fuzz/%=$(BUILD)/obj/tests/fuzz/%.d)
