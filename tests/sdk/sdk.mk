# Firecracker's own Go SDK driving Ember (tests/sdk/README.md). Included from
# the top Makefile. Go is a test client only: where `go` is missing the binary
# is not built and the scripts that use it skip, saying why.
#   $(BUILD)/tests/sdk/ember-sdk-test   the SDK client (part of test-bins)
#   make sdk-deps                       the pinned modules into Go's module
#                                       cache (part of `make deps`)
GO ?= go
SDK_GOENV := GOFLAGS=-mod=readonly GOTOOLCHAIN=local
SDK_TEST_BIN := $(if $(shell command -v $(GO) 2>/dev/null),$(BUILD)/tests/sdk/ember-sdk-test)

.PHONY: sdk-deps
sdk-deps:
	@if command -v $(GO) >/dev/null; then cd tests/sdk && $(SDK_GOENV) $(GO) mod download; \
	else echo "deps: no 'go': tests/sdk (Firecracker's Go SDK against Ember) will be skipped"; fi

# Static (no cgo): the nested KVM host runs it too.
$(BUILD)/tests/sdk/ember-sdk-test: $(wildcard tests/sdk/*.go) tests/sdk/go.mod tests/sdk/go.sum
	@mkdir -p $(dir $@)
	cd tests/sdk && $(SDK_GOENV) CGO_ENABLED=0 $(GO) build -trimpath -o $(abspath $@) .

test-bins linux-test linux-test-here: $(SDK_TEST_BIN)
deps: sdk-deps
