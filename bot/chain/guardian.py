"""The guardian: a wallet of its own that repays (or supplies) for the borrower to lift its health factor.

The decision step decides *that* a defense is due and caps it (`bot.domain.defense.plan_defense`);
`Guardian.defend` then, on the latest block:

1. looks up any journaled transaction still unresolved (nothing new goes out while one may be in flight);
2. re-reads the account and computes the exact amount that reaches the target with the Pool's integer
   math, spending that and never more than the action allows, the reserve holds, or the day's limit;
3. simulates the whole defense with `eth_call` before signing anything: the approval, and the repay or
   supply with that approval put in place as a state override;
4. dry-run stops here and journals what it would have sent; testnet and live approve exactly the amount
   (never an unlimited allowance), then repay or supply (each send: `tx.Wallet.send`), and re-read the
   health factor at the receipt's block.

A revert or a refusal is journaled and alerted, and the result says so: the next decision re-plans from
the chain, the guardian never loops resending.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount

from bot.chain import account as reads
from bot.chain.calls import health_factor_of, pool_user_account_data
from bot.chain.spend import Spender
from bot.chain.tx import (
    GWEI,
    GasAboveCap,
    SimulationReverted,
    TxFailed,
    TxHooks,
    TxReverted,
    TxUnresolved,
    Wallet,
    next_fees,
)
from bot.clock import Clock, wall_ms
from bot.config import DefenseSettings, Mode, Settings
from bot.domain.alerts import Alert, AlertKind, Severity
from bot.domain.defense import (
    AccountMath,
    DefenseAction,
    DefensePolicy,
    DefenseStatus,
    GuardianView,
    defense_status,
    exact_spend,
    next_defense_usd,
    plan_defense,
)
from bot.domain.lending.aave_math import account_data
from bot.domain.lending.account import AccountHealth, health_factor_float
from bot.domain.snapshot import LendingView
from bot.errors import ConfigError
from bot.journal.aio import AsyncJournal
from bot.journal.records import TxIntent, TxState
from bot.log import get_logger
from bot.monitors.aave import AaveMonitor, HealthSnapshot, Market, Reserve, normalize_account

log = get_logger("hedgebot.guardian")

DAY_MS = 86_400_000
DEFENSE_GAS = 400_000  # an approve and a repay or supply, with room: what "enough gas" means

DefenseOutcome = Literal["confirmed", "simulated", "not_needed", "refused", "reverted", "unresolved", "busy"]
AlertSink = Callable[[Alert], object]
NO_DEBT = "the account has no debt to repay"


def guardian_signer(defense: DefenseSettings) -> LocalAccount | None:
    """The guardian's signing account from HEDGEBOT_DEFENSE__PRIVATE_KEY; None without one; ConfigError if malformed."""
    if defense.private_key is None:
        return None
    try:
        signer: LocalAccount = Account.from_key(defense.private_key.get_secret_value())
    except (ValueError, TypeError):
        raise ConfigError(
            "HEDGEBOT_DEFENSE__PRIVATE_KEY is not a private key: want 0x followed by 64 hex digits"
        ) from None
    return signer


@dataclass(frozen=True, slots=True, kw_only=True)
class DefenseResult:
    """What one `Guardian.defend` did."""

    status: DefenseOutcome
    kind: str
    asset_symbol: str
    amount: int = 0  # spent (or, in dry-run, that would be), smallest unit
    amount_usd: float = 0.0
    health_factor_before: float = 0.0
    health_factor_after: float | None = None  # read from the chain at the receipt's block
    tx_hashes: tuple[str, ...] = ()
    detail: str = ""


class Guardian:
    """Defends one borrower from one wallet; see the module docstring. `start` before anything else."""

    def __init__(
        self,
        *,
        monitor: AaveMonitor,
        borrower: str,
        signer: LocalAccount,
        policy: DefensePolicy,
        mode: Mode,
        max_fee_per_gas: int,
        collateral_symbol: str = "WETH",
        receipt_timeout_s: float = 180.0,
        hooks: TxHooks | None = None,
        clock: Clock = wall_ms,
    ) -> None:
        self.monitor = monitor
        self.borrower = normalize_account(borrower)
        self.signer = signer
        self.policy = policy
        self.mode = mode
        self.max_fee_per_gas = max_fee_per_gas
        self.collateral_symbol = collateral_symbol
        self.receipt_timeout_s = receipt_timeout_s
        self.hooks = hooks
        self.clock = clock
        # The Pool's account math: v3.0's unless the monitor tells the Pool's rules (see _account_math).
        self.account_math: AccountMath = account_data
        self.journal: AsyncJournal | None = None
        self.alert: AlertSink | None = None
        self.wallet: Wallet | None = None
        self.asset: Reserve | None = None  # the configured asset, resolved at start
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, mode: Mode, monitor: AaveMonitor) -> Guardian | None:
        """The guardian of `settings.defense`, not started; None without a key (no on-chain defense)."""
        defense = settings.defense
        signer = guardian_signer(defense)
        if signer is None:
            return None
        return cls(
            monitor=monitor,
            borrower=settings.chain.accounts[0],
            signer=signer,
            policy=DefensePolicy(
                action=defense.action,
                asset=defense.asset,
                trigger_health_factor=defense.trigger_health_factor,
                target_health_factor=defense.target_health_factor,
                max_usd_per_day=defense.max_usd_per_day,
            ),
            mode=mode,
            max_fee_per_gas=round(defense.max_gas_gwei * GWEI),
            collateral_symbol=settings.chain.collateral_asset,
        )

    @property
    def address(self) -> str:
        return str(self.signer.address)

    # --- start ------------------------------------------------------------------------------------

    async def start(self, journal: AsyncJournal, alert: AlertSink | None = None) -> GuardianView:
        """Connect, resolve the asset, look up unresolved transactions, check reserve and gas; the first view.

        ConfigError (exit 2) when the Pool does not list the configured asset. No reserve or no gas is not
        an error here: it is logged, alerted and shown in the view (the hedge goes on without a defense).
        """
        self.journal, self.alert = journal, alert
        rpc = self.monitor.rpc
        chain_id = int(str(await rpc.request("eth_chainId")), 16)
        self.wallet = Wallet(
            rpc,
            self.signer,
            journal,
            chain_id=chain_id,
            max_fee_per_gas=self.max_fee_per_gas,
            receipt_timeout_s=self.receipt_timeout_s,
            hooks=self.hooks,
            clock=self.clock,
        )
        # The borrower's own key as the guardian's is allowed: the start-up checks (bot.validation) warn of it.
        self._resolve_asset(await self._market())
        await self.recover()
        view = await self.view()
        if view.problem:
            log.error("the guardian cannot defend; hedging goes on without it", problem=view.problem)
            self._notify("defense-unavailable", Severity.CRITICAL, f"the guardian cannot defend: {view.problem}")
        else:
            log.info(
                "guardian on",
                guardian=self.address,
                action=self.policy.action,
                asset=view.asset_symbol,
                reserve=view.reserve / 10**view.decimals,
                trigger=self.policy.trigger_health_factor,
                target=self.policy.target_health_factor,
                mode=self.mode,
            )
        return view

    async def recover(self, wait_s: float = 0.0) -> int:
        """Look up every journaled transaction that may be in flight; how many are still pending after."""
        wallet, journal = self._need()
        pending = 0
        for record in await journal.unresolved_transactions():
            state = await wallet.resolve(record, wait_s)
            log.warning(
                "a journaled transaction was looked up (never resent)",
                kind=record.intent.kind,
                tx_hash=record.tx_hash,
                nonce=record.intent.nonce,
                was=record.state.value,
                now=state.value,
            )
            pending += state == TxState.SENT
        return pending

    # --- views ------------------------------------------------------------------------------------

    async def view(self) -> GuardianView:
        """The guardian at the latest block: asset, reserve, price, spent today, and why it cannot act if it cannot."""
        _, journal = self._need()
        market = await self._market()
        snap, health = await self._read()
        asset = self._asset_for(market, health)
        spent = await journal.defense_spent_usd(self.clock() - DAY_MS, self.mode)
        in_flight = bool(await journal.unresolved_transactions())
        if asset is None:
            return GuardianView(
                enabled=False,
                problem=NO_DEBT,
                address=self.address,
                spent_today_usd=spent,
                in_flight=in_flight,
            )
        facts = await reads.spend_facts(self.monitor.rpc, market, self.address, self.borrower, asset.asset)
        price = reads.price_usd(snap, asset.asset)
        problem = await self._problem(asset, facts)
        view = GuardianView(
            enabled=problem is None,
            problem=problem,
            address=self.address,
            asset_symbol=asset.symbol,
            asset_address=asset.asset,
            decimals=asset.decimals,
            reserve=facts.reserve,
            price_usd=price,
            liquidation_threshold=facts.liquidation_threshold_bps / 10_000,
            spent_today_usd=spent,
            in_flight=in_flight,
        )
        needed = next_defense_usd(self.policy, health.total_debt_usd, view.liquidation_threshold)
        if problem is None and view.reserve_usd < needed:
            self._notify(
                "defense-reserve-low",
                Severity.WARNING,
                f"the guardian's reserve ({view.reserve_usd:,.2f} USD of {asset.symbol}) is below what the next "
                f"defense needs (~{needed:,.2f} USD)",
            )
        return view

    async def check(self) -> str | None:
        """Why the guardian cannot defend now (no debt to repay, no reserve, no gas), from the chain alone; None
        when it can. Needs no `start` (no journal): the start-up checks (bot.validation) call it.

        ConfigError (exit 2) when the Pool does not list the configured asset.
        """
        market = await self._market()
        self._resolve_asset(market)
        _, health = await self._read()
        asset = self._asset_for(market, health)
        if asset is None:
            return NO_DEBT
        facts = await reads.spend_facts(self.monitor.rpc, market, self.address, self.borrower, asset.asset)
        return await self._problem(asset, facts)

    async def status(self, lending: LendingView | None) -> DefenseStatus:
        """The guardian's status lines (reserve, spent today, the price at which the next defense fires)."""
        return defense_status(lending, self.policy, await self.view())

    async def plan(self, lending: LendingView) -> DefenseAction | None:
        """The defense due now on `lending`, by the policy's trigger and target (the built-ins' rule)."""
        return plan_defense(lending, self.policy, await self.view())

    # --- defend -----------------------------------------------------------------------------------

    async def defend(self, action: DefenseAction) -> DefenseResult:
        """Run one defense on the latest block; see the module docstring. Never resends; one at a time."""
        async with self._lock:
            return await self._defend(action)

    async def _defend(self, action: DefenseAction) -> DefenseResult:
        wallet, journal = self._need()
        result = DefenseResult(status="refused", kind=action.kind, asset_symbol=action.asset_symbol)
        if await self.recover(wait_s=self.receipt_timeout_s):
            return replace(result, status="busy", detail="a journaled transaction is still pending")
        market = await self._market()
        asset = reads.reserve_by_address(market, action.asset_address)
        if asset is None:
            raise ConfigError(f"{action.asset_symbol} ({action.asset_address}) is not listed by the Pool")
        snap, health = await self._read()
        facts = await reads.spend_facts(wallet.rpc, market, self.address, self.borrower, asset.asset)
        rows = reads.account_rows(market, snap, health)
        if action.kind == "supply":
            rows = reads.with_spend_row(rows, asset.asset, facts)
        result = replace(result, health_factor_before=health.health_factor)
        spent = await journal.defense_spent_usd(self.clock() - DAY_MS, self.mode)
        price = reads.price_usd(snap, asset.asset)
        left_today = _units(max(0.0, self.policy.max_usd_per_day - spent), price, asset.decimals)
        spend = exact_spend(
            action.kind,
            rows,
            asset.asset,
            action.target_health_factor,
            [action.amount, facts.reserve, left_today],
            chain_health_factor_wad=health.health_factor_wad,
            account_math=self._account_math(market),
        )
        if spend.exact == 0:
            return replace(result, status="not_needed", detail=f"HF {health.health_factor:.4f} is at the target")
        amount = spend.amount
        amount_usd = amount / 10**asset.decimals * price
        result = replace(result, amount=amount, amount_usd=amount_usd)
        intent = TxIntent(
            defense_id=f"defense-{self.clock()}",
            mode=self.mode,
            kind=action.kind,
            chain_id=wallet.chain_id,
            sender=self.address,
            to_address=market.pool,
            borrower=self.borrower,
            asset_symbol=asset.symbol,
            asset=asset.asset,
            amount=amount,
            amount_usd=amount_usd,
            target_health_factor=action.target_health_factor,
            reason=action.reason,
            nonce=None,
            health_factor_before=health.health_factor,
        )
        if spend.exact is None:
            why = f"no amount of {asset.symbol} reaches HF {action.target_health_factor}"
            return await self._refused(intent, why, result)
        if amount <= 0:
            why = f"nothing to spend: reserve {facts.reserve}, left today {left_today}, allowed {action.amount}"
            return await self._refused(intent, why, result)
        note = f"capped below the exact {spend.exact}: the target will not be reached" if spend.capped else ""
        spender = Spender(wallet, market.pool)
        try:
            simulated = await spender.simulate(intent)
        except SimulationReverted as exc:
            return await self._refused(intent, str(exc), result)
        if self.mode == "dry-run":
            await spender.journal_dry_run(intent, simulated, note)
            log.info("dry-run: a defense would be sent", kind=action.kind, amount=amount, asset=asset.symbol)
            return replace(result, status="simulated", detail=simulated.detail)

        sent: list[str] = []
        failed = f"defense-failed-{intent.defense_id}"

        def on_sent(tx_hash: str) -> None:
            sent.append(tx_hash)
            if len(sent) == 1 + simulated.approve_needed:  # the repay or supply, not its approval
                what = f"{action.kind} {amount_usd:,.2f} USD of {asset.symbol} for {self.borrower}"
                self._notify(f"defense-sent-{intent.defense_id}", Severity.WARNING, f"defense sent: {what} ({tx_hash})")

        try:
            receipt = await spender.send(intent, simulated, on_sent)
        except TxReverted as exc:
            self._notify(failed, Severity.CRITICAL, f"defense failed: {exc}")
            return replace(result, status="reverted", tx_hashes=tuple(sent), detail=str(exc))
        except TxUnresolved as exc:
            self._notify(f"defense-pending-{intent.defense_id}", Severity.WARNING, str(exc))
            return replace(result, status="unresolved", tx_hashes=tuple(sent), detail=str(exc))
        except TxFailed as exc:  # the simulation at signing, the gas cap, a node refusing it
            self._notify(failed, Severity.CRITICAL, f"defense not sent: {exc}")
            return replace(result, tx_hashes=tuple(sent), detail=str(exc))
        data = await wallet.rpc.eth_call(market.pool, pool_user_account_data(self.borrower), receipt.block_number)
        hf_after = health_factor_float(health_factor_of(data))
        await journal.set_tx_state(
            receipt.journal_id, TxState.CONFIRMED, self.clock(), note, health_factor_after=hf_after
        )
        self._notify(
            f"defense-confirmed-{intent.defense_id}",
            Severity.INFO,
            f"defense confirmed in block {receipt.block_number}: HF {health.health_factor:.3f} -> {hf_after:.3f}",
        )
        log.info("defense confirmed", kind=action.kind, tx_hash=receipt.tx_hash, hf_after=hf_after)
        return replace(result, status="confirmed", health_factor_after=hf_after, tx_hashes=tuple(sent), detail=note)

    # --- helpers ----------------------------------------------------------------------------------

    def _need(self) -> tuple[Wallet, AsyncJournal]:
        if self.wallet is None or self.journal is None:
            raise RuntimeError("Guardian.start() first")
        return self.wallet, self.journal

    async def _market(self) -> Market:
        if self.monitor.market is None:
            await self.monitor.discover()
        assert self.monitor.market is not None
        return self.monitor.market

    async def _read(self) -> tuple[HealthSnapshot, AccountHealth]:
        snap = await self.monitor.snapshot([self.borrower])
        return snap, snap.accounts[0]

    def _asset_for(self, market: Market, health: AccountHealth) -> Reserve | None:
        """The configured asset, or by default the largest debt (repay) or the hedged collateral (supply)."""
        if self.asset is not None:
            return self.asset
        if self.policy.action == "supply":
            return reads.reserve_by_symbol(market, self.collateral_symbol)
        if not health.debts:
            return None
        largest = max(health.debts, key=lambda d: d.amount * d.price_usd)
        return reads.reserve_by_address(market, largest.address)

    def _account_math(self, market: Market) -> AccountMath:
        """The Pool's own account math: `aave_math.account_data` under the market's rules when the monitor
        reads them (a v3.5+ Pool rounds differently from v3.0), else `self.account_math`."""
        rules = getattr(market, "rules", None)
        if rules is None:
            return self.account_math
        return functools.partial(cast(Any, account_data), rules=rules)

    def _resolve_asset(self, market: Market) -> None:
        """Set `asset` to the configured one; ConfigError naming it when the Pool does not list it."""
        if self.policy.asset is None:
            return
        self.asset = reads.reserve_by_symbol(market, self.policy.asset)
        if self.asset is None:
            listed = ", ".join(r.symbol for r in market.reserves)
            raise ConfigError(
                f"HEDGEBOT_DEFENSE__ASSET={self.policy.asset}: the Pool at {market.pool} does not list "
                f"{self.policy.asset}; it lists {listed}"
            )

    async def _problem(self, asset: Reserve, facts: reads.SpendFacts) -> str | None:
        """Why the guardian cannot spend `asset` now: no reserve, or (signing modes) too little gas."""
        if facts.reserve == 0:
            return f"the guardian {self.address} holds no {asset.symbol}: send it a reserve to defend with"
        if self.mode == "dry-run":  # nothing is signed: no gas is spent
            return None
        return await self._gas_problem(facts.gas_wei)

    async def _gas_problem(self, gas_wei: int) -> str | None:
        try:
            fees = await next_fees(self.monitor.rpc, self.max_fee_per_gas)
        except GasAboveCap as exc:
            return str(exc)
        needed = DEFENSE_GAS * fees.max_fee_per_gas
        if gas_wei < needed:
            return (
                f"the guardian {self.address} has {gas_wei / 10**18:.6f} ETH, less than one defense's gas "
                f"(~{needed / 10**18:.6f} ETH): send it ether"
            )
        return None

    async def _refused(self, intent: TxIntent, why: str, result: DefenseResult) -> DefenseResult:
        _, journal = self._need()
        await journal.record_tx_intent(intent, self.clock(), TxState.REFUSED, why)
        self._notify(f"defense-failed-{intent.defense_id}", Severity.CRITICAL, f"defense not sent: {why}")
        log.error("defense not sent", reason=why)
        return replace(result, status="refused", detail=why)

    def _notify(self, key: str, severity: Severity, message: str) -> None:
        if self.alert is not None:
            self.alert(Alert(AlertKind.DEFENSE, key, severity, message, self.clock()))


def _units(usd: float, price_usd: float, decimals: int) -> int:
    """`usd` of a token priced `price_usd`, in its smallest unit (rounded down)."""
    return int(usd / price_usd * 10**decimals) if price_usd > 0 else 0
