"""Models and engines: the packaged-model registry and pull, engines as supervised child processes,
the chat client."""
