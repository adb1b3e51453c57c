"""Tests of the Kubernetes (CRI) source."""
