"""Importing a plan from a spreadsheet: the upload, its preview and its confirmation (tracker.imports)."""
