"""Locked identifiers are left alone, and the failed logins that would lock one are spread or not sent.

A lockout policy counts failed logins per identifier (the configured account, and any unknown address the suite
names) and locks it; every attempt while it is locked may extend the lock (and, on a production identity provider,
page a security team). The :class:`LockBook` keeps, per identifier, what the target saw of the suite:

* the refusals answered to requests that may fail to log in (validation refusals included: some policies count
  them), on the monotonic clock, and those in flight;
* whether the identifier is locked, and until when: the Retry-After of its lock answer (plus a margin); without one,
  the window of a declared policy; without that, for the rest of the run;
* after a lock, one request naming it at a time until an answer that is not a lock comes back (the probe, a retry of
  the locked request included): at most one request per lock period reaches a locked identifier. Lock answers to
  requests that were already on the wire together are one lock.

The policy is declared (``--lockout-policy=10/120s``: 10 failed logins within 120 s lock an identifier; a success is
not assumed to reset the count) or learned from the identifier's own locks. A declared window lets the suite spread
its failed logins: one that would be the N-th within the window waits until the oldest leaves it (within
--max-retry-wait), or is not sent. Without one the window cannot be known: the refusals an identifier had answered
before its first lock are how many lock it, and the lock is assumed to spend them (a lock with a Retry-After is then
waited out, once per lock period, and the checks go on); a later lock that comes after far fewer shows the count
outlived the lock (a sliding window that neither the lock nor a success resets). A lock that ends (a Retry-After)
then teaches the window: the newest N failed logins on the identifier (N: those before its first lock) are all still
counted, so the window is longer than their span; twice that is assumed (twice again after a lock under it), and the
failed logins naming it are spread under N - 1 per window as under a declared one -- waited for within
--max-retry-wait, so the checks that need them are decided the same way at any speed and concurrency, not blocked by
a lock a faster run happened to meet. A lock without an end keeps every failed login from it for the rest of the
run. "Far fewer" compares bounds, so that neither what a policy counts nor requests in flight
across a lock make a fresh count look outlived: every refusal naming the identifier since the last lock (whatever
the request was for: an upper bound of what the policy counted) is under half the credential failures before the
first lock (a lower bound).

The book (book.py) decides nothing about verdicts: what it holds back is a :class:`Held` the client turns into a NotSent.
"""

from .book import LockBook
from .held import Held
from .identifiers import ACCOUNT_KEY, identifier_of
from .policy import LockoutPolicy, parse_policy

__all__ = ["ACCOUNT_KEY", "Held", "LockBook", "LockoutPolicy", "identifier_of", "parse_policy"]
