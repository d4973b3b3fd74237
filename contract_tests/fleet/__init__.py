"""The fleet: many deployments of the login API, one report.

``hyper3d-login-conformance fleet FLEET.yaml --report-dir DIR`` runs each deployment of the fleet file
(fleet_file.py, fleet.schema.json) as its own suite process, a bounded number at once (runner.py), each writing its
reports under DIR/NAME; then builds the fleet report from those conformance.json files (sources.py,
fleet_report.py) and writes it as DIR/fleet.json, .md and .html (writers.py, markdown.py, html.py).
``... fleet merge DIR... --report-dir OUT`` builds the same report from report directories the CI system's matrix
jobs left. The exit code is the worst of the deployments' (exit_codes.py). docs/fleet.md has the details.
"""
