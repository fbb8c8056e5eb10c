# p2pdvm: two commands matter on a fresh machine.
#   make demo   heat with 4 ranks on an embedded 4-peer DVM
#   make test   the whole test suite (what .ci/run runs)

GO       ?= go
BIN      := bin
HEAT_REF := 592716.52687308204
# A count, not a duration: when a duration runs out mid-minimisation Go can
# report "context deadline exceeded" as a failure, which makes CI flaky.
FUZZTIME ?= 300000x

.PHONY: all build lib demo test test-unit test-race test-churn fuzz bench mpich-suite clean

all: build

build: lib
	$(GO) build -o $(BIN)/p2pdvm ./cmd/p2pdvm
	$(GO) build -o $(BIN)/p2pdvm-sandbox ./cmd/p2pdvm-sandbox
	ln -sf p2pdvm $(BIN)/mpicc
	$(GO) build -o $(BIN)/heat ./examples/heat
	$(GO) build -o $(BIN)/pingpong ./examples/pingpong

# The C MPI library: mpishim/cabi as a static archive, and mpi.h beside
# it, where `p2pdvm mpicc` looks (../include and ../lib from bin/).
lib:
	$(GO) build -buildmode=c-archive -o lib/libp2pdvm_mpi.a ./mpishim/cabi
	rm -f lib/libp2pdvm_mpi.h
	install -D -m 644 mpishim/cabi/mpi.h include/mpi.h

# The demo's heat run is the one whose serial checksum is known, so the
# line it prints can be checked, not just admired.
demo: build
	@echo "== heat 2000 256 with 4 ranks on an embedded DVM of 4 peers"
	@out=$$($(BIN)/p2pdvm run -n 4 --peers 4 $(BIN)/heat 2000 256) || exit $$?; \
	echo "$$out"; \
	case "$$out" in *"checksum=$(HEAT_REF) "*) echo "== checksum equals the serial run's ($(HEAT_REF))";; \
	  *) echo "== checksum differs from the serial run's ($(HEAT_REF))"; exit 1;; esac

test: test-race test-churn fuzz

# Every package under -race: the runtime is concurrent everywhere.
test-race:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 10m ./...

# The churn tests at full size (64 peers, 16 ranks; the race detector
# makes that too slow for -race, which runs them smaller).
test-churn:
	$(GO) test -count=1 -timeout 5m -run 'TestChurnMocknet' ./dvm/

# A short run of every fuzz target; the corpus grows in testdata/fuzz.
FUZZPKGS := ./internal/wire ./peal ./mpishim/dtype ./storage
fuzz:
	@for p in $(FUZZPKGS); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p | grep ^Fuzz); do \
	    echo "fuzz $$p $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$p || exit 1; done; done

bench:
	bash bench/run.sh

# MPICH's own test suite (test/mpi of MPICH 4.0.2), compiled unchanged with
# p2pdvm mpicc and run with p2pdvm run; writes docs/CONFORMANCE.md. Not part
# of `make test`: it downloads ~21 MB and runs for an hour or more.
# DIRS=, ONLY=, TIMEOUT= narrow or stretch it (see conformance/mpich.sh).
mpich-suite: build
	bash conformance/mpich.sh

clean:
	rm -rf $(BIN) lib include bench/build
