"""The ccxt venues: one module per venue (its VenueSpec), listed in registry.py; the shared machinery beside them."""
