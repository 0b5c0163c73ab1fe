"""Setup Wizard: set up a fresh Linux server over SSH and stream every line to the browser."""

__version__ = "0.1.0"
