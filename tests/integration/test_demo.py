"""`make demo`'s replay, on a shorter window of the same crash (May 12-20 2021 in 8-hour steps): two borrowers at
HF 1.5 on real anvil + Aave V3, a liquidator beside the chain, two bots in testnet mode on the local exchange.
Without the guardian the loan is liquidated on chain; with it, no liquidation lands and the liquidator's calls
revert. Every figure asserted comes from the chain (LiquidationCall events, receipts, balances, the Pool's
account data) or from the exchange."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.devnet.chain.market import DEMO_DEBT_USDC
from bot.devnet.demo import run_demo, summary

pytestmark = pytest.mark.integration


async def test_the_demo_liquidates_the_unguarded_loan_and_the_guardian_holds_the_other(shared_data: Path) -> None:
    out = await run_demo(
        shared_data, start="2021-05-12", end="2021-05-20", step_hours=8, strategy="dynamic", balance_btc=0.1, quiet=True
    )
    unguarded, guarded = out.lanes
    assert (unguarded.guardian, guarded.guardian) == (None, guarded.guardian) and guarded.guardian
    assert out.rounds > out.steps, "the steps' large moves were fed as several oracle rounds"

    # Without the guardian: liquidated on chain, the penalty read from the LiquidationCall events.
    assert unguarded.liquidations, "ETH fell 35 %: the HF 1.5 loan went under 1 and was liquidated"
    for a in unguarded.liquidations:
        assert a.success and a.health_factor_seen < 1
        assert (a.debt_symbol, a.collateral_symbol) == ("USDC", "WETH")
        # WETH's 5 % bonus: collateral worth 105 % of the debt repaid.
        assert a.penalty_usd == pytest.approx(0.05 * a.debt_repaid_usd, rel=1e-6)
    assert unguarded.penalty_usd > 0
    assert unguarded.min_health_factor < 1
    assert unguarded.reserve_spent == 0 and not unguarded.defense_txs and not unguarded.reverted

    # With the guardian: repaid on the borrower's behalf from its reserve, no liquidation lands, each
    # liquidationCall sent beside the other lane's liquidations was mined and reverted.
    assert not guarded.liquidations
    assert len(guarded.reverted) == len(unguarded.liquidations)
    assert all("HEALTH_FACTOR_NOT_BELOW_THRESHOLD" in a.reason for a in guarded.reverted)
    kinds = [kind for kind, _ in guarded.defense_txs]
    assert "repay" in kinds and set(kinds) <= {"approve", "repay"}
    assert 0 < guarded.reserve_spent < DEMO_DEBT_USDC
    assert guarded.gas_usd > 0
    assert guarded.min_health_factor >= 1
    # The lending equity gained what the reserve repaid: the net counts that money as spent.
    assert guarded.net == pytest.approx(
        guarded.lending_change + guarded.hedge_change - guarded.reserve_spent - guarded.gas_usd
    )
    for lane in out.lanes:
        assert lane.max_short > 0 and lane.fills > 0, "both lanes hedged on their exchange"

    text = "\n".join(summary(out, "dynamic"))
    assert "no guardian" in text and "guardian" in text and "liquidationCalls reverted" in text
