"""Run-to-run history: the baseline comparison (--baseline, --fail-on-new) and replay of recorded failures."""
