"""Human-readable output of a simulation: tables and plots."""
