"""Account flows that go through the user's mailbox: password reset, address verification,
profile and address changes.

Every flow writes its single-use token (stored only as a SHA-256 hash, 256 bits of randomness)
and its mail (:mod:`aiclone.mail`) in one transaction. Public requests that name an address
(``password-reset``, ``verify-email/resend``) answer 202 with the same body whether or not an
account exists, after the same lookup and no sooner than a fixed floor, so neither the answer
nor its timing tells who has an account.
"""
