"""The requests naming the configured account: through the account gate (account_gate.py), within the failed-login
budget, with successful logins interleaved; issued tokens registered, a demanded captcha blocking."""

from __future__ import annotations

from .errors import BudgetSpent, CaptchaDemanded, NotSent
from .exchange import Exchange, LoginRequest
from .locks import ACCOUNT_KEY, identifier_of
from .secrets import Secret


class AccountBudget:
    """The client's account budget (a part of :class:`~contract_tests.sending.client.ContractClient`, on its state)."""

    def demands_captcha(self, exchange: Exchange) -> bool:
        error = exchange.error
        return isinstance(error, str) and bool(self._captcha_re.search(error))

    def _names_account(self, request: LoginRequest) -> bool:
        """*request* names the configured account (the flag, or its address in the body)."""
        return request.real_account or (
            not request.raw_rate_limit and identifier_of(request, self._locks.account_email) == ACCOUNT_KEY)

    async def _wait_for_turn(self) -> None:
        """Under xdist: while another worker is at a check before the running one (run_order.py), bounded by a
        request's whole back-off and the run's deadline."""
        limits = self.limits
        await self.run_order.wait_for_turn(stalled_after=limits.max_retry_wait * (limits.max_retries + 1) + 60.0,
                                     deadline=limits.run_deadline)

    async def _outcome(self, request: LoginRequest, *, in_turn: bool = False) -> Exchange | NotSent:
        """Send *request* (through the account gate when it names the account); a :class:`NotSent` is returned.
        *in_turn*: its turn in the run's order was waited for already."""
        try:
            if not self._names_account(request):
                return await self._send_naming_stand_in(request)
            if not in_turn:
                await self._wait_for_turn()
            self._hold_if_locked(request)  # before the gate: no budget unit, no interleaved login for nothing
            before: list[Exchange] = []
            if request.spends_budget:
                gate = self._gate.spender(self._check_budget, lambda: self._interleave(before), self._give_back,
                                          alone=self._carries_password(request))
            elif not request.real_account:  # a probe that names the account by its address (an injection, a parser
                # differential): outside the budget, but its refusal is one in a row on the account all the same
                gate = self._gate.spender(lambda held: None, lambda: self._interleave(before), budgeted=False,
                                          alone=self._carries_password(request))
            else:
                gate = self._gate.success()
            async with gate as turn:
                exchange = await self._send(request)
                turn.logged_in = bool(exchange.token)
                turn.judged = not self.demands_captcha(exchange)
                if turn.logged_in:
                    self._account_logged_in = True
            exchange.before = before
            return exchange
        except NotSent as exc:
            return exc

    def _carries_password(self, request: LoginRequest) -> bool:
        """The body carries the account's right password (anywhere: a lax server may read it out of an array): a
        request that may fail may log in too."""
        if self.account is None:
            return False

        def carries(obj) -> bool:
            if isinstance(obj, Secret):
                return obj.value == self.account.password.value
            if isinstance(obj, dict):
                return any(carries(value) for value in obj.values())
            if isinstance(obj, (list, tuple)):
                return any(carries(value) for value in obj)
            return False

        return carries(request.json if request.has_json else None) or carries(list(request.form or ()))

    def _check_budget(self, held: int) -> None:
        """Raise :class:`BudgetSpent` when one more failed login would pass the budget (*held*: units in use)."""
        budget = self.limits.failed_login_budget
        if self.failed_logins + held >= budget or (self.shared and not self.shared.take("failed_logins", budget)):
            raise BudgetSpent(
                f"failed-login budget exhausted ({budget} failed logins on "
                "the real account already sent; raise --max-failed-logins to check this)"
            )

    def _give_back(self) -> None:
        """A unit held for a possible failure that logged in or got no answer: the other xdist workers may use it."""
        if self.shared:
            self.shared.give_back("failed_logins")

    async def _interleave(self, before: list[Exchange]) -> None:
        """The successful login the account gate sends before a failure would make too many in a row."""
        if self.account is None:
            return
        request = LoginRequest(purpose="interleaved successful login (keeps the account from locking)",
                               expect="success", json=self.account.body(), real_account=True)
        async with self._gate.success(interleaving=True) as turn:
            exchange = await self._send(request)
            turn.logged_in = bool(exchange.token)
        before.append(exchange)

    def _account_for(self, exchange: Exchange) -> None:
        if exchange.token:
            self.redactor.add_token(exchange.token)
        self._count_failed_login(exchange)
        if not exchange.request.allow_captcha_error:
            self.block_on_captcha(exchange)

    def _count_failed_login(self, exchange: Exchange) -> None:
        """A failed login on the account is counted in the budget once, when its answer is taken (or dropped)."""
        if exchange.request.spends_budget and not exchange.token and not exchange.counted:
            exchange.counted = True
            self.failed_logins += 1
            self._gate.counted()

    def block_on_captcha(self, exchange: Exchange) -> None:
        """A demanded captcha keeps the suite from observing (the check is blocked, never failed)."""
        if self.demands_captcha(exchange):
            hint = "" if self.captcha_token else " (export LOGIN_CAPTCHA_TOKEN with a test token)"
            raise CaptchaDemanded(f"the target demands a captcha: error {exchange.error!r}{hint}")
