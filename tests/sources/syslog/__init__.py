"""Tests of the syslog receiver."""
