"""Pure protocol code (no sockets) shared by reference programs, peers and suites."""
