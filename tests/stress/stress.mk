# stress.mk - `make stress`: the long versions of the reliability tests
# (tests/integration/rel_*.sh with larger settings; tests/stress/run.sh).
# `make check` runs the short versions.

.PHONY: stress

stress: check-build ## Long reliability runs: 30 s load, 200 forks, signal storm, python tests, 10^6 rows
	@BUILD=$(abspath $(BUILD)) tests/stress/run.sh
