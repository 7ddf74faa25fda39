"""The HTTP edge: the only FastAPI code. Routes parse, call the core and render; they decide nothing."""
