"""`python -m infra.bundle build/cloudformation/deployment.zip` rewrites the functions' bundle that
`chalice package` built: without what no function loads, and with the byte code of everything that stays.

Lambda's `/var/task` is read-only, so a bundle without byte code is compiled again at every cold start
(Python cannot write its `__pycache__` there). The byte code is compiled by this interpreter, which must
be the runtime's version (`python3.13`: chalice takes the runtime from the interpreter that packages, and
`bundle_magic` is checked against it), with `--invalidation-mode unchecked-hash`: the loader trusts a
`.pyc` without comparing it with the source's timestamp, which a zip does not keep exactly. The `.py`
files stay beside it, so tracebacks show their lines.

What goes (each entry says why no function loads it):

- the distributions only chalice's CLI and pip need (`CLI_ONLY`): chalice packages its own
  requirements with ours, but a function imports only `chalice.app`;
- Babel's locale data beyond the service's languages (`LOCALES`) and CLDR's root;
- the service models of botocore for the AWS services no function calls (`BOTOCORE_SERVICES` keeps the rest);
- phonenumbers' geocoding, carrier and time-zone tables (`identifiers.py` only parses and validates);
- the C, Cython and header sources of compiled extensions, type stubs, test folders, and fontTools'
  optional Cython accelerators (each has the pure Python module it was compiled from, which fpdf2's font
  subsetting uses at the same results);
- Powertools' Swagger UI assets (the API documents itself with its own `/openapi.json`);
- python-stdnum's data files but the IBAN registry (`identifiers.py` checks EDRPOU, RNOKPP and IBAN);
- Pillow's AVIF and Tk modules and the AVIF library (fpdf2 embeds no AVIF image and there is no Tk;
  Pillow skips a plugin whose module is missing), and uharfbuzz's test module.

The zip is written again with one fixed timestamp and its entries in order, so the same input gives the
same bytes (the SnapStart variant names each published version after the bundle's hash).
"""
from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import py_compile
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

RUNTIME = (3, 13)
LOCALES = ("en", "ru", "uk", "fa")  # chalicelib/platform/config.py LOCALES
# What chalice, pip and num2words' command line bring along; none of them is imported by the functions.
CLI_ONLY = ("pip", "setuptools", "_distutils_hack", "wheel", "yaml", "_yaml", "click", "blessed", "wcwidth",
            "jinxed", "inquirer", "readchar", "editor", "runs", "xmod", "docopt")
CLI_ONLY_DISTRIBUTIONS = ("pip", "setuptools", "wheel", "pyyaml", "click", "blessed", "wcwidth", "jinxed",
                          "inquirer", "readchar", "editor", "runs", "xmod", "docopt")
# The AWS services the functions call: DynamoDB (PynamoDB), S3 (files), SES v2 (mail), SQS (the timer
# queue), and Secrets Manager and SSM (Powertools' Parameters). A new boto3 client needs its service here.
BOTOCORE_SERVICES = ("dynamodb", "s3", "sesv2", "sqs", "secretsmanager", "ssm", "sts")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)

_SOURCE_SUFFIXES = (".c", ".h", ".cpp", ".pyx", ".pxd", ".pyi")
_LOCALE_FILE = re.compile(r"^babel/locale-data/(?P<name>[^/]+)\.dat$")
_KEPT_LOCALE = re.compile(rf"^(root|(?:{'|'.join(LOCALES)})(?:_\w+)?)$")
_PHONE_EXTRAS = ("geodata", "carrierdata", "tzdata")
_PHONE_EXTRA_MODULES = ("geocoder.py", "carrier.py", "timezone.py")


def dropped(name: str) -> bool:
    """Whether the bundle's entry `name` (a POSIX path inside the zip) is something no function loads."""
    path = PurePosixPath(name)
    parts = path.parts
    top = parts[0]
    if top.split("-")[0].lower().replace("_", "") in {d.replace("_", "") for d in CLI_ONLY_DISTRIBUTIONS} and (
            top.endswith((".dist-info", ".data"))):
        return True
    if top.removesuffix(".py").split(".")[0] in CLI_ONLY or top == "distutils-precedence.pth":
        return True
    if top.endswith("-stubs") or path.name == "py.typed" or path.suffix in _SOURCE_SUFFIXES:
        return True
    if any(part in ("tests", "test") for part in parts[1:-1]):
        return True
    locale = _LOCALE_FILE.match(name)
    if locale:
        return not _KEPT_LOCALE.match(locale["name"])
    if top == "botocore" and len(parts) > 3 and parts[1] == "data":
        return parts[2] not in BOTOCORE_SERVICES
    if top == "phonenumbers" and len(parts) > 1 and (parts[1] in _PHONE_EXTRAS or
                                                     (len(parts) == 2 and parts[1] in _PHONE_EXTRA_MODULES)):
        return True
    if top == "fontTools" and path.suffix == ".so":
        return True
    if top == "stdnum" and path.suffix == ".dat":
        return name != "stdnum/iban.dat"
    if top in ("PIL", "uharfbuzz") and path.name.startswith(("_avif.", "_imagingtk.", "_harfbuzz_test.")):
        return True
    return name.startswith(("aws_lambda_powertools/event_handler/openapi/swagger_ui/", "pillow.libs/libavif-"))


@dataclass(frozen=True)
class Sizes:
    """A bundle's entries and unpacked bytes."""

    files: int
    unpacked: int
    py: int
    pyc: int

    @classmethod
    def of(cls, bundle: Path) -> Sizes:
        with zipfile.ZipFile(bundle) as archive:
            infos = [info for info in archive.infolist() if not info.is_dir()]
        return cls(len(infos), sum(info.file_size for info in infos),
                   sum(info.filename.endswith(".py") for info in infos),
                   sum(info.filename.endswith(".pyc") for info in infos))


def check_interpreter() -> None:
    if sys.version_info[:2] != RUNTIME:
        raise SystemExit(f"the bundle's byte code must be compiled by Python {'.'.join(map(str, RUNTIME))}, "
                         f"the runtime's; this is {sys.version.split()[0]}")


def _compile(root: Path) -> None:
    """Byte code for every module, checked against nothing but the source's hash when asked to (never on Lambda)."""
    ok = compileall.compile_dir(root, quiet=1, workers=min(2, os.cpu_count() or 1), ddir="/var/task",
                                invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    if not ok:
        raise SystemExit("some modules of the bundle do not compile (see above)")


def _write(root: Path, bundle: Path, modes: dict[str, int]) -> None:
    entries = sorted(str(path.relative_to(root).as_posix()) for path in root.rglob("*") if path.is_file())
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = modes.get(name, 0o100644) << 16
            archive.writestr(info, (root / name).read_bytes(), compresslevel=6)


def rewrite(bundle: Path) -> tuple[Sizes, Sizes]:
    """Trim and compile `bundle` in place; its sizes before and after."""
    check_interpreter()
    before = Sizes.of(bundle)
    with tempfile.TemporaryDirectory(prefix="escrowdesk-bundle-") as scratch:
        root = Path(scratch)
        modes: dict[str, int] = {}
        with zipfile.ZipFile(bundle) as archive:
            for info in archive.infolist():
                if info.is_dir() or dropped(info.filename) or "__pycache__/" in info.filename:
                    continue
                archive.extract(info, root)
                modes[info.filename] = (info.external_attr >> 16) or 0o100644
        _compile(root)
        rewritten = bundle.with_suffix(".tmp")
        _write(root, rewritten, modes)
        rewritten.replace(bundle)
    return before, Sizes.of(bundle)


def bundle_magic(bundle: Path) -> set[bytes]:
    """The magic numbers of every `.pyc` in `bundle` (one, the runtime's, when it was built right)."""
    with zipfile.ZipFile(bundle) as archive:
        return {archive.open(name).read(4) for name in archive.namelist() if name.endswith(".pyc")}


def uncompiled(bundle: Path) -> list[str]:
    """The bundle's modules that have no byte code beside them."""
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
    missing = []
    for name in sorted(names):
        if name.endswith(".py"):
            path = PurePosixPath(name)
            cached = path.parent / "__pycache__" / f"{path.stem}.{sys.implementation.cache_tag}.pyc"
            if str(cached) not in names:
                missing.append(name)
    return missing


def unpack(bundle: Path, target: Path, *, without: Iterable[str] = ()) -> None:
    """`bundle` as Lambda lays it out in /var/task (`without` these suffixes, e.g. to time it with no byte code)."""
    shutil.rmtree(target, ignore_errors=True)
    skipped = tuple(without)
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            if not skipped or not info.filename.endswith(skipped):
                archive.extract(info, target)


def runtime_magic() -> bytes:
    return importlib.util.MAGIC_NUMBER


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path, help="the deployment.zip that chalice package wrote")
    args = parser.parse_args(argv)
    before, after = rewrite(args.bundle)
    print(f"{args.bundle}: {before.files} files, {_mb(before.unpacked)} unpacked, {before.pyc} .pyc -> "
          f"{after.files} files, {_mb(after.unpacked)} unpacked, {after.py} .py with {after.pyc} .pyc "
          f"({after.unpacked / before.unpacked:.0%}); zipped {_mb(args.bundle.stat().st_size)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
