"""The knowledge author's view of a harness run: what moved since a saved run, the HTML report, coverage.

Everything here reads a finished harness run (plugin.harness.Summary); nothing changes how a report is evaluated.
"""
