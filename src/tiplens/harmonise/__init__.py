"""Harmonisation: countries to ISO3 and UN M49, free-text citizenship categories, text repair."""
