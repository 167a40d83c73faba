"""hedgebot: protect leveraged DeFi lending positions from liquidation."""

from bot import compat

compat.install()
