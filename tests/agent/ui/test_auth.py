"""Sign-in: hashed passwords with a minimum strength, refusals at start-up, slowed failures.

The slow-down is tested against a real Gradio server on loopback, through its own
``POST /login``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.ui.auth import (
    LoginThrottle,
    UsersError,
    authenticator,
    hash_password,
    load_users,
    password_problem,
    verify_password,
)

ROOT = Path(__file__).resolve().parents[3]
GOOD = "correct-Horse-42"


def test_a_password_is_stored_as_a_salted_scrypt_hash() -> None:
    first, second = hash_password(GOOD), hash_password(GOOD)
    assert first.startswith("scrypt$16384$8$1$") and GOOD not in first
    assert first != second  # a fresh salt each time
    assert verify_password(GOOD, first) and verify_password(GOOD, second)
    assert not verify_password("correct-Horse-43", first)
    assert not verify_password(GOOD, "scrypt$broken")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("", "blank"),
        ("short-1", "has 7 characters; use at least 12"),
        ("aaaaaaaaaaaaaaa1", "at least 5 different"),
        ("ana-is-the-best-1", "contains the user name"),
        ("onlylettershere", "mix letters with digits or symbols"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, reason: str) -> None:
    problem = password_problem(password, "ana")
    assert problem is not None and reason in problem


def test_strong_passwords_and_passphrases_pass() -> None:
    assert password_problem(GOOD, "ana") is None
    assert password_problem("four random words in a row", "ana") is None


@pytest.mark.parametrize(
    ("users", "message"),
    [
        ({"ana": ""}, "user 'ana' has a blank password"),
        ({"ana": "s3cret-password"}, "the password of user 'ana' is stored in plain text"),
        ({"ana": "scrypt$1$2$3$x$y"}, "the hash of user 'ana' is malformed"),
        ({" ": hash_password(GOOD)}, "is blank or has spaces"),
    ],
)
def test_unsafe_users_are_refused(users: dict[str, str], message: str) -> None:
    with pytest.raises(UsersError) as info:
        load_users(users)
    assert message in str(info.value)
    assert "python -m agent ui hash-password" in str(info.value) or "spaces" in message


def test_the_authenticator_checks_hashes_and_knows_no_one_else() -> None:
    check = authenticator(load_users({"ana": hash_password(GOOD)}))
    assert check("ana", GOOD)
    assert not check("ana", "wrong-Password-1")
    assert not check("bob", GOOD)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"ana": ', "AGENT_UI_USERS is not valid JSON"),
        ('{"ana": ""}', "user 'ana' has a blank password"),
        ('{"ana": "hunter2"}', "stored in plain text"),
    ],
)
def test_the_app_refuses_to_start_with_bad_users_in_one_line(
    tmp_path: Path, value: str, message: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    env.update({"AGENT_UI_USERS": value, "AGENT_STATE_DIR": str(tmp_path)})
    proc = subprocess.run(
        [sys.executable, str(ROOT / "app.py")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_the_hash_password_command_refuses_weak_and_prints_the_entry(tmp_path: Path) -> None:
    def run(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent", "ui", "hash-password", "ana"],
            input=password + "\n", cwd=ROOT, capture_output=True, text=True, timeout=120,
            check=False,
        )

    weak = run("password")
    assert weak.returncode == 2 and weak.stdout == ""
    assert "use at least 12" in weak.stderr
    good = run(GOOD)
    assert good.returncode == 0, good.stderr
    entry = json.loads(good.stdout)
    assert verify_password(GOOD, entry["ana"])
    assert load_users(entry) == entry


# --------------------------------------------------------------------------- the slow-down


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_are_slowed_down_per_user_and_per_address() -> None:
    clock = Clock()
    throttle = LoginThrottle(5, clock=clock)
    for _ in range(5):
        assert throttle.wait("ana", "10.0.0.1") == 0
        throttle.failed("ana", "10.0.0.1")
    assert throttle.wait("ana", "10.0.0.1") == pytest.approx(1.0)
    assert throttle.wait("ana", "10.0.0.9") == pytest.approx(1.0)  # the user, from anywhere
    assert throttle.wait("bob", "10.0.0.1") == pytest.approx(1.0)  # the address, any user
    assert throttle.wait("bob", "10.0.0.9") == 0
    clock.now += 1.0
    throttle.failed("ana", "10.0.0.1")
    assert throttle.wait("ana", "10.0.0.1") == pytest.approx(2.0)  # doubling
    for _ in range(20):
        clock.now += 400
        throttle.failed("ana", "10.0.0.1")
    assert throttle.wait("ana", "10.0.0.1") == pytest.approx(300.0)  # capped at 5 minutes
    throttle.succeeded("ana", "10.0.0.1")
    assert throttle.wait("ana", "10.0.0.1") == 0


def test_the_throttle_holds_a_bounded_number_of_keys() -> None:
    throttle = LoginThrottle(5, max_keys=100)
    for n in range(1000):
        throttle.failed(f"user{n}", f"10.0.{n // 250}.{n % 250}")
    assert len(throttle._failures) <= 100


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def login_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real app (``app.py``) on loopback, with one user, over a 3-customer shop."""
    from tests.conftest import build_minimal_shop
    from tools.shop.store import save_shop

    root = tmp_path_factory.mktemp("login-app")
    save_shop(build_minimal_shop(), root / "shop")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_")}
    env.update(
        {
            "AGENT_UI_HOST": "127.0.0.1",
            "AGENT_UI_PORT": str(port),
            "AGENT_UI_USERS": json.dumps({"ana": hash_password(GOOD)}),
            "AGENT_STATE_DIR": str(root / "state"),
            "AGENT_DATA_DIR": str(root / "shop"),
            "GRADIO_ANALYTICS_ENABLED": "False",
        }
    )
    log_path = root / "app.log"
    with log_path.open("w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=root, env=env, stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _login(base: str, password: str, user: str = "ana") -> httpx.Response:
    return httpx.post(f"{base}/login", data={"username": user, "password": password}, timeout=30)


def test_wrong_passwords_in_a_burst_are_slowed_down_on_the_real_server(
    login_server: str,
) -> None:
    codes = [_login(login_server, f"wrong-Password-{n}").status_code for n in range(30)]
    assert codes[:5] == [400] * 5  # five honest mistakes
    assert set(codes[5:]) <= {400, 429} and codes.count(429) >= 20  # then mostly refused
    refused = _login(login_server, GOOD)  # even the right password waits its turn
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in refused.json()["detail"]
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 300
    time.sleep(wait + 0.2)
    assert _login(login_server, GOOD).status_code == 200
    assert _login(login_server, "wrong-Password-x").status_code == 400  # the slate is clean
