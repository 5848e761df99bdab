"""leaklint: find code that leaks threads, tasks, executors, memory, files, sockets, connections."""

__version__ = "0.1.0"
