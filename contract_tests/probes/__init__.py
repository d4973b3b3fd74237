"""Opt-in probes (--probe): captcha.py (CAPTCHA-01), timing.py (SEC-07), throttling.py (ABUSE-01).

settings.py says which are enabled and gates their tests; outcome.py turns what a probe found into a verdict.
"""
