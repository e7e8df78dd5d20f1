"""Grading in Docker containers: the engine, the grading image and the runner (``--runner docker``)."""
