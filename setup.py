"""Package layout only; everything else is in pyproject.toml."""

from setuptools import find_namespace_packages, setup

# spec/ (the vendor document, our clarifications, the requirement catalog) stays at the top of the repository,
# where readers of the contract look for it, and installs as the package contract_tests.spec_files.
# Namespace discovery: the template folders (report/templates, fleet/templates) hold data only, no __init__.py.
setup(
    packages=[*find_namespace_packages(include=["contract_tests", "contract_tests.*"], exclude=["*.__pycache__"]),
              "contract_tests.spec_files"],
    package_dir={"contract_tests.spec_files": "spec"},
)
