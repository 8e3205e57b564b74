"""Customers: profiles (RFM, churn, 90-day value, tastes, consent) and segments."""
