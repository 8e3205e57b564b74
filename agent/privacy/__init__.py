"""Data rights: export and erasure of everything held on a customer, and the scan."""
