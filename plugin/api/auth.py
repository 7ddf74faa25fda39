"""Authentication for the whole API: off by default, one mechanism at a time (DDX_AUTH_MODE: none | jwt | api-key).

jwt      CDS Hooks 2.0 "Trusting CDS Clients": `Authorization: Bearer <JWT>` on every request, signed by the client.
         Header: alg ES256/384/512, RS256/384/512 or PS256/384/512 (ES384 or RS384 recommended; `none` and every HMAC alg
         are refused whatever key matches), `typ: JWT`, `kid` required. The key is found by kid in DDX_JWT_PUBLIC_KEYS, or,
         when the header's `jku` is EXACTLY one of DDX_JWT_JKU_ALLOWLIST, in the JWK Set fetched there (cached); any other
         jku is refused without a request; `jwk`, `x5u`, `x5c` headers are never used. Claims iss, aud, exp, iat, jti are
         required; aud (string or array) must name DDX_PUBLIC_URL or DDX_PUBLIC_URL + the path called; exp - iat <=
         DDX_JWT_MAX_AGE_SECONDS; iat/nbf not in the future, exp not past (LEEWAY seconds of clock skew); iss in
         DDX_JWT_ISSUERS; each (iss, jti) accepted once, remembered in the database DDX_DATABASE_URL that every
         worker and replica shares (plugin/store/jti.py). `sub` and `tenant` are whatever the client sends (kept in request.state.auth, never logged).
api-key  a static key as `Authorization: Bearer <key>` or `X-API-Key: <key>`; only SHA-256 digests of DDX_API_KEYS
         are kept, compared with hmac.compare_digest.

Statuses (OperationOutcome bodies whose diagnostics never quote the credential):
401, code `login`, `WWW-Authenticate: Bearer realm="rad-ddx"` (+ `error="invalid_token"` when a credential was sent; both
     modes challenge Bearer as both accept it): no credential; malformed token; alg none, HMAC or not allowed; typ not JWT;
     no or unknown kid; jku not allowed or unreachable; bad signature; missing claim; expired, not yet valid or too
     long-lived; aud not this service (a token for someone else is no credential here); replayed jti; wrong API key.
403, code `forbidden`: well-formed, signed by a trusted key, current and addressed to us, but iss is not in
     DDX_JWT_ISSUERS (its jti is not consumed).

Open (GET/HEAD only): /health and the API contract: /openapi.json, /docs, /docs/oauth2-redirect, /redoc,
/schemas/findings-report (the OpenAPI document embeds that schema, so guarding it alone would protect nothing). All else,
/knowledge, unknown paths and routes added later included, is guarded by an ASGI middleware: deny by default.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from fastapi import FastAPI
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from plugin import logs
from plugin.api.responses import problem
from plugin.errors import IssueType
from plugin.settings import Settings
from plugin.store.jti import JtiStore

log = logs.get("plugin.api.auth")

EC_CURVES = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
ALGORITHMS = RSA_ALGS | frozenset(EC_CURVES.values())
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "jti"]
LEEWAY = 30  # seconds of clock skew tolerated on exp, iat and nbf
MAX_TOKEN_CHARS = 8192
JWKS_MAX_BYTES = 65_536
JWKS_TTL = 300.0  # a fetched key set is used this long before it is fetched again
JWKS_MIN_REFETCH = 30.0  # an unknown kid refetches a set at most this often (no fetch storms)
PUBLIC_PATHS = frozenset({"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/schemas/findings-report"})
CHALLENGE = 'Bearer realm="rad-ddx"'
CLAIM_ERRORS = [  # PyJWT's verdict → (reason slug for the log, diagnostics for the client)
    (jwt.ExpiredSignatureError, "expired", "The token has expired."),
    (jwt.ImmatureSignatureError, "not-yet-valid", "The token is not valid yet (iat or nbf in the future)."),
    (jwt.InvalidAudienceError, "audience", "The token is not addressed to this service (aud)."),
    (jwt.MissingRequiredClaimError, "missing-claim", "The token lacks a required claim (iss, aud, exp, iat and jti are)."),
    (jwt.InvalidSignatureError, "signature", "The token's signature does not verify."),
]


class Refused(Exception):
    """A request without a credential this service accepts. `reason` is a fixed slug, safe to log."""

    def __init__(self, reason: str, message: str, status: int = 401, presented: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.message, self.status, self.presented = reason, message, status, presented

    def response(self) -> Any:
        if self.status == 403:
            return problem(403, IssueType.FORBIDDEN, self.message)
        return problem(401, IssueType.LOGIN, self.message,
                       headers={"WWW-Authenticate": CHALLENGE + (', error="invalid_token"' if self.presented else "")})


@dataclass(frozen=True, slots=True)
class PublicKey:
    key: Any  # a cryptography public key object
    algorithms: frozenset[str]


def public_key(jwk: Any) -> PublicKey:
    """One JWK → a verification key and the algs it may verify. ValueError says why not."""
    if not isinstance(jwk, dict):
        raise ValueError("not a JSON object")
    if PRIVATE_MEMBERS & jwk.keys():
        raise ValueError("holds private or symmetric key material; configure public keys only")
    if jwk.get("use", "sig") != "sig":
        raise ValueError("its use is not sig")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "EC" and crv in EC_CURVES:
        algorithms = frozenset({EC_CURVES[crv]})
    elif kty == "RSA":
        algorithms = RSA_ALGS
    else:
        raise ValueError("neither RSA nor EC on P-256, P-384 or P-521 (asymmetric keys only)")
    if "alg" in jwk:
        if jwk["alg"] not in algorithms:
            raise ValueError("its alg is not an accepted asymmetric algorithm for this key")
        algorithms = frozenset({jwk["alg"]})
    try:
        key = jwt.PyJWK(jwk, algorithm=min(algorithms)).key
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise ValueError(f"not a usable JWK ({type(exc).__name__})") from None
    if kty == "RSA" and key.key_size < 2048:
        raise ValueError("RSA key shorter than 2048 bits")
    return PublicKey(key, algorithms)


def key_set(obj: Any, strict: bool = True) -> dict[str, PublicKey]:
    """A JWK Set ({"keys": [...]}) or an object of JWKs by kid → keys by kid. Bad keys: an error if strict, else skipped."""
    if isinstance(obj, dict) and isinstance(obj.get("keys"), list):
        pairs = [(k.get("kid") if isinstance(k, dict) else None, k) for k in obj["keys"]]
    elif isinstance(obj, dict) and "keys" not in obj:
        pairs = list(obj.items())
    else:
        raise ValueError('expected a JWK Set {"keys": [...]} or an object of JWKs by kid')
    out: dict[str, PublicKey] = {}
    for kid, jwk in pairs:
        try:
            if not isinstance(kid, str) or not kid or (isinstance(jwk, dict) and jwk.get("kid", kid) != kid):
                raise ValueError("no kid, or a kid that differs from its name")
            if kid in out:
                raise ValueError("kid appears twice")
            out[kid] = public_key(jwk)
        except ValueError as exc:
            if strict:
                raise ValueError(f"DDX_JWT_PUBLIC_KEYS: key {kid!r}: {exc}") from None
    return out


class JwksCache:
    """Key sets fetched from allow-listed jku URLs only. `fetch` (url → parsed JSON) and `transport` are injectable."""

    def __init__(self, allowed: list[str]) -> None:
        self.allowed = frozenset(allowed)
        self.transport: httpx.AsyncBaseTransport | None = None
        self.fetch: Callable[[str], Awaitable[Any]] = self._fetch_http
        self._sets: dict[str, tuple[float, dict[str, PublicKey]]] = {}
        self._tried: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def key(self, url: str, kid: str) -> PublicKey | None:
        if url not in self.allowed:  # exact string match; checked here too so no caller can fetch elsewhere
            raise Refused("jku-not-allowed", "The token's jku is not an allowed key set URL.")
        cached = self._sets.get(url)
        if cached and time.monotonic() - cached[0] < JWKS_TTL and kid in cached[1]:
            return cached[1][kid]
        async with self._lock:
            cached = self._sets.get(url)
            if time.monotonic() - self._tried.get(url, -JWKS_MIN_REFETCH) >= JWKS_MIN_REFETCH:
                self._tried[url] = time.monotonic()
                try:
                    cached = (time.monotonic(), key_set(await self.fetch(url), strict=False))
                    self._sets[url] = cached
                except Exception as exc:  # unreachable, not JSON, too large, not a key set: the cached set (if any) stays
                    log.warning("jwks fetch failed", exception_type=type(exc).__name__)
            if cached is None:
                raise Refused("jwks-unavailable", "The key set named by the token's jku could not be retrieved.")
            return cached[1].get(kid)

    async def _fetch_http(self, url: str) -> Any:
        async with httpx.AsyncClient(transport=self.transport, timeout=5.0, follow_redirects=False) as client:
            async with client.stream("GET", url, headers={"accept": "application/json"}) as response:
                response.raise_for_status()
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > JWKS_MAX_BYTES:
                        raise ValueError("key set too large")
        return json.loads(body)


def bearer(headers: Headers) -> str | None:
    scheme, _, value = headers.get("authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() and " " not in value.strip() else None


class Guard:
    """Decides per request: the authenticated principal (a dict), or Refused."""

    def __init__(self, settings: Settings, database: Engine) -> None:
        self.mode = settings.auth_mode
        self.key_digests = [hashlib.sha256(k.get_secret_value().encode()).digest() for k in settings.api_keys]
        self.issuers = frozenset(settings.jwt_issuers)
        self.keys = key_set(settings.jwt_public_keys) if self.mode == "jwt" else {}
        self.jwks = JwksCache(settings.jwt_jku_allowlist)
        self.max_age = settings.jwt_max_age_seconds
        self.audience = settings.public_url.rstrip("/")
        self.jti = JtiStore(database) if self.mode == "jwt" else None

    async def check(self, headers: Headers, path: str) -> dict[str, Any]:
        if self.mode == "api-key":
            return self._api_key(headers)
        token = bearer(headers)
        if token is None:
            raise Refused("no-token", "A bearer token (a signed JWT) is required: Authorization: Bearer <JWT>.", presented=False)
        return await self._jwt(token, path)

    def _api_key(self, headers: Headers) -> dict[str, Any]:
        presented = headers.get("x-api-key") or bearer(headers)
        if not presented:
            raise Refused("no-key", "An API key is required: Authorization: Bearer <key> or X-API-Key: <key>.", presented=False)
        digest = hashlib.sha256(presented.encode()).digest()
        matches = [hmac.compare_digest(digest, d) for d in self.key_digests]  # every key compared: no early exit
        if not any(matches):
            raise Refused("bad-key", "The API key is not valid.")
        return {"mode": "api-key", "key_index": matches.index(True)}

    async def _jwt(self, token: str, path: str) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_CHARS:
            raise Refused("too-long", "The bearer token is too long.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Refused("malformed", "The bearer token is not a well-formed JWT.") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in ALGORITHMS:
            raise Refused("alg", "The token's alg is not accepted: asymmetric signatures only (ES384 or RS384 recommended).")
        if not isinstance(header.get("typ"), str) or header["typ"].upper() != "JWT":
            raise Refused("typ", "The token header must have typ JWT.")
        if not isinstance(kid, str) or not 0 < len(kid) <= 256:
            raise Refused("kid", "The token header must name its signing key (kid).")
        jku = header.get("jku")
        key = self.keys.get(kid) if jku is None else await self.jwks.key(jku, kid) if isinstance(jku, str) else None
        if key is None:
            raise Refused("unknown-kid", "The token's signing key (kid) is not known here.")
        if alg not in key.algorithms:
            raise Refused("alg-key", "The token's alg does not fit its signing key.")
        claims = self._verified_claims(token, key, alg, path)
        issuer, jti, exp = claims["iss"], claims["jti"], claims["exp"]
        if issuer not in self.issuers:
            raise Refused("issuer", "The token's issuer is not allowed to use this service.", status=403)
        assert self.jti is not None  # jwt mode always has one
        if not await run_in_threadpool(self.jti.first_use, issuer, jti, int(exp) + LEEWAY):
            raise Refused("replay", "The token has already been used (jti); send a new one with every request.")
        return {"mode": "jwt", "iss": issuer, "sub": claims.get("sub"), "tenant": claims.get("tenant")}

    def _verified_claims(self, token: str, key: PublicKey, alg: str, path: str) -> dict[str, Any]:
        audiences = [self.audience, self.audience + "/", self.audience + path]
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], audience=audiences, leeway=LEEWAY,
                                options={"require": REQUIRED_CLAIMS, "verify_iss": False, "enforce_minimum_key_length": True})
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            reason, message = next(((r, m) for kind, r, m in CLAIM_ERRORS if isinstance(exc, kind)), ("invalid", "The token is not valid."))
            raise Refused(reason, message) from None
        lifetime = int(claims["exp"]) - int(claims["iat"])
        if not 0 < lifetime <= self.max_age:
            raise Refused("lifetime", f"The token's lifetime (exp - iat) must be positive and at most {self.max_age} s.")
        if not isinstance(claims["iss"], str) or not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= 256:
            raise Refused("claim-type", "The token's iss and jti must be strings (jti: 1 to 256 characters).")
        return claims


class Authenticate:
    """ASGI middleware: every HTTP request but GET/HEAD of a public path must pass the Guard."""

    def __init__(self, app: Any, guard: Guard) -> None:
        self.app, self.guard = app, guard

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path, root = scope.get("path", ""), scope.get("root_path", "")
        path = (path[len(root):] or "/") if root and path.startswith(root) else path
        if scope["type"] != "http" or (scope["method"] in ("GET", "HEAD") and path in PUBLIC_PATHS):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.guard.check(Headers(scope=scope), path)
        except Refused as exc:
            log.info(f"authentication refused: {exc.reason}", status=exc.status)
            await exc.response()(scope, receive, send)
            return
        scope.setdefault("state", {})["auth"] = principal
        await self.app(scope, receive, send)


def install(app: FastAPI, settings: Settings, database: Engine) -> None:
    """Guard the app as configured (nothing when auth_mode is none). Call before adding the request-log middleware,
    so refusals are logged with their request id. Raises ValueError on unusable key material."""
    app.state.auth = None
    if settings.auth_mode == "none":
        return
    guard = app.state.auth = Guard(settings, database)
    app.add_middleware(Authenticate, guard=guard)

    jwt_mode = settings.auth_mode == "jwt"
    schemes: dict[str, Any] = {"bearer": {"type": "http", "scheme": "bearer"} | ({"bearerFormat": "JWT"} if jwt_mode else {})}
    schemes |= {} if jwt_mode else {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
    base = app.openapi

    def with_security() -> dict[str, Any]:
        doc = base()
        if "securitySchemes" not in doc.setdefault("components", {}):
            doc["components"]["securitySchemes"] = schemes
            for path, operations in doc.get("paths", {}).items():
                for method, operation in operations.items():
                    if not (method in ("get", "head") and path in PUBLIC_PATHS):
                        operation["security"] = [{name: []} for name in schemes]
        return doc

    app.openapi = with_security  # type: ignore[method-assign]
