"""Developer tools that read the code: the docs generator (`python -m tools.docs`)."""
