# ingestd - plain Makefile, libraries by pkg-config.
#
#   make            build build/ingestd
#   make run        install missing packages, build, serve on 0.0.0.0:8080
#   make test       install missing packages, build, run every test
#   make deps       install missing Debian packages (no-op when present)
#
# WERROR=1 turns warnings into errors (CI does this); SAN=1 builds with
# AddressSanitizer and UndefinedBehaviorSanitizer.

.SECONDEXPANSION:

CC ?= gcc
PYTHON ?= /usr/bin/python3
BUILD := build

PKGS := zlib libzstd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lz -lzstd)

WARN := -Wall -Wextra -Wshadow -Wconversion -Wsign-conversion \
        -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
        -Wimplicit-fallthrough -Wundef -Wpointer-arith -Wcast-qual \
        -Wwrite-strings -Wnull-dereference -Wdouble-promotion
ifeq ($(WERROR),1)
WARN += -Werror
endif

OPT ?= -O2
VERSION := 0.1.0
CFLAGS := -std=gnu11 $(OPT) -g -pthread -D_GNU_SOURCE -Isrc $(WARN) \
          -DINGESTD_VERSION=\"$(VERSION)\" \
          $(PKG_CFLAGS) $(EXTRA_CFLAGS)
LDLIBS := -pthread $(PKG_LIBS)

ifeq ($(SAN),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

SRCS := $(wildcard src/*.c)
OBJS := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
DEPFILES := $(OBJS:.o=.d)

UNIT_SRCS := $(filter-out tests/unit/test_support.c, \
                         $(wildcard tests/unit/*_test.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run test unit integration clean format format-check

all: $(BUILD)/ingestd

$(BUILD)/ingestd: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-missing-prototypes -MMD -MP -c -o $@ $<

# A unit test links the library objects.  While one module is being
# written, `make build/tests/x_test DEPS="x y"` links only src/x.c, src/y.c.
TEST_OBJS = $(if $(DEPS),$(DEPS:%=$(BUILD)/obj/%.o),$(LIB_OBJS))
$(BUILD)/tests/%_test: $(BUILD)/obj/tests/%_test.o \
                       $(BUILD)/obj/tests/test_support.o $$(TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

deps:
	@scripts/deps.sh

run: deps all
	@mkdir -p data
	$(BUILD)/ingestd serve --listen 0.0.0.0:8080 --data-dir ./data

unit: $(UNIT_BINS) $(BUILD)/bench/load_test
	@set -e; for t in $(UNIT_BINS) $(BUILD)/bench/load_test; do \
	    echo "== $$t"; $$t; done

integration: all $(BUILD)/alloc_count.so $(BUILD)/slow_fsync.so
	$(PYTHON) -m pytest -q tests/integration

test: deps
	$(MAKE) all unit fuzz-replay
	$(MAKE) integration

FORMAT_FILES = src/*.[ch] tests/unit/*.[ch] tests/support/*.c bench/load/*.[ch] \
               bench/validate/*.c fuzz/*.[ch]

format:
	clang-format-16 -i $(FORMAT_FILES)

format-check:
	clang-format-16 --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)

include bench/Makefile.inc
include bench/validate/Makefile.inc
include fuzz/Makefile.inc

-include $(DEPFILES)

# LD_PRELOAD helpers: the allocation counter (memory test, benchmark) and
# a slow fsync (shows that --ack durable answers wait for one).
$(BUILD)/%.so: tests/support/%.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -shared -fPIC -o $@ $< -ldl
