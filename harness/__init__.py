"""netgrade: grading and conformance harness for a socket-programming course."""
__version__ = "0.1.0"
RESULT_SCHEMA = "netgrade.result/1"
