"""Orders out: one interface (`base.Venue`), the paper venue, the ccxt venue, and the reconciler."""
