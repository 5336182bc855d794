"""Loopback stand-ins for the HTTP services the toolkit talks to, started by the tests."""
