"""The sandbox's own machinery: state files, HTTP helpers, processes, faults, the scheduler of
simulated cloud delays, the daemon and its lifecycle."""
