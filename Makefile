.PHONY: run test install

# Install into .venv and run the whole default job on the default corpus.
run:
	scripts/run.sh

# Install into .venv with the test extras and run lint, types and the whole test suite.
test:
	scripts/test.sh

install:
	scripts/bootstrap.sh test
