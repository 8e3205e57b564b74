"""Campaigns: uplift from past tests, the planner and exact solver, matching, evaluation."""
