"""Authentication (plugin/api/auth.py): off by default; CDS Hooks client JWTs; static API keys; the 401/403 policy."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import ValidationError

from plugin.api.app import create_app
from plugin.settings import Settings
from tests.conftest import MINI_PACKS, mini_doc

AUD = "https://ddx.example.org"
ISS = "https://ehr.example.org"
JKU = "https://ehr.example.org/.well-known/jwks.json"
API_KEY = "k3y-" + "0123456789abcdef" * 2
EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JKU_KEY = ec.generate_private_key(ec.SECP384R1())  # published only at the jku URL
FOREIGN_KEY = ec.generate_private_key(ec.SECP384R1())  # nobody configured it


def jwk(private: Any, kid: str) -> dict[str, Any]:
    algorithm = ECAlgorithm if isinstance(private, ec.EllipticCurvePrivateKey) else RSAAlgorithm
    return algorithm.to_jwk(private.public_key(), as_dict=True) | {"kid": kid, "use": "sig"}


PUBLIC_KEYS = {"keys": [jwk(EC_KEY, "ec-1"), jwk(RSA_KEY, "rsa-1"), jwk(FOREIGN_KEY, "trusted-but-other-issuer")]}


def token(key: Any = EC_KEY, alg: str = "ES384", headers: dict[str, Any] | None = None, **claims: Any) -> str:
    now = int(time.time())
    body = {"iss": ISS, "sub": "client-1", "aud": AUD, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())} | claims
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key, algorithm=alg, headers={"kid": "ec-1"} | (headers or {}))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(alg: Any, kid: str = "ec-1", secret: bytes | None = None) -> str:
    """A token jwt.encode would refuse to make: alg none, or HMAC keyed with whatever we like."""
    now = int(time.time())
    claims = {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())}
    signing_input = f"{b64(json.dumps({'alg': alg, 'typ': 'JWT', 'kid': kid}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()) if secret else ""
    return f"{signing_input}.{signature}"


def signed(header: dict[str, Any] | None = None, **claims: Any) -> str:
    """An ES384 token signed with EC_KEY, with header and claims jwt.encode would refuse to write."""
    now = int(time.time())
    body = {"iss": ISS, "aud": AUD, "iat": now, "exp": now + 120, "jti": str(uuid.uuid4())} | claims
    head = {"alg": "ES384", "typ": "JWT", "kid": "ec-1"} | (header or {})
    signing_input = f"{b64(json.dumps(head).encode())}.{b64(json.dumps(body).encode())}"
    return f"{signing_input}.{b64(ECAlgorithm(ECAlgorithm.SHA384).sign(signing_input.encode(), EC_KEY))}"


def jwt_settings(tmp_path: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "mappings_dir": MINI_PACKS, "public_url": AUD, "auth_mode": "jwt", "jwt_issuers": [ISS],
        "jwt_public_keys": PUBLIC_KEYS, "jwt_jku_allowlist": [JKU], "database_url": f"sqlite:///{tmp_path / 'ddx.sqlite3'}",
    }
    return Settings(**(values | changes))


@pytest.fixture
def app_client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(jwt_settings(tmp_path)), raise_server_exceptions=False) as c:
        yield c


def evaluate(client: TestClient, tok: str | None = None, **headers: str) -> httpx.Response:
    if tok is not None:
        headers["Authorization"] = f"Bearer {tok}"
    return client.post("/evaluate", json=mini_doc(), headers=headers)


def assert_login(response: httpx.Response, presented: bool = True) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert ('error="invalid_token"' in response.headers["www-authenticate"]) is presented
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert [i["code"] for i in body["issue"]] == ["login"]


# --- off by default -------------------------------------------------------------------------------------------

def test_auth_is_off_by_default(mini_client: TestClient) -> None:
    assert Settings().auth_mode == "none"
    assert mini_client.post("/evaluate", json=mini_doc()).status_code == 200
    assert mini_client.get("/knowledge").status_code == 200
    assert "securitySchemes" not in mini_client.get("/openapi.json").json()["components"]


# --- jwt mode: what passes ------------------------------------------------------------------------------------

def test_es384_token_passes(app_client: TestClient) -> None:
    response = evaluate(app_client, token())
    assert response.status_code == 200, response.text
    assert response.json()["resourceType"] == "Bundle"


def test_hand_signed_token_passes(app_client: TestClient) -> None:
    assert evaluate(app_client, signed()).status_code == 200  # so the malformed variants below fail for their flaw alone


def test_rs384_token_passes(app_client: TestClient) -> None:
    assert evaluate(app_client, token(RSA_KEY, "RS384", {"kid": "rsa-1"})).status_code == 200


def test_aud_may_be_an_array_or_the_endpoint_url(app_client: TestClient) -> None:
    assert evaluate(app_client, token(aud=["https://other.example", AUD])).status_code == 200
    assert evaluate(app_client, token(aud=f"{AUD}/evaluate")).status_code == 200


def test_knowledge_is_guarded(app_client: TestClient) -> None:
    assert_login(app_client.get("/knowledge"), presented=False)
    assert app_client.get("/knowledge", headers={"Authorization": f"Bearer {token()}"}).status_code == 200


def test_health_and_contract_stay_open(app_client: TestClient) -> None:
    assert app_client.get("/health").status_code == 200
    assert app_client.get("/schemas/findings-report").status_code == 200
    doc = app_client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"]["bearerFormat"] == "JWT"
    assert doc["paths"]["/evaluate"]["post"]["security"] == [{"bearer": []}]
    assert "security" not in doc["paths"]["/health"]["get"]
    assert_login(app_client.post("/health"), presented=False)  # open means GET/HEAD only
    assert_login(app_client.get("/no/such/path"), presented=False)  # deny by default, even where nothing is found


# --- jwt mode: 401 --------------------------------------------------------------------------------------------

def test_missing_or_non_bearer_credentials(app_client: TestClient) -> None:
    assert_login(evaluate(app_client), presented=False)
    assert_login(evaluate(app_client, Authorization="Basic dXNlcjpwdw=="), presented=False)
    assert_login(evaluate(app_client, "not-a-jwt"))


# iat, exp and nbf as seconds from the moment the test runs (not from collection, which may be minutes earlier).
@pytest.mark.parametrize("claims", [
    pytest.param({"iat": -400, "exp": -100}, id="expired"),
    pytest.param({"iat": 120, "exp": 300}, id="iat-in-future"),
    pytest.param({"nbf": 120}, id="nbf-in-future"),
    pytest.param({"iat": 0, "exp": 3600}, id="lives-too-long"),
    pytest.param({"aud": "https://someone-else.example"}, id="wrong-aud"),
    pytest.param({"aud": ["https://someone-else.example"]}, id="wrong-aud-array"),
    pytest.param({"aud": None}, id="no-aud"),
    pytest.param({"jti": None}, id="no-jti"),
    pytest.param({"iat": None}, id="no-iat"),
    pytest.param({"exp": None}, id="no-exp"),
    pytest.param({"iss": None}, id="no-iss"),
])
def test_bad_claims_are_401(app_client: TestClient, claims: dict[str, Any]) -> None:
    now = int(time.time())
    claims = {k: now + v if k in ("iat", "exp", "nbf") and v is not None else v for k, v in claims.items()}
    assert_login(evaluate(app_client, token(**claims)))


@pytest.mark.parametrize("make", [
    pytest.param(lambda: token(headers={"kid": "who-knows"}), id="unknown-kid"),
    pytest.param(lambda: jwt.encode({"iss": ISS, "aud": AUD, "iat": int(time.time()), "exp": int(time.time()) + 60, "jti": "x"},
                                    EC_KEY, algorithm="ES384"), id="missing-kid"),
    pytest.param(lambda: token(headers={"typ": "at+jwt"}), id="typ-not-jwt"),
    pytest.param(lambda: unsigned("none"), id="alg-none"),
    pytest.param(lambda: unsigned(["ES384"]), id="alg-not-a-string"),
    pytest.param(lambda: signed({"kid": 7}), id="kid-not-a-string"),
    pytest.param(lambda: token(headers={"jku": ["https://ehr.example.org/.well-known/jwks.json"]}), id="jku-not-a-string"),
    pytest.param(lambda: token(iat="yesterday"), id="iat-not-a-number"),
    pytest.param(lambda: token(exp=[1]), id="exp-not-a-number"),
    pytest.param(lambda: token(jti=7), id="jti-not-a-string"),
    pytest.param(lambda: signed(iss=[ISS]), id="iss-not-a-string"),
    pytest.param(lambda: unsigned("HS256", secret=b"some shared secret of 32 bytes!!"), id="hs256"),
    pytest.param(lambda: unsigned("HS256", "rsa-1", RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)), id="hs256-keyed-with-public-key"),
    pytest.param(lambda: token(RSA_KEY, "RS384", {"kid": "ec-1"}), id="rsa-signature-on-ec-kid"),
    pytest.param(lambda: token(FOREIGN_KEY), id="signed-by-another-key"),
    pytest.param(lambda: token(ec.generate_private_key(ec.SECP256R1()), "ES256"), id="alg-does-not-fit-kid-curve"),
    pytest.param(lambda: token(headers={"jwk": jwk(FOREIGN_KEY, "ec-1")}, key=FOREIGN_KEY), id="embedded-jwk-ignored"),
])
def test_bad_tokens_are_401(app_client: TestClient, make: Any) -> None:
    tok = make()
    response = evaluate(app_client, tok)
    assert_login(response)
    assert tok not in response.text


def test_replayed_jti_is_401(app_client: TestClient) -> None:
    tok = token()
    assert evaluate(app_client, tok).status_code == 200
    assert_login(evaluate(app_client, tok))
    assert "already been used" in evaluate(app_client, tok).json()["issue"][0]["diagnostics"]


def test_replay_is_refused_across_workers(tmp_path: Path) -> None:
    """Two app instances on one SQLite file stand for two worker processes."""
    tok = token()
    with TestClient(create_app(jwt_settings(tmp_path))) as first, TestClient(create_app(jwt_settings(tmp_path))) as second:
        assert evaluate(first, tok).status_code == 200
        assert_login(evaluate(second, tok))
        assert evaluate(second, token()).status_code == 200


def test_same_jti_from_another_issuer_is_not_a_replay(tmp_path: Path) -> None:
    other = "https://ehr-2.example.org"
    with TestClient(create_app(jwt_settings(tmp_path, jwt_issuers=[ISS, other]))) as c:
        assert evaluate(c, token(jti="shared")).status_code == 200
        assert evaluate(c, token(jti="shared", iss=other)).status_code == 200


# --- jwt mode: 403 --------------------------------------------------------------------------------------------

def test_signed_token_from_an_issuer_not_allowed_is_403(app_client: TestClient) -> None:
    tok = token(FOREIGN_KEY, headers={"kid": "trusted-but-other-issuer"}, iss="https://intruder.example")
    response = evaluate(app_client, tok)
    assert response.status_code == 403
    assert [i["code"] for i in response.json()["issue"]] == ["forbidden"]
    assert "www-authenticate" not in response.headers


def test_wrong_issuer_with_an_unknown_key_is_401(app_client: TestClient) -> None:
    assert_login(evaluate(app_client, token(headers={"kid": "nope"}, iss="https://intruder.example")))


# --- jwt mode: jku ----------------------------------------------------------------------------------------------

class FakeJwksServer:
    def __init__(self, status: int = 200) -> None:
        self.calls: list[str] = []
        self.status = status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(str(request.url))
        return httpx.Response(self.status, json={"keys": [jwk(JKU_KEY, "jku-1"), {"kty": "oct", "k": "c2VjcmV0", "kid": "sym"}]})


def jku_token(jku: str = JKU, kid: str = "jku-1", key: Any = JKU_KEY) -> str:
    return token(key, headers={"kid": kid, "jku": jku})


def test_jku_outside_the_allow_list_makes_no_request(app_client: TestClient) -> None:
    server = FakeJwksServer()
    app_client.app.state.auth.jwks.transport = httpx.MockTransport(server)
    for url in ("https://evil.example/jwks.json", JKU + "?x=1", JKU.upper(), JKU + "/"):
        assert_login(evaluate(app_client, jku_token(url)))
    assert server.calls == []


def test_allow_listed_jku_key_is_fetched_once_and_cached(app_client: TestClient) -> None:
    server = FakeJwksServer()
    app_client.app.state.auth.jwks.transport = httpx.MockTransport(server)
    assert evaluate(app_client, jku_token()).status_code == 200
    assert evaluate(app_client, jku_token()).status_code == 200
    assert server.calls == [JKU]
    assert_login(evaluate(app_client, jku_token(kid="sym")))  # symmetric keys in a fetched set are skipped
    assert_login(evaluate(app_client, jku_token(kid="ec-1", key=EC_KEY)))  # a jku token uses that set only
    assert server.calls == [JKU]  # unknown kids do not refetch within JWKS_MIN_REFETCH


def test_jku_key_through_an_injected_fetcher(app_client: TestClient) -> None:
    fetched: list[str] = []

    async def fetch(url: str) -> Any:
        fetched.append(url)
        return {"keys": [jwk(JKU_KEY, "jku-1")]}

    app_client.app.state.auth.jwks.fetch = fetch
    assert evaluate(app_client, jku_token()).status_code == 200
    assert fetched == [JKU]


def test_unreachable_jku_is_401(app_client: TestClient) -> None:
    server = FakeJwksServer(status=500)
    app_client.app.state.auth.jwks.transport = httpx.MockTransport(server)
    assert_login(evaluate(app_client, jku_token()))
    assert server.calls == [JKU]


# --- api-key mode ---------------------------------------------------------------------------------------------

@pytest.fixture
def key_client() -> Iterator[TestClient]:
    settings = Settings(mappings_dir=MINI_PACKS, auth_mode="api-key", api_keys=["another-key-of-enough-length", API_KEY])
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        yield c


def test_api_key_in_either_header_passes(key_client: TestClient) -> None:
    assert evaluate(key_client, API_KEY).status_code == 200
    assert evaluate(key_client, **{"X-API-Key": API_KEY}).status_code == 200
    assert key_client.get("/knowledge", headers={"X-API-Key": API_KEY}).status_code == 200


def test_wrong_or_missing_api_key_is_401(key_client: TestClient) -> None:
    assert_login(evaluate(key_client), presented=False)
    assert_login(evaluate(key_client, API_KEY + "x"))
    assert_login(evaluate(key_client, **{"X-API-Key": API_KEY[:-1]}))
    assert_login(evaluate(key_client, token()))  # a JWT is not a key
    assert key_client.get("/health").status_code == 200
    doc = key_client.get("/openapi.json").json()
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}


# --- secrets stay out of logs, start-up refuses what cannot work ---------------------------------------------

def test_tokens_and_keys_never_logged(tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    tok, replayed = token(), token(iss="https://intruder.example", key=FOREIGN_KEY, headers={"kid": "trusted-but-other-issuer"})
    with TestClient(create_app(jwt_settings(tmp_path))) as c:
        evaluate(c, tok), evaluate(c, tok), evaluate(c, replayed), evaluate(c, tok + "garbage")
    with TestClient(create_app(Settings(mappings_dir=MINI_PACKS, auth_mode="api-key", api_keys=[API_KEY]))) as c:
        evaluate(c, API_KEY), evaluate(c, API_KEY + "wrong"), evaluate(c, **{"X-API-Key": API_KEY})
    logged = capfd.readouterr().err + caplog.text
    assert "authentication refused: replay" in logged and "authentication refused: bad-key" in logged
    for secret in (tok, replayed, API_KEY, tok.split(".")[2], API_KEY[4:20]):
        assert secret not in logged


@pytest.mark.parametrize(("changes", "message"), [
    ({"auth_mode": "jwt"}, "DDX_JWT_ISSUERS"),
    ({"auth_mode": "jwt", "jwt_issuers": [ISS]}, "DDX_JWT_PUBLIC_KEYS"),
    ({"database_url": "mysql://db.example/ddx"}, "DDX_DATABASE_URL"),
    ({"jwt_jku_allowlist": ["http://ehr.example/jwks"]}, "only https"),
    ({"auth_mode": "api-key"}, "DDX_API_KEYS"),
    ({"auth_mode": "api-key", "api_keys": ["short-secret"]}, "at least 16"),
    ({"auth_mode": "oauth"}, "auth_mode"),
])
def test_unusable_settings_fail_at_start_up(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(**changes)
    assert message in str(caught.value)
    assert "short-secret" not in str(caught.value)


@pytest.mark.parametrize(("keys", "message"), [
    ({"keys": [jwk(EC_KEY, "a") | {"d": "private"}]}, "private"),
    ({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "a"}]}, "symmetric"),
    ({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "a"}]}, "asymmetric keys only"),
    ({"keys": [ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256K1()).public_key(), as_dict=True) | {"kid": "a"}]}, "P-384"),
    ({"keys": [jwk(EC_KEY, "a") | {"alg": "HS256"}]}, "not an accepted"),
    ({"keys": [jwk(EC_KEY, "a"), jwk(RSA_KEY, "a")]}, "twice"),
    ({"keys": [{k: v for k, v in jwk(EC_KEY, "a").items() if k != "kid"}]}, "no kid"),
    ({"keys": [RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 1024).public_key(), as_dict=True) | {"kid": "a"}]}, "2048"),
    ({"keys": "nope"}, "JWK Set"),
])
def test_unusable_keys_fail_at_start_up(tmp_path: Path, keys: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_app(jwt_settings(tmp_path, jwt_public_keys=keys))


def test_keys_by_kid_object_is_accepted(tmp_path: Path) -> None:
    with TestClient(create_app(jwt_settings(tmp_path, jwt_public_keys={"ec-1": jwk(EC_KEY, "ec-1")}))) as c:
        assert evaluate(c, token()).status_code == 200


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DDX_AUTH_MODE", "jwt")
    monkeypatch.setenv("DDX_JWT_ISSUERS", json.dumps([ISS]))
    monkeypatch.setenv("DDX_JWT_PUBLIC_KEYS", json.dumps(PUBLIC_KEYS))
    monkeypatch.setenv("DDX_JWT_JKU_ALLOWLIST", json.dumps([JKU]))
    monkeypatch.setenv("DDX_JWT_MAX_AGE_SECONDS", "120")
    monkeypatch.setenv("DDX_DATABASE_URL", f"sqlite:///{tmp_path / 'ddx.sqlite3'}")
    monkeypatch.setenv("DDX_API_KEYS", json.dumps([API_KEY]))
    settings = Settings(mappings_dir=MINI_PACKS, public_url=AUD)
    assert (settings.auth_mode, settings.jwt_max_age_seconds, settings.jwt_issuers) == ("jwt", 120, [ISS])
    assert API_KEY not in repr(settings)
    with TestClient(create_app(settings)) as c:
        assert evaluate(c, token()).status_code == 200
        assert_login(evaluate(c, token(exp=int(time.time()) + 200)))  # 200 s > DDX_JWT_MAX_AGE_SECONDS


def test_the_replaced_jti_store_path_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """DDX_JTI_STORE_PATH was replaced by DDX_DATABASE_URL: a deployment still setting it is stopped, not silently ignored."""
    monkeypatch.setenv("DDX_JTI_STORE_PATH", str(tmp_path / "jti.sqlite"))
    with pytest.raises(ValidationError, match="DDX_DATABASE_URL"):
        Settings()


def test_a_replayed_token_is_refused_by_another_app_on_the_same_database(tmp_path: Path) -> None:
    """Two apps (as two workers or replicas would be) on one database share the seen jti values."""
    tok = token()
    with TestClient(create_app(jwt_settings(tmp_path))) as one, TestClient(create_app(jwt_settings(tmp_path))) as other:
        assert evaluate(one, tok).status_code == 200
        assert_login(evaluate(other, tok))
