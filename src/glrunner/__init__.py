"""glrunner: a GitLab-Runner-compatible CI runner."""

__version__ = "0.1.0"
