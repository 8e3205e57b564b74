"""Recommendations per customer: the hybrid recommender and its tuning."""
