"""The GitHub face: one sticky PR comment, a check run and a commit status per report.

Everything here reads a finished (or partial) ``results.json`` and never changes it, so a
report that GitHub refused can be sent again later from the same output directory.
"""

from ..errors import ReportDeliveryError
from .reporter import Reporter, ReportResult, ReportTarget
from .retry import RetryPolicy

__all__ = ["ReportDeliveryError", "Reporter", "ReportResult", "ReportTarget", "RetryPolicy"]
