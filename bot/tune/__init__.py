"""`hedgebot tune`: a walk-forward Optuna search over a strategy's parameters."""
