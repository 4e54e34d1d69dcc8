"""Evaluation of a run against what the organism was finetuned on (PROTOCOL §4): token relevance,
steering similarity and causal effect."""
