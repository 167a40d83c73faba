"""The fault suite (`make chaos`): the bot as a process on the devnet in testnet mode, faults injected for real,
judged from the exchange's own order log and the chain, never from the bot's own claims. See __main__."""
