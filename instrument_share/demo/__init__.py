"""Demo data of the G60 Science and Technology Innovation Corridor shared-instrument platform."""
