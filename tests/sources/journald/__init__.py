"""Tests of the journald source."""
