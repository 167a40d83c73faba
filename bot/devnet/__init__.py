"""The local devnet: a chain with a real Aave V3 market (chain/), a local Binance COIN-M exchange server
(exchange/), and the demo that runs the bot against both (demo.py)."""
