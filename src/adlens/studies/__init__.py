"""Studies over many runs: the demo, the validation suite, mixing/size studies, sweeps, judge checks."""
