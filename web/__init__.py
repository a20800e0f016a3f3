"""Templates and static files of the textmine web UI (packaged as textmine.web)."""
