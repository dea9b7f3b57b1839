"""Explanations of broken Docker-in-Docker setups, shared by the executors' warnings and `glrunner doctor`."""
