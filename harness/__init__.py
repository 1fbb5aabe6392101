"""The claims harness: every claim of a deep-learning report as an executable check.

Data flows one way through the sub-packages:
``data`` → ``models`` → ``train`` → ``measure`` / ``stats`` → ``claims`` → ``report``.
"""

__version__ = "0.1.0"
