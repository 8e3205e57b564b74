"""The seeded demo shop generator (same seed, same bytes) and its hidden truth."""
