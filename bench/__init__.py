"""Speed and quality benchmarks that write tables under bench/results/ (not tests; ``make bench``)."""
