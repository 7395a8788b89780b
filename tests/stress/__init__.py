"""Proof under stress: fault injection (short versions of benchmarks/faults)."""
