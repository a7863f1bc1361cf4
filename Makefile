# Thin wrapper over scripts/: `make serve DOCS=~/papers`, `make test`.
DOCS ?= docs
.PHONY: all build serve test bench format clean
all: build
build:
	scripts/build.sh
serve:
	scripts/serve.sh "$(DOCS)"
test:
	scripts/test.sh
bench: build
	scripts/bench.sh
format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')
clean:
	rm -rf build build-asan
