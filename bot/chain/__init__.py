"""Transactions out: the guardian, which defends a loan on chain from its own wallet.

tx.py sends one transaction safely (simulate, journal, sign, journal the hash, broadcast, confirm,
recover after a crash); calls.py is the calldata; account.py reads what a defense needs from the chain;
guardian.py decides the exact amount at signing and runs a defense (approve exactly, then repay or supply).
"""
