"""`make bench`: the engine versus funasr on real speech (throughput, peak RSS, score deviation)."""
