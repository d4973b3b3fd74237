"""Stack variants: the reference login written the way common stacks' developers write it (NestJS, FastAPI, Express,
behind nginx, with an account-lockout policy). Unlike the conforming variants (``variants.py``) these are expected to
have findings: which requirement each one fails, and at which level, is data kept with the self-test
(tests/stack_expectations.yaml), not here.

To add one: write the subclass in the module of its stack, decorate it with ``@stack("name")``, import the module
below and add the entry to ``stacks.yaml``. ``registry.py`` checks both sides agree.
"""

from __future__ import annotations

from ..service import LoginService, registrar

STACK_CLASSES: dict[str, type[LoginService]] = {}


stack = registrar("stack variant", STACK_CLASSES)


from . import express, fastapi, lockout, nestjs, nginx, vocabularies  # noqa: E402, F401  (registration)
