"""One run of the suite as the plugin (contract_tests/plugin.py) drives it, a module per concern.

session.py (the run's own objects: settings, redactor, judging ledger, target, client), configuration.py (options
to a session, the report header), collection.py (markers, coverage, order, scope), planning.py (requests sent ahead),
per_test.py (one test's report: observations, gate), record.py (the run record), reporting.py (the end: gate, reports,
summary), xdist.py (controller and workers), redaction.py (logs and reports), signals.py (SIGINT / SIGTERM).
"""
