"""python -m contract_tests.reference [--host H] [--port P] [--fault NAME] [--variant NAME] [--list]"""

from __future__ import annotations

import argparse
import sys

import uvicorn

from . import DEMO_EMAIL, DEMO_PASSWORD, FAULTS, LOGIN_PATH, STACKS, VARIANTS, create_app
from .server import bind_socket, socket_url, uvicorn_config


def print_catalog() -> None:
    width = max(len(name) for name in [*FAULTS, *VARIANTS, *STACKS])
    print("faults (each breaks the listed requirements):")
    for m in FAULTS.values():
        print(f"  {m.name:<{width}}  {','.join(m.breaks):<9}  {m.description}")
    print("variants (conforming):")
    for m in VARIANTS.values():
        print(f"  {m.name:<{width}}  {'':<9}  {m.description}")
    print("stack variants (--variant too; written as each stack's developers write it, findings expected):")
    for m in STACKS.values():
        print(f"  {m.name:<{width}}  {'':<9}  {m.description}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contract_tests.reference",
                                     description="Run the bundled Hyper3D login reference server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port (default 8080)")
    parser.add_argument("--fault", help="switch one named fault on (see --list)")
    parser.add_argument("--variant", help="switch one conforming or stack variant on (see --list)")
    parser.add_argument("--list", action="store_true", help="list faults and variants, then exit")
    parser.add_argument("--throttle-after", type=int, metavar="N",
                        help="switch brute-force throttling on: N failed logins in a row lock an account key (429)")
    args = parser.parse_args(argv)
    if args.list:
        print_catalog()
        return 0
    try:
        app = create_app(fault=args.fault, variant=args.variant)
    except (ValueError, RuntimeError) as exc:
        parser.error(str(exc))
    if args.throttle_after is not None:
        app.state.service.throttle_after = max(1, args.throttle_after)
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    url = socket_url(sock)
    mode = "".join(f" {k}={v}" for k, v in (("fault", args.fault), ("variant", args.variant)) if v)
    print(f"Hyper3D login reference server{mode} at {url} (login: POST {url}{LOGIN_PATH})", flush=True)
    print(f"LOGIN_EMAIL={DEMO_EMAIL}", flush=True)
    print(f"LOGIN_PASSWORD={DEMO_PASSWORD}", flush=True)
    if app.state.service.captcha_required:
        from .guards import CAPTCHA_TEST_TOKEN

        print(f"LOGIN_CAPTCHA_TOKEN={CAPTCHA_TEST_TOKEN}  (good for one login)", flush=True)
    uvicorn.Server(uvicorn_config(app, timeout_graceful_shutdown=None)).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
