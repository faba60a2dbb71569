"""The bundle `make template` built (build/cloudformation/deployment.zip), checked as Lambda will load it. These
run as the last step of `make template`, after the bundle is built; on their own they need it built first."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.unit.test_cold_start import ROOT, STAGES

BUILT = ROOT / "build" / "cloudformation" / "deployment.zip"


def test_the_built_bundle_carries_only_the_runtimes_byte_code():
    """`make template`'s bundle: byte code for every module, all of it
    for the runtime's magic number."""
    from infra import bundle

    assert bundle.bundle_magic(BUILT) == {bundle.runtime_magic()}
    assert bundle.uncompiled(BUILT) == []


def test_import_app_from_the_built_bundle_uses_only_its_byte_code(tmp_path):
    """Cold start as deployed: the unpacked bundle on a read-only path, no site-packages, no bytecode
    written; `import app` loads every module of the bundle from its shipped `.pyc`."""
    from infra import bundle

    task = tmp_path / "task"
    bundle.unpack(BUILT, task)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "AWS_REGION": "eu-central-1",
           "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", **STAGES["prod"]}
    code = ("import json, os, sys; sys.path.insert(0, sys.argv[1]); import app; "
            "ours = [m for m in list(sys.modules.values())"
            " if (getattr(m, '__file__', None) or '').startswith(sys.argv[1])]; "
            "print(len(ours)); print(json.dumps([m.__name__ for m in ours if not os.path.exists(m.__cached__ or '')]))")
    completed = subprocess.run([sys._base_executable, "-S", "-c", code, str(task)], cwd=tmp_path, env=env,
                               capture_output=True, text=True, check=True)
    loaded, uncompiled = completed.stdout.splitlines()[-2:]
    assert int(loaded) > 100 and json.loads(uncompiled) == []


@pytest.fixture(autouse=True)
def _built():
    assert BUILT.exists(), "no bundle: run `make template` first"
