"""sik's benchmark: `python -m benchmarks` (or scripts/benchmark.sh) builds its inputs once,
measures sik against its peers, prints a table and writes benchmarks/RESULTS.md."""
