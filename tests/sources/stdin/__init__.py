"""Tests of the stdin source."""
