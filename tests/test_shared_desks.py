"""Several `curator web` processes on one database: one signing key, one set of login limits."""

from __future__ import annotations

from pathlib import Path

from test_web import PASSWORD, build_desk, login

from curator.store import Store
from curator.web import create_app
from curator.web.security import Rate


def test_two_desks_on_one_database_share_sessions_and_login_limits(
        tmp_path: Path, backend: Path | str) -> None:
    desk = build_desk(tmp_path, database=str(backend))
    second = create_app(desk.config, now=desk.clock)
    second.config["TESTING"] = True
    assert second.secret_key == desk.app.secret_key  # made once, kept in the database
    fake = [1000.0]
    throttles = [app.extensions["curator_desk"].throttle for app in (desk.app, second)]
    for t in throttles:
        t.clock = lambda: fake[0]
    one, two = desk.app.test_client(), second.test_client()

    # A wrong password on one desk holds the same name and address back on the other.
    assert login(one, password="wrong password!").status_code == 200
    refused = login(two)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    fake[0] += 1.1
    assert login(two).status_code == 302
    # A session begun on one desk is good on the other (behind a load balancer).
    cookie = two.get_cookie("curator_session")
    assert cookie is not None
    three = desk.app.test_client()
    three.set_cookie("curator_session", cookie.value)
    assert three.get("/").status_code == 200

    # The per-address limit counts attempts made on either desk.
    for t in throttles:
        t.rates["address"] = Rate(burst=2, every=30.0)
    where = {"REMOTE_ADDR": "203.0.113.50"}
    one, two = desk.app.test_client(), second.test_client()
    assert login(one, name="nobody1", password="guess one!!", environ_base=where).status_code == 200
    assert login(two, name="nobody2", password="guess two!!", environ_base=where).status_code == 200
    third = login(one, name="nobody3", password=PASSWORD, environ_base=where)
    assert third.status_code == 429 and "Too many sign-in attempts" in third.text


def test_desks_starting_together_keep_the_first_signing_key(backend: Path | str) -> None:
    store = Store(backend)
    try:
        assert store.set_state("web_secret_key", "first", keep=True) == "first"
        assert store.set_state("web_secret_key", "second", keep=True) == "first"
        assert store.set_state("other", "x") == "x"
    finally:
        store.close()
