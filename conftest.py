# The contract suite's plugin, for runs from a checkout (`pytest --base-url=...`), and pytester
# for the suite's own tests. Elsewhere:
#   pytest -p contract_tests.plugin --pyargs contract_tests.suite --base-url=...
pytest_plugins = ["contract_tests.plugin", "pytester"]
