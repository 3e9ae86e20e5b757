"""Tools built on the library: training, benchmarks, and (later) summaries and drawings."""
