"""Mutation testing of the derivations: ``python -m tests.mutation --help``."""
