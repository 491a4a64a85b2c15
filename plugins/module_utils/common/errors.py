# -*- coding: utf-8 -*-
# Copyright: multicloud.fabric contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors raised by the collection's library code.

Every error knows which cloud, which resource and which API call it came from, and what the user
can do about it, so a module turns it into one readable ``fail_json`` message without guessing.
"""

from __future__ import annotations

import copy
import functools

# Kinds of error. The retry helper retries THROTTLED and TRANSIENT; the rest fail at once.
THROTTLED = "throttled"
TRANSIENT = "transient"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
INVALID = "invalid_request"
AUTH = "authentication"
DENIED = "permission_denied"
FAILED = "resource_failed"
TIMEOUT = "timeout"
VALIDATION = "validation"
API = "api_error"

RETRYABLE_KINDS = frozenset((THROTTLED, TRANSIENT))

_DEFAULT_ADVICE = {
    THROTTLED: "the API is rate limiting this account; lower forks or concurrency, or raise wait_timeout",
    TRANSIENT: "the service did not answer reliably; run the task again (it is safe to rerun)",
    AUTH: "check the credentials given to the module (options, environment variables or profile)",
    DENIED: "grant the identity the permission for this call, or use an identity that has it",
    NOT_FOUND: "check the name, region and account/project/subscription of the resource",
    CONFLICT: "another operation holds the resource; wait for it to finish and run again",
    INVALID: "the provider rejected the request; check the fields named in its message",
    TIMEOUT: "raise wait_timeout, or look at the resource in the provider's console",
}


class FabricError(Exception):
    """Base class of every error the collection raises on purpose."""

    kind = API

    def __init__(
        self,
        message,
        *,
        cloud=None,
        resource=None,
        call=None,
        advice=None,
        status=None,
        code=None,
        retry_after=None,
        kind=None,
    ):
        super().__init__(message)
        self.message = message
        self.cloud = cloud
        self.resource = resource
        self.call = call
        self.status = status
        self.code = code
        self.retry_after = retry_after
        if kind is not None:
            self.kind = kind
        self.advice = advice if advice is not None else _DEFAULT_ADVICE.get(self.kind)
        self.attempts = 1
        self.elapsed = None

    @property
    def retryable(self):
        return self.kind in RETRYABLE_KINDS

    def describe(self):
        """One line: cloud, resource, call, status/code, provider message and advice."""
        head = []
        if self.cloud:
            head.append(str(self.cloud))
        if self.resource:
            head.append(str(self.resource))
        where = ": ".join(head)
        what = f"{self.call} failed" if self.call else "failed"
        detail = ", ".join(str(x) for x in (self.status, self.code) if x not in (None, ""))
        if detail:
            what = f"{what} ({detail})"
        text = f"{where}: {what}: {self.message}" if where else f"{what}: {self.message}"
        if self.attempts > 1:
            spent = f" in {self.elapsed:.1f}s" if self.elapsed is not None else ""
            text += f" (gave up after {self.attempts} attempts{spent})"
        if self.advice:
            text += f". What to do: {self.advice}"
        return text

    def as_dict(self):
        """Structured form for module results (``error`` key)."""
        return {
            "kind": self.kind,
            "cloud": self.cloud,
            "resource": self.resource,
            "call": self.call,
            "status": self.status,
            "code": self.code,
            "attempts": self.attempts,
        }

    def __str__(self):
        return self.describe()


class ThrottledError(FabricError):
    kind = THROTTLED


class TransientError(FabricError):
    kind = TRANSIENT


class NotFoundError(FabricError):
    kind = NOT_FOUND


class ConflictError(FabricError):
    kind = CONFLICT


class InvalidRequestError(FabricError):
    kind = INVALID


class AuthenticationError(FabricError):
    kind = AUTH


class PermissionDeniedError(FabricError):
    kind = DENIED


class ResourceFailedError(FabricError):
    """A resource reached a failure state while we waited for it."""

    kind = FAILED


class WaitTimeoutError(FabricError):
    kind = TIMEOUT


class ValidationError(FabricError):
    """Input rejected before any API call. ``field`` names the offending option."""

    kind = VALIDATION

    def __init__(self, field, message, advice=None):
        super().__init__(message, advice=advice)
        self.field = field

    def describe(self):
        text = f"invalid value for '{self.field}': {self.message}"
        if self.advice:
            text += f". What to do: {self.advice}"
        return text

    def as_dict(self):
        data = super().as_dict()
        data["field"] = self.field
        return data


class UnknownActionError(ValidationError):
    """An adapter was given an action kind it does not perform (the same error for every cloud)."""

    def __init__(self, cloud, adapter, action, known=()):
        known = ", ".join(sorted(known))
        super().__init__(
            "action",
            f"the {cloud} {adapter} adapter has no action {action!r}" + (f" (it performs {known})" if known else ""),
            advice="use an action of the planner's (network/spec.py, cluster/spec.py)",
        )
        self.cloud = cloud
        self.action = action


class ImmutableFieldsError(ValidationError):
    """A change the cloud cannot make in place. ``changes`` lists ``(field, before, after, how)``."""

    def __init__(self, changes, resource=None):
        self.changes = [tuple(change) for change in changes]
        fields = ", ".join(change[0] for change in self.changes)
        details = "; ".join(f"{field}: {before!r} -> {after!r} ({how})" for field, before, after, how in self.changes)
        where = f"{resource} " if resource else ""
        super().__init__(
            fields,
            f"{where}cannot change in place: {details}",
            advice="keep the current values, or replace the resource: delete it (state: absent) and create it "
            "again, or create one under a new name",
        )
        self.resource = resource

    def as_dict(self):
        data = super().as_dict()
        data["fields"] = [change[0] for change in self.changes]
        return data


ERROR_CLASSES = {
    cls.kind: cls
    for cls in (
        FabricError,
        ThrottledError,
        TransientError,
        NotFoundError,
        ConflictError,
        InvalidRequestError,
        AuthenticationError,
        PermissionDeniedError,
        ResourceFailedError,
        WaitTimeoutError,
    )
}


# --------------------------------------------------------------------------- not found, declared


def found_or(default, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or a copy of ``default`` when it raises :class:`NotFoundError`:
    "missing means ``default``" for reads (``None`` for one resource, ``[]`` for a listing)."""
    try:
        return fn(*args, **kwargs)
    except NotFoundError:
        return copy.copy(default)


def missing_means(default=None):
    """Decorator form of :func:`found_or`: the decorated read answers ``default`` for a missing resource."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return found_or(default, fn, *args, **kwargs)

        return wrapper

    return decorate


def gone_is_done(fn, *args, gone_codes=(), **kwargs):
    """``fn(*args, **kwargs)`` for a delete or detach: a :class:`NotFoundError`, or a FabricError
    whose provider ``code`` is one of ``gone_codes``, means the resource is already gone (or no
    longer attached) and the call's work done; then None is returned. Other errors propagate."""
    try:
        return fn(*args, **kwargs)
    except NotFoundError:
        return None
    except FabricError as error:
        if error.code in gone_codes:
            return None
        raise
