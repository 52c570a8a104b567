"""Scan intake models arrive with the "Scan intake" issue."""
