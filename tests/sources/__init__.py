"""Tests of the source components."""
