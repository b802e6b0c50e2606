"""Load and scale benchmarks of the messaging path (not tests): ``python -m bench [--quick|--smoke]``."""
