# mk/static.mk: static, HTTPS-free ember and ember-jailer (issue #12).
# Included by the Makefile after its library variables, which it overrides.
#
#   STATIC=1 (default)  ember and ember-jailer are fully static (-static):
#       libmicrohttpd is Debian's source package built here without HTTPS
#       (mk/libmicrohttpd.sh; fetched once by `make deps` into MHD_CACHE,
#       which `make clean` keeps), jansson, libseccomp and liburing come from
#       Debian's -dev archives, libc from libc6-dev. Everything through
#       pkg-config, with PKG_CONFIG_PATH pointing at the private build first.
#   STATIC=0            a dynamic build against the system libraries, but
#       for libmicrohttpd.
#   SAN=1               sanitizer builds cannot be static: they link
#       dynamically.
# Every build links the private libmicrohttpd (its archive; STATIC=0 and
# SAN=1 too): it carries Ember's patches (mk/patches/libmicrohttpd-*.patch),
# without which its own answers to malformed requests are not Firecracker's,
# so every build answers alike.

# The targets below must not become the default goal (this file is included
# before the Makefile's `all`): remember it and put it back at the end.
static_mk_goal := $(.DEFAULT_GOAL)

STATIC    ?= 1
MHD_CACHE ?= build-deps/libmicrohttpd
MHD_DIR   := $(BUILD)/deps/libmicrohttpd
MHD_PREFIX := $(abspath $(MHD_DIR))/install
# Packages `make deps` needs for this build (command:package).
STATIC_DEPS_TOOLS := dpkg-source:dpkg-dev

STATIC_PKG_CONFIG := PKG_CONFIG_PATH=$(MHD_PREFIX)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH)) pkg-config
export PKG_CONFIG_PATH := $(MHD_PREFIX)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))

# Builds the private libmicrohttpd from the cached source unless it is up to
# date (offline; a no-op then); its messages go to stderr.
MHD_BUILD := CC="$(CC)" mk/libmicrohttpd.sh build $(MHD_CACHE) $(MHD_DIR) $(MHD_PREFIX)

# Evaluated on first use, then remembered; whatever uses them first (a compile,
# a link, a fuzz target) gets libmicrohttpd built before pkg-config is asked.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell $(MHD_BUILD) >&2 && $(STATIC_PKG_CONFIG) --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell $(MHD_BUILD) >&2 && $(STATIC_PKG_CONFIG) --libs $(PKGS)))$(PKG_LIBS)
STATIC_LIBS = $(eval STATIC_LIBS := $(shell $(MHD_BUILD) >&2 && $(STATIC_PKG_CONFIG) --static --libs $(PKGS)) $(HTTP_PARSER_LIBS))$(STATIC_LIBS)

# `make deps`: download the source package once (network), after the apt step.
STATIC_DEPS_FETCH := mk/libmicrohttpd.sh fetch $(MHD_CACHE) $(BUILD)/deps/apt

# check-libs runs before every compile: build it there, visibly.
.PHONY: libmicrohttpd
libmicrohttpd:
	@$(MHD_BUILD)
check-libs: libmicrohttpd

ifeq ($(STATIC),1)

# Sections per function/object so the static link drops what is unused;
# cold code (API parsing, configuration, boot, snapshots, seccomp set-up,
# the jailer) for size.
$(BUILD)/obj/%.o: CFLAGS += -ffunction-sections -fdata-sections
$(foreach d,api vmm/config vmm/boot vmm/snapshot vmm/seccomp jailer,$(BUILD)/obj/$(d)/%.o): CFLAGS += -Os

# Stripped by default (STATIC_STRIP= keeps the symbols and debug info).
STATIC_STRIP ?= -s
ifneq ($(SAN),1)
$(BUILD)/ember $(BUILD)/ember-jailer: LDFLAGS += -static -Wl,--gc-sections $(STATIC_STRIP)
$(BUILD)/ember $(BUILD)/ember-jailer: EMBER_LIBS = $(STATIC_LIBS)
$(BUILD)/ember-jailer: LDLIBS = $(STATIC_LIBS)

# Profile-guided layout: what an idle ember and a running VM execute and
# read, packed together in .text.hot and .rodata.hot, so that the kernel's
# 64 KiB fault-around maps a few windows of the binary rather than nearly
# all of it (idle VmHWM 1.18 -> 0.52 MiB). mk/ember-hot.ld is generated on a
# build machine by `make hot-layout` (mk/hot_layout.py: needs perf, /dev/kvm
# for the running-VM part, and valgrind to take seconds rather than many
# minutes) and checked in; a stale one costs resident memory, never
# correctness. EMBER_HOT_LD= links without it.
EMBER_HOT_LD ?= mk/ember-hot.ld
ifneq ($(wildcard $(EMBER_HOT_LD)),)
$(BUILD)/ember: LDFLAGS += -Wl,-T,$(EMBER_HOT_LD)
$(BUILD)/ember: $(EMBER_HOT_LD)
endif
.PHONY: hot-layout
# The objects and archives of $(BUILD)/ember's link (Makefile), in its order:
# the patterns name them as that link sees them (an object, or an archive member).
hot-layout: $(BUILD)/obj/vmm/main.o $(BUILD)/obj/vmm/base/gmtime.o $(BUILD)/libember.a guest
	mk/hot_layout.py mk/ember-hot.ld $(BUILD)/hot-layout $(BUILD)/guest/test-guest.elf -- \
		$(CC) -pthread -static -Wl,--gc-sections $(filter %.o %.a,$^) $(STATIC_LIBS)
else
$(BUILD)/ember: EMBER_LIBS = $(PKG_LIBS) $(HTTP_PARSER_LIBS)
endif
else
# Dynamic, but for the private libmicrohttpd archive (the only one in its
# -L directory): not the Makefile's system EMBER_LIBS.
$(BUILD)/ember: EMBER_LIBS = $(PKG_LIBS) $(HTTP_PARSER_LIBS)
endif
.DEFAULT_GOAL := $(static_mk_goal)
