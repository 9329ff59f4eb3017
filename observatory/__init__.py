"""The observatory framework: settings, resources, quality, publication (nothing source-specific)."""
