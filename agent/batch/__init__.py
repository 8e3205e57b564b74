"""Drafts for a whole audience: resumable, consent and caps first, local or on Ray.

``from agent.batch import BatchOptions, run_batch`` is the public entry point.
"""

from agent.batch.models import BatchOptions
from agent.batch.runner import run_batch

__all__ = ["BatchOptions", "run_batch"]
