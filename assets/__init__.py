"""Source packages: one folder per source, plus the cross-source marts."""
