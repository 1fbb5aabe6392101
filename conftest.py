"""This repository's claim suites run under the claims harness plugin (options: ``pytest --help``)."""

pytest_plugins = ["harness.pytest_plugin"]
