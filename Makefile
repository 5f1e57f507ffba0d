# selfhosted.flask_blog — development entry points. `make test` is the one command CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help
SCENARIO ?=

.PHONY: help setup demo demo-clean test lint docs sanity unit molecule images bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: ## Install what the tests need (host packages as root, .venv, Docker engine, images)
	@scripts/setup.sh

demo: setup ## Deploy the example blog into a local systemd container and print its URL
	@scripts/demo.sh

demo-clean: ## Remove the demo container and its secrets
	@scripts/demo.sh clean

test: setup ## Run every test layer: lint, docs, sanity, galaxy, unit, molecule (Debian 12 and 13)
	@scripts/test.sh

lint: setup ## yamllint, ansible-lint (production profile), ruff and the role docs check
	@scripts/test.sh yamllint ansible_lint ruff docs

docs: setup ## Regenerate the variables tables of roles/*/README.md from meta/argument_specs.yml
	@scripts/role-docs.sh

sanity: setup ## ansible-test sanity, offline
	@scripts/test.sh sanity

unit: setup ## pytest: the example blog and the module logic
	@scripts/test.sh unit

molecule: setup ## All molecule scenarios, or one: make molecule SCENARIO=python_venv
	@SCENARIOS="$(SCENARIO)" scripts/test.sh molecule

bench: setup ## Benchmarks (benchmarks/): figures side by side with a baseline, no pass or fail
	@for b in benchmarks/*.py; do echo "=== $$b"; .venv/bin/python "$$b" || exit 1; done

images: ## Build the systemd test images when missing
	@scripts/docker-engine.sh && scripts/build-images.sh
