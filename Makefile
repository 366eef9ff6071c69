# The two commands: `make run` (demo panel on embedded defaults) and `make test` (ruff + pytest).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The demo's simulated providers listen on this port and the next one.
PROVIDER_PORT ?= 8001

.PHONY: run test lint format install clean messages compilemessages

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# The demo's simulated providers listen on localhost, an address production refuses.
DEMO_ENV := DEBUG=1 PROVIDER_ALLOW_PRIVATE_URLS=1

run: install
	$(DEMO_ENV) $(PY) manage.py migrate --noinput
	$(DEMO_ENV) $(PY) manage.py demo_setup --provider-port $(PROVIDER_PORT)
	$(DEMO_ENV) $(PY) manage.py run_demo --port $(PORT) --provider-port $(PROVIDER_PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

test: lint
	$(PY) -m pytest

# The catalogs of the customer side's languages (English is the source). `make messages` adds the new strings
# of the templates and code to locale/*/LC_MESSAGES/django.po; translate them, then `make compilemessages`
# (both need GNU gettext). tests/panel/test_i18n_catalogs.py fails on a missing translation or a stale .mo.
LOCALES := zh_Hant ru es
messages: install
	DEBUG=1 $(PY) manage.py makemessages $(addprefix -l ,$(LOCALES)) --no-obsolete --no-wrap --add-location file \
		--ignore 'tests/*' --ignore 'benchmarks/*' --ignore 'var/*' --ignore 'templates/admin/*'

compilemessages: install
	DEBUG=1 $(PY) manage.py compilemessages --ignore '.venv' --ignore 'var'

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf var .pytest_cache .ruff_cache
