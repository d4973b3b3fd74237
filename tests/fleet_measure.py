"""Measure (by hand, not a self-test): a fleet of 10 reference-server deployments run with bounded concurrency, against
the slowest of them run alone. The goal is a fleet at most twice its slowest deployment.

    .venv/bin/python tests/fleet_measure.py [--jobs 4] [--out /tmp/fleet-measure]

Each deployment is a reference server (a conforming variant, or a fault) in its own process on a free loopback port;
each is first run alone (one after the other), then all together as a fleet; the wall times are printed.
docs/fleet.md gives the numbers of a run.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from contract_tests.reference import DEMO_EMAIL, DEMO_PASSWORD

DEPLOYMENTS = {  # name: the reference server's switch
    "reference": [], "slow": ["--variant", "slow"], "validation-422": ["--variant", "validation-422"],
    "reject-unknown-fields": ["--variant", "reject-unknown-fields"], "extra-fields": ["--variant", "extra-fields"],
    "gzip": ["--variant", "gzip"], "field-errors": ["--variant", "field-errors"], "rs256-kid": ["--variant", "rs256-kid"],
    "lockout-403": ["--variant", "lockout-403"], "cors-reflect-origin": ["--fault", "cors-reflect-origin"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, limit: float = 60.0) -> None:
    end = time.monotonic() + limit
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 -- a loopback URL of ours
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="fleet-measure-")))
    options = parser.parse_args()
    env = {**os.environ, "FLEET_EMAIL": DEMO_EMAIL, "FLEET_PASSWORD": DEMO_PASSWORD}
    servers, urls = [], {}
    try:
        for name, switch in DEPLOYMENTS.items():
            port = _free_port()
            servers.append(subprocess.Popen([sys.executable, "-m", "contract_tests.reference", "--port", str(port),
                                             *switch], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            urls[name] = f"http://127.0.0.1:{port}"
        for url in urls.values():
            _wait_up(url)
        fleet_file = options.out / "fleet.yaml"
        options.out.mkdir(parents=True, exist_ok=True)
        fleet_file.write_text("deployments:\n" + "".join(
            f"  - {{name: {name}, base_url: '{url}', credentials: {{email: FLEET_EMAIL, password: FLEET_PASSWORD}}}}\n"
            for name, url in urls.items()))
        alone = {}
        for name, url in urls.items():
            started = time.monotonic()
            proc = subprocess.run([sys.executable, "-m", "contract_tests", f"--base-url={url}",
                                   f"--report-dir={options.out / 'alone' / name}"], capture_output=True, text=True,
                                  env={**env, "LOGIN_EMAIL": DEMO_EMAIL, "LOGIN_PASSWORD": DEMO_PASSWORD})
            alone[name] = time.monotonic() - started
            print(f"alone  {name:<24} {alone[name]:6.1f} s  exit {proc.returncode}", flush=True)
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "contract_tests", "fleet", str(fleet_file), "--report-dir",
                               str(options.out / "fleet"), "--jobs", str(options.jobs)], capture_output=True,
                              text=True, env=env)
        fleet = time.monotonic() - started
        slowest = max(alone, key=alone.get)
        print(proc.stdout.splitlines()[-1])
        print(f"sum of the runs alone: {sum(alone.values()):.1f} s; slowest alone: {slowest} {alone[slowest]:.1f} s")
        print(f"fleet of {len(urls)}, --jobs {options.jobs}: {fleet:.1f} s = {fleet / alone[slowest]:.2f} x the slowest "
              f"alone (goal: at most 2)")
        return 0
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
