"""The suite as a deployment repository's CI installs it: sdist -> wheel -> a fresh venv, used from an empty
directory, far from the checkout.

Fast on purpose: no build isolation, and the fresh venv sees the dependencies already installed here through a .pth
line (a directory named in a .pth file is not scanned for .pth files, so the editable install of the checkout does
not come along: the test checks that contract_tests is imported from the fresh venv).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import contract_tests
from contract_tests.contract.catalog import catalog_digest, load_catalog
from contract_tests.contract.spec import spec_digest

ROOT = Path(__file__).resolve().parents[1]
SPEC_FILES = ("login.openapi.json", "clarifications.yaml", "requirements.yaml", "requirements.schema.json")
DATA_SUFFIXES = (".yaml", ".json", ".j2", ".ini")


def _run(cmd, cwd, env=None, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{proc.args}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def _package_data_in_checkout() -> set[str]:
    files = {f"contract_tests/spec_files/{name}" for name in SPEC_FILES}
    for path in (ROOT / "contract_tests").rglob("*"):
        if path.suffix in DATA_SUFFIXES and "__pycache__" not in path.parts:
            files.add(path.relative_to(ROOT).as_posix())
    return files


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """An sdist of the checkout, and the wheel built from that sdist (so the sdist has to be complete)."""
    out = tmp_path_factory.mktemp("dist")
    src = out / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis", "reports", "mutants", ".tox"))
    build = [sys.executable, "-c",
             "import sys; from setuptools import build_meta as b; print(getattr(b, sys.argv[1])(sys.argv[2]))"]
    sdist = out / _ok(_run([*build, "build_sdist", out], cwd=src)).stdout.split()[-1]
    with tarfile.open(sdist) as tar:
        tar.extractall(out / "unpacked", filter="data")
    unpacked = next((out / "unpacked").iterdir())
    wheel = out / _ok(_run([*build, "build_wheel", out], cwd=unpacked)).stdout.split()[-1]
    return sdist, wheel


@pytest.fixture(scope="module")
def venv(dists, tmp_path_factory):
    """A fresh venv with the wheel installed and, behind it, the dependencies installed here."""
    _, wheel = dists
    home = tmp_path_factory.mktemp("venv")
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", home], cwd=home))
    python = home / "bin" / "python"
    _ok(_run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index",
              wheel], cwd=home))
    site = Path(_ok(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=home))
                .stdout.strip())
    here = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "zz-dependencies-of-the-checkout.pth").write_text("\n".join(here) + "\n")
    return python, site


@pytest.fixture
def work(tmp_path):
    """An empty directory, and an environment free of this run's pytest and suite variables."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "LOGIN_", "GITHUB_", "HYPER3D_")) and k not in ("PYTHONPATH",)}
    return tmp_path, env


def test_sdist_and_wheel_ship_the_spec_and_every_data_file(dists):
    sdist, wheel = dists
    with tarfile.open(sdist) as tar:
        in_sdist = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert {f"spec/{name}" for name in SPEC_FILES} <= in_sdist
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    assert _package_data_in_checkout() <= in_wheel
    entry_points = next(n for n in in_wheel if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[pytest11]\ncontract_tests = contract_tests.entry" in text
    assert "hyper3d-login-conformance = contract_tests.__main__:main" in text


def test_installed_package_reads_its_resources_from_the_venv(venv, work):
    python, site = venv
    cwd, env = work
    probe = ("import contract_tests, contract_tests.contract.spec as s, contract_tests.contract.catalog as c; "
             "print(contract_tests.__file__); print(s.SPEC_DIR); print(len(c.load_catalog()))")
    out = _ok(_run([python, "-c", probe], cwd=cwd, env=env)).stdout.split()
    assert Path(out[0]).is_relative_to(site) and Path(out[1]).is_relative_to(site)
    assert int(out[2]) == len(load_catalog())


def _verdicts(report_dir: Path) -> dict[str, str]:
    report = json.loads((report_dir / "conformance.json").read_text())
    return {r["id"]: r["verdict"] for r in report["requirements"]}


def test_both_entry_points_run_the_suite_from_an_empty_directory_with_the_same_verdicts(venv, work):
    python, site = venv
    cwd, env = work
    pyargs = _ok(_run([python, "-m", "pytest", "--pyargs", "contract_tests.suite", "--bundled-server", "--report-dir=a"],
                      cwd, env))
    module = _ok(_run([python, "-m", "contract_tests", "--bundled-server", "--report-dir=b"], cwd, env))
    for proc in (pyargs, module):
        assert "hyper3d-login suite: hyper3d-login-conformance" in proc.stdout
        assert "gate --fail-on=must: CONFORMING" in proc.stdout
        assert "warning" not in proc.stdout.splitlines()[-1]
        assert proc.stdout.splitlines()[-1].startswith("hyper3d-login: CONFORMING at --fail-on=must")  # the verdict last
    # the tests collected are the installed ones (test_installed_package_reads_its_resources_from_the_venv)
    assert f"rootdir: {site / 'contract_tests'}" in module.stdout and "configfile: suite.ini" in module.stdout
    assert _verdicts(cwd / "a") == _verdicts(cwd / "b")
    assert set(_verdicts(cwd / "a")) == set(load_catalog())
    # nothing else in the working directory but pytest's own cache (of the plain pytest run; python -m has none)
    assert sorted(p.name for p in cwd.iterdir()) == [".pytest_cache", "a", "b"]


def test_console_script_version_and_requirement_listing(venv, work):
    python, _ = venv
    cwd, env = work
    script = python.parent / "hyper3d-login-conformance"
    version = _ok(_run([script, "--version"], cwd, env)).stdout.splitlines()[0]
    assert version == (f"hyper3d-login-conformance {contract_tests.__version__} "
                       f"(catalog {catalog_digest()}, spec {spec_digest()})")
    listing = _ok(_run([script, "--list-requirements"], cwd, env)).stdout
    assert [line.split()[0] for line in listing.splitlines()[1:-1]] == list(load_catalog())
    same = _ok(_run([python, "-m", "pytest", "--list-requirements"], cwd, env)).stdout
    assert same == listing


def test_the_suite_without_its_plugin_is_one_error_line(venv, work):
    python, _ = venv
    cwd, env = work
    proc = _run([python, "-m", "pytest", "-p", "no:contract_tests", "--pyargs", "contract_tests.suite"], cwd, env)
    assert proc.returncode == 4, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "the contract suite runs with its plugin" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_an_unrelated_project_sees_no_difference(venv, work):
    python, _ = venv
    cwd, env = work
    (cwd / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")

    def output(*args: str) -> str:
        proc = _ok(_run([python, "-m", "pytest", *args], cwd, env))
        text = re.sub(r"\d+\.\d+s", "<t>s", proc.stdout) + proc.stderr
        return re.sub(r"Using --randomly-seed=\d+", "<random seed>", text)  # pytest-randomly's header, per run

    assert output("-q") == output("-q", "-p", "no:contract_tests")
    # pytest itself lists every installed plugin in its header line; nothing else may differ
    full, without = output(), output("-p", "no:contract_tests")
    assert "hyper3d-login-conformance" in full and "hyper3d-login-conformance" not in without
    drop_plugins = re.compile(r"^plugins: .*\n", re.M)
    assert drop_plugins.sub("", full) == drop_plugins.sub("", without)
