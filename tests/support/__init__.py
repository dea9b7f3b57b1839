"""Helpers shared by the test suites: the real glrunner process and the real Docker engine."""
