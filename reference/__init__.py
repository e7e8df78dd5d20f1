"""Reference programs: one module per program of the sheet.

Each module is a complete, commented program that meets every must and should
line of its part of the sheet.  Run one with ``netgrade reference run ID``;
without arguments each behaves exactly as the sheet says (fixed port, prompts
on stdin), like a student's program would.  Options (``--port``, texts the
pack may change, declared in ``PACK_OPTIONS``) let the grader run them under
an instructor's pack.

This package is course content: the engine never imports it.  It finds these
files by name and runs each one as a standalone program, the codecs it
imports written beside it (``netgrade.reffiles``).
"""
