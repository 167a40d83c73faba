"""The devnet's chain: anvil with a real Aave V3 market on it.

anvil.py starts the node, artifacts.py finds the pinned parts in node_modules, deploy.py deploys the
market, feeds.py is its settable price feed, positions.py opens lending positions in bulk, rpc.py is
the small JSON-RPC client they share, and market.py puts them together: start_devnet and set_price.
"""
