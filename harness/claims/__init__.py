"""Claims: declarative records, measured results and the rules that turn measurements into verdicts."""

from . import catalog
from .record import Claim, ClaimResult, Reading
from .verdicts import (Verdict, artifact_verdict, combine, figure_verdict, ordering_verdict,
                       per_seed_verdict)

__all__ = ["Claim", "ClaimResult", "Reading", "Verdict", "artifact_verdict", "catalog", "combine",
           "figure_verdict", "ordering_verdict", "per_seed_verdict"]
