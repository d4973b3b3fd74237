"""The contract as data, installed as the package ``contract_tests.spec_files`` (setup.py): read it with
``importlib.resources.files("contract_tests.spec_files")``, never by a path relative to a checkout."""
