"""Test doubles for the workbench's own tests and benchmarks (a scripted OpenAI-compatible server
on loopback). Nothing in the package imports this at run time."""
