"""The suite as a deployment repository's CI installs it: sdist -> wheel -> a fresh venv, used from an empty
directory, far from the checkout.

Fast on purpose: no build isolation, and the fresh venv sees the dependencies already installed here through a .pth
line (a directory named in a .pth file is not scanned for .pth files, so the editable install of the checkout does
not come along: the test checks that contract_tests is imported from the fresh venv).

A second venv is what a CI job testing a deployment installs: the wheel without its ``reference`` extra (the
bundled server's dependencies, and what only they need, left out of the directory it sees). It runs against a
reference server this process starts, and asked for the bundled server it says which extra to install.
"""

from __future__ import annotations

import email.parser
import importlib.metadata
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
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

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


def _new_venv(wheel: Path, home: Path, dependencies: list[str]) -> tuple[Path, Path]:
    """A venv with *wheel* installed alone, and a .pth line naming the *dependencies* directories."""
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", home], cwd=home))
    python = home / "bin" / "python"
    _ok(_run([sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index",
              wheel], cwd=home))
    site = Path(_ok(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=home))
                .stdout.strip())
    (site / "zz-dependencies-of-the-checkout.pth").write_text("\n".join(dependencies) + "\n")
    return python, site


@pytest.fixture(scope="module")
def venv(dists, tmp_path_factory):
    """A fresh venv with the wheel installed and, behind it, the dependencies installed here."""
    _, wheel = dists
    here = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    return _new_venv(wheel, tmp_path_factory.mktemp("venv"), list(here))


def _wheel_requirements(wheel: Path, extra: str) -> list[Requirement]:
    """The wheel's requirements for *extra* ("": the suite's own dependencies)."""
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = email.parser.Parser().parsestr(archive.read(metadata).decode())
    requirements = [Requirement(text) for text in message.get_all("Requires-Dist") or []]
    return [r for r in requirements if (r.marker.evaluate({"extra": extra}) if r.marker else not extra)
            and not (extra and r.marker and r.marker.evaluate({"extra": ""}))]


def _closure(requirements: list[Requirement]) -> set[str]:
    """The distributions installed here that *requirements* need, transitively (their extras included)."""
    names: set[str] = set()
    seen: set[tuple[str, frozenset]] = set()
    todo = list(requirements)
    while todo:
        requirement = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        names.add(key[0])
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in {"", *requirement.extras}):
                todo.append(sub)
    return names


@pytest.fixture(scope="module")
def venv_without_reference(dists, tmp_path_factory):
    """The wheel in a fresh venv whose dependency directory lacks every distribution only the reference extra needs."""
    _, wheel = dists
    reference = _wheel_requirements(wheel, "reference")
    assert {canonicalize_name(r.name) for r in reference} >= {"starlette", "uvicorn", "argon2-cffi", "pyjwt"}
    left_out = _closure(reference) - _closure(_wheel_requirements(wheel, ""))
    entries = {str(file).split("/")[0] for name in left_out for file in importlib.metadata.distribution(name).files or ()
               if not str(file).startswith("..")}
    home = tmp_path_factory.mktemp("venv-without-reference")
    dependencies = home / "dependencies"
    dependencies.mkdir()
    for directory in dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]):
        for entry in Path(directory).iterdir():
            if entry.name not in entries and not (dependencies / entry.name).exists():
                (dependencies / entry.name).symlink_to(entry)
    (home / "venv").mkdir()
    python, site = _new_venv(wheel, home / "venv", [str(dependencies)])
    return python, left_out


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
    assert "hyper3d-login-conformance = contract_tests.__main__:console" in text


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


def test_without_the_reference_extra_the_suite_tests_a_deployment(venv_without_reference, work):
    """What a CI job installs: the suite alone. Pointed at a running server with --base-url it runs and judges."""
    python, left_out = venv_without_reference
    cwd, env = work
    for module in ("starlette", "uvicorn", "argon2", "jwt"):
        proc = _run([python, "-c", f"import {module}"], cwd, env)
        assert proc.returncode == 1 and "ModuleNotFoundError" in proc.stderr, (module, left_out)
    from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD, start_reference_server

    script = python.parent / "hyper3d-login-conformance"
    with start_reference_server() as server:
        proc = _run([script, f"--base-url={server.url}", "--report-dir=out", "-q"], cwd,
                    {**env, "LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert proc.stdout.splitlines()[-1].startswith("hyper3d-login: CONFORMING at --fail-on=must")
    assert "BUNDLED" not in proc.stdout
    assert set(_verdicts(cwd / "out")) == set(load_catalog())


def test_without_the_reference_extra_the_bundled_server_names_the_extra(venv_without_reference, work):
    python, _ = venv_without_reference
    cwd, env = work
    script = python.parent / "hyper3d-login-conformance"
    for args in (["--bundled-server"], ["--reference-fault=echo-password"]):
        proc = _run([script, *args, "--report-dir=out"], cwd, env)
        output = proc.stdout + proc.stderr
        assert proc.returncode == 4, output[-4000:]
        assert "Traceback" not in output and "ModuleNotFoundError" not in output
        said = [line for line in output.splitlines() if "needs the 'reference' extra" in line]
        assert said and 'hyper3d-login-conformance[reference]' in said[0], output[-4000:]
        report = json.loads((cwd / "out" / "conformance.json").read_text())
        assert report["run"]["verdict"] == "could-not-test" and report["run"]["exit_status"] == 4
        assert "'reference' extra" in report["run"]["could_not_test"]
