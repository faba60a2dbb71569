"""What a cold start imports: `import app` loads what every request needs and nothing a single route
or an opt-in needs. Checked in fresh interpreters by `sys.modules`, not by timing (the timing is
`python -m bench.import_time`'s job)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bench.import_time import SECRET_ARNS

ROOT = Path(__file__).resolve().parents[2]
NEVER_AT_IMPORT = ("aws_xray_sdk", "cryptography", "fpdf", "uharfbuzz")  # the X-Ray SDK, PyJWT's extra, PDFs
PER_ROUTE = ("pydantic", "jinja2", "jwt", "argon2", "email_validator", "babel", "stdnum")


def _stage(name: str) -> dict[str, str]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    return {**config["environment_variables"], **config["stages"][name].get("environment_variables", {})}


def _imported_by_app(*, full: bool = False, **variables: str) -> set[str]:
    """Top-level packages (every module with `full`) in `sys.modules` after `import app` in a fresh
    interpreter with `variables`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("AWS_", "POWERTOOLS_", "XRAY_", "LAMBDA_"))}
    env.update({"AWS_REGION": "eu-central-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", **variables})
    names = "m" if full else "m.split('.')[0]"
    code = f"import json, sys; import app; print(json.dumps(sorted({{{names} for m in sys.modules}})))"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                               check=True)
    return set(json.loads(completed.stdout.splitlines()[-1]))


STAGES = {"local": _stage("local"), "prod": {**_stage("prod"), **SECRET_ARNS}}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_import_app_with_tracing_off_loads_no_xray_sdk_no_cryptography_no_pdf_stack(stage):
    loaded = _imported_by_app(**STAGES[stage])
    assert "app" in loaded and "pynamodb" in loaded
    assert not loaded & set(NEVER_AT_IMPORT), sorted(loaded & set(NEVER_AT_IMPORT))


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_import_app_leaves_what_only_some_routes_need_to_those_routes(stage):
    loaded = _imported_by_app(**STAGES[stage])
    assert not loaded & set(PER_ROUTE), (
        f"{sorted(loaded & set(PER_ROUTE))} now load with the app: import them where they are used "
        "(see chalicelib/entrypoints/api/http.py for request models)")


# Use cases only their routes need (chalicelib/platform/lazy.py): the billing services, the marketplace's and the
# accounts' own; the schedule's and the stream's (timers, deals, notifications, payouts) load with the app.
ROUTE_SERVICES = ("sites", "service_invoices", "tariff_catalog", "usage", "accounts", "bank", "orders", "offers",
                  "projects", "tasks", "team", "conversations", "gigs", "reviews", "invoices", "card_payments", "acts")


def test_import_app_leaves_the_routes_use_cases_to_their_first_request():
    loaded = _imported_by_app(full=True, **STAGES["prod"])
    assert "chalicelib.services.timers" in loaded
    early = sorted(name for name in ROUTE_SERVICES if f"chalicelib.services.{name}" in loaded)
    assert early == [], f"{early} now load with the app: name them with lazy_modules in their route's module"


def test_a_lazy_module_is_the_real_one_once_used():
    from chalicelib.platform.lazy import LazyModule, lazy_modules

    (stand_in,) = lazy_modules("chalicelib.services", "usage")
    from chalicelib.services import usage

    assert stand_in is usage or (isinstance(stand_in, LazyModule) and stand_in.report is usage.report)


def test_xray_sdk_loads_when_asked_for_in_a_lambda():
    loaded = _imported_by_app(**STAGES["prod"], XRAY_SDK="true", LAMBDA_TASK_ROOT=str(ROOT),
                              AWS_LAMBDA_FUNCTION_NAME="escrowdesk-prod-APIHandler",
                              PASSWORD_TIME_COST="2", PASSWORD_MEMORY_KIB="19456")  # the suite's cheap hashing is
    assert "aws_xray_sdk" in loaded  # refused inside Lambda


def _runtime_distributions() -> set[str]:
    """Every distribution requirements.txt installs (what `chalice package` puts into the functions)."""
    pending = [Requirement(line) for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")]
    found: set[str] = set()
    while pending:
        requirement = pending.pop()
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if name in found:
            continue
        found.add(name)
        for line in metadata.requires(requirement.name) or []:
            nested = Requirement(line)
            extras = requirement.extras or {""}
            if nested.marker is None or any(nested.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(nested)
    return found


def test_the_lambda_bundle_has_no_cryptography_so_hs256_tokens_never_load_it():
    """PyJWT imports `cryptography` whenever it is installed; only the dev tools (moto) install it here."""
    bundle = _runtime_distributions()
    assert {"pyjwt", "pynamodb", "aws-xray-sdk"} <= bundle
    assert "cryptography" not in bundle


# The bundle as Lambda loads it (infra/bundle.py) ---------------------------------------------------

def _fake_bundle(path: Path) -> Path:
    """A bundle shaped like chalice's: our code, a dependency with tests and stubs, Babel's locale data,
    botocore's service models, and a CLI-only distribution."""
    import zipfile

    files = {
        "app.py": "import chalicelib\n", "chalicelib/__init__.py": "", "pkg/__init__.py": "VALUE = 1\n",
        "pkg/__init__.pyi": "VALUE: int\n", "pkg/py.typed": "", "pkg/tests/test_pkg.py": "", "pkg/_speed.c": "",
        "babel/locale-data/root.dat": "r", "babel/locale-data/en.dat": "e", "babel/locale-data/uk_UA.dat": "u",
        "babel/locale-data/fa.dat": "f", "babel/locale-data/de.dat": "d", "babel/locale-data/ja_JP.dat": "j",
        "botocore/data/endpoints.json": "{}", "botocore/data/dynamodb/2012-08-10/service-2.json": "{}",
        "botocore/data/ec2/2016-11-15/service-2.json": "{}", "pip/__init__.py": "", "pip-26.0.dist-info/RECORD": "",
        "phonenumbers/__init__.py": "", "phonenumbers/geodata/data0.py": "X = 1\n",
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_the_bundle_keeps_what_functions_load_with_the_runtimes_byte_code(tmp_path):
    """Given chalice's bundle, the rewrite drops what no function loads and compiles every module left with
    the runtime's own Python (3.13: the same magic number), checked by hash, never by timestamp."""
    import zipfile

    from infra import bundle

    path = _fake_bundle(tmp_path / "deployment.zip")
    before, after = bundle.rewrite(path)
    names = set(zipfile.ZipFile(path).namelist())
    assert {"app.py", "pkg/__init__.py", "babel/locale-data/root.dat", "babel/locale-data/en.dat",
            "babel/locale-data/uk_UA.dat", "babel/locale-data/fa.dat", "botocore/data/endpoints.json",
            "botocore/data/dynamodb/2012-08-10/service-2.json", "phonenumbers/__init__.py"} <= names
    assert not names & {"pkg/__init__.pyi", "pkg/py.typed", "pkg/tests/test_pkg.py", "pkg/_speed.c",
                        "babel/locale-data/de.dat", "babel/locale-data/ja_JP.dat", "pip/__init__.py",
                        "botocore/data/ec2/2016-11-15/service-2.json", "pip-26.0.dist-info/RECORD",
                        "phonenumbers/geodata/data0.py"}
    assert bundle.uncompiled(path) == [] and after.pyc == after.py == 4 and before.pyc == 0
    assert bundle.bundle_magic(path) == {bundle.runtime_magic()}
    assert sys.version_info[:2] == bundle.RUNTIME
    with zipfile.ZipFile(path) as archive:
        header = archive.read("pkg/__pycache__/__init__.cpython-313.pyc")[:16]
    assert int.from_bytes(header[4:8], "little") == 0b01, "hash-based and unchecked (PEP 552)"
    assert {info.date_time for info in zipfile.ZipFile(path).infolist()} == {bundle.FIXED_TIME}


def test_a_restored_snapshot_gets_its_own_connection_and_random_state(store):
    """SnapStart's restore hook: a new DynamoDB connection and a new seed, so restored environments
    share neither."""
    import random

    from chalicelib.entrypoints import snapshot
    from chalicelib.store import models, uow

    before = uow.connection_for(models.DealModel)
    state = random.getstate()
    snapshot.renew_after_restore()
    assert uow.connection_for(models.DealModel) is not before
    assert models.DealModel._get_connection().connection is uow.connection_for(models.DealModel)
    assert random.getstate() != state
