"""aiclone against a FastAPI + pydantic + SQLAlchemy ORM peer: ``me``, the prospects list, a create.

    python bench/peer.py                       # PostgreSQL (AICLONE_BENCH_POSTGRES_URL or local)
    python bench/peer.py --seconds 5 --rounds 3 --connections 16

The peer (``create_peer_app`` below) is what most users would write instead: FastAPI routes,
pydantic models in and out, an ORM ``AsyncSession`` per request, PyJWT decoding the bearer token
on every request (the same key, issuer and audience as aiclone's), on the same tables and
indices of the same PostgreSQL database (it maps aiclone's own ORM classes). It has no event
backbone: aiclone's create also writes its event, counters and deliveries in the transaction
and notifies the streams; that is the point of the comparison.

Both servers run under uvicorn (uvloop, httptools, one worker) through aiclone.serving, on one
throwaway database seeded with 16 users of 200 prospects each. The load is bench/loadgen.py in
its own process, 16 connections spread over the 16 users, the targets taking turns round after
round. It prints req/s, p50/p99 and the ratio aiclone / peer for each endpoint, and refuses a
ratio over any answer that is not the expected status (exit status 1).
Goal: aiclone ahead of the peer (ratio > 1) on all three.

(No ``from __future__ import annotations`` here: FastAPI reads the annotations of routes defined
inside a function at run time.)
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
USERS = 16
PROSPECTS_PER_USER = 200
CREATE_BODY = json.dumps({"name": "Bench Prospect", "company": "Acme", "fit_score": 50})


def create_peer_app() -> Any:
    """The peer, configured from PEER_DATABASE_URL and PEER_SECRET_KEY."""
    import datetime as dt  # noqa: PLC0415 - server role only

    import jwt  # noqa: PLC0415
    from fastapi import Depends, FastAPI, Header, HTTPException  # noqa: PLC0415
    from pydantic import BaseModel, ConfigDict, Field  # noqa: PLC0415
    from sqlalchemy import select  # noqa: PLC0415
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine  # noqa: PLC0415

    from aiclone.auth.models import User  # noqa: PLC0415
    from aiclone.models import metadata  # noqa: F401, PLC0415 - every mapper configured
    from aiclone.prospects.models import Prospect  # noqa: PLC0415

    engine = create_async_engine(
        os.environ["PEER_DATABASE_URL"], pool_size=USERS, max_overflow=0, pool_pre_ping=False
    )
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    secret = os.environ["PEER_SECRET_KEY"]

    class UserOut(BaseModel):
        model_config = ConfigDict(from_attributes=True)
        id: uuid.UUID
        email: str
        full_name: str
        role: str
        is_active: bool
        created_at: dt.datetime

    class ProspectIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str = Field(min_length=1, max_length=200)
        email: str | None = None
        company: str | None = Field(default=None, max_length=200)
        job_title: str | None = Field(default=None, max_length=200)
        fit_score: int = Field(default=0, ge=0, le=100)
        tags: list[str] = []
        notes: str | None = None

    class ProspectOut(BaseModel):
        model_config = ConfigDict(from_attributes=True)
        id: uuid.UUID
        user_id: uuid.UUID
        name: str
        email: str | None
        phone: str | None
        job_title: str | None
        company: str | None
        website: str | None
        linkedin: str | None
        discovery_source: str | None
        approval_status: str
        fit_score: int
        referral_capacity: int
        signal_strength: int
        best_outreach_angle: str | None
        scoring_reasoning: str | None
        tags: list[str]
        notes: str | None
        drafts_generated: int
        emails_sent: int
        meetings_booked: int
        last_contacted: dt.datetime | None
        created_at: dt.datetime
        updated_at: dt.datetime

    class ProspectPage(BaseModel):
        items: list[ProspectOut]
        next_cursor: str | None = None

    async def session() -> Any:
        async with sessions() as s:
            yield s

    def current_user_id(authorization: str = Header()) -> uuid.UUID:
        _, _, token = authorization.partition(" ")
        try:
            claims = jwt.decode(token, secret, algorithms=["HS256"], audience="aiclone-api", issuer="aiclone")
            return uuid.UUID(claims["sub"])
        except (jwt.PyJWTError, KeyError, ValueError):
            raise HTTPException(401, "invalid token") from None

    app = FastAPI()

    @app.get("/api/auth/me", response_model=UserOut)
    async def me(
        user_id: uuid.UUID = Depends(current_user_id),  # noqa: B008 - FastAPI's idiom
        db: AsyncSession = Depends(session),  # noqa: B008
    ) -> Any:
        user = await db.get(User, user_id)
        if user is None or not user.is_active:
            raise HTTPException(401, "gone")
        return user

    @app.get("/api/prospects", response_model=ProspectPage)
    async def list_prospects(
        limit: int = 50,
        user_id: uuid.UUID = Depends(current_user_id),  # noqa: B008
        db: AsyncSession = Depends(session),  # noqa: B008
    ) -> Any:
        rows = (
            await db.scalars(
                select(Prospect)
                .where(Prospect.user_id == user_id)
                .order_by(Prospect.created_at.desc(), Prospect.id.desc())
                .limit(limit + 1)
            )
        ).all()
        more = len(rows) > limit
        return ProspectPage(
            items=[ProspectOut.model_validate(p) for p in rows[:limit]],
            next_cursor=str(rows[limit - 1].id) if more else None,
        )

    @app.post("/api/prospects", response_model=ProspectOut, status_code=201)
    async def create_prospect(
        data: ProspectIn,
        user_id: uuid.UUID = Depends(current_user_id),  # noqa: B008
        db: AsyncSession = Depends(session),  # noqa: B008
    ) -> Any:
        now = dt.datetime.now(dt.UTC)
        prospect = Prospect(user_id=user_id, created_at=now, updated_at=now, **data.model_dump())
        db.add(prospect)
        await db.commit()
        return prospect

    return app


def _dsn(url: str) -> str:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def seed(database_url: str) -> list[uuid.UUID]:
    from sqlalchemy import insert  # noqa: PLC0415

    from aiclone.db import Database, utcnow  # noqa: PLC0415
    from aiclone.prospects.models import Prospect  # noqa: PLC0415
    from streams_scale import create_signed_in_users  # noqa: PLC0415

    users, _ = await create_signed_in_users(database_url, USERS)
    db = Database(database_url)
    now = utcnow()
    rows = [
        {"id": uuid.uuid4(), "user_id": u, "name": f"Prospect {i}", "company": "Acme", "created_at": now,
         "updated_at": now, "tags": []}
        for u in users
        for i in range(PROSPECTS_PER_USER)
    ]  # fmt: skip
    try:
        async with db.session() as session:
            for start in range(0, len(rows), 2000):
                await session.execute(insert(Prospect), rows[start : start + 2000])
    finally:
        await db.dispose()
    return users


def drive(url: str, auth_file: Path, args: argparse.Namespace, *, create: bool) -> dict[str, float]:
    cmd = [
        sys.executable, str(BENCH_DIR / "loadgen.py"), url, f"--connections={args.connections}",
        f"--duration={args.seconds}", f"--authorizations={auth_file}",
    ]  # fmt: skip
    if create:
        cmd += ["--method=POST", f"--body={CREATE_BODY}", "--expect=201"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=args.seconds + 60).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    sys.path.insert(0, str(BENCH_DIR))
    import asyncpg  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    from aiclone import migrate  # noqa: PLC0415
    from sse import SECRET, ServerProcess, free_port  # noqa: PLC0415
    from streams_scale import TOKEN_TTL, tokens_for  # noqa: PLC0415

    admin_url = os.environ.get("AICLONE_BENCH_POSTGRES_URL", PG_DEFAULT)
    name = f"aiclone_bench_peer_{uuid.uuid4().hex[:8]}"
    database_url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(_dsn(admin_url))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    print(f"peer benchmark: load average {os.getloadavg()[0]:.1f} at start", flush=True)
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    work = Path(tempfile.mkdtemp(prefix="aiclone-bench-peer-"))
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    try:
        migrate.upgrade(database_url)
        users = asyncio.run(seed(database_url))
        auth_file = work / "authorizations"
        auth_file.write_text("\n".join(f"Bearer {t}" for t in tokens_for(users)))
        base_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AICLONE_")},
            "PYTHONPATH": f"{ROOT / 'src'}:{BENCH_DIR}",
        }
        ours_env = {
            **base_env,
            "AICLONE_DATABASE_URL": database_url,
            "AICLONE_DATA_DIR": str(work),
            "AICLONE_SECRET_KEY": SECRET,
            "AICLONE_LOG_LEVEL": "WARNING",
            "AICLONE_RATE_LIMIT_ENABLED": "false",
            "AICLONE_ACCESS_TOKEN_TTL_SECONDS": str(TOKEN_TTL),
            "AICLONE_DATABASE_POOL_SIZE": str(USERS),
        }
        peer_env = {**base_env, "PEER_DATABASE_URL": database_url, "PEER_SECRET_KEY": SECRET}
        with ExitStack() as stack:
            urls = {}
            for label, cmd, env, ready in (
                ("aiclone", [sys.executable, "-m", "aiclone", "serve", "--no-migrate"], ours_env, "/health"),
                ("peer", [sys.executable, __file__, "serve"], peer_env, "/docs"),
            ):
                port = free_port()
                server = ServerProcess([*cmd, "--port", str(port)], env, work / f"{label}.log")
                asyncio.run(server.start(f"http://127.0.0.1:{port}{ready}"))
                stack.callback(server.stop)
                urls[label] = f"http://127.0.0.1:{port}"
            endpoints = {
                "me": ("/api/auth/me", False),
                "list 50": ("/api/prospects?limit=50", False),
                "create": ("/api/prospects", True),
            }
            for round_ in range(args.rounds):
                for endpoint, (path, create) in endpoints.items():
                    for label, base in urls.items():
                        figures = drive(base + path, auth_file, args, create=create)
                        results.setdefault((endpoint, label), []).append(figures)
                        print(
                            f"round {round_ + 1}: {endpoint:8} {label:8} {figures['rps']:8.0f} req/s"
                            f" ({figures['errors']} unexpected answers)",
                            flush=True,
                        )
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"\nmedians of {args.rounds} rounds of {args.seconds:g} s, {args.connections} connections,"
          f" load average {os.getloadavg()[0]:.1f} at the end:")  # fmt: skip
    valid = True
    for endpoint in ("me", "list 50", "create"):
        row = {}
        for label in ("aiclone", "peer"):
            runs = results[(endpoint, label)]
            errors = sum(r["errors"] for r in runs)
            valid = valid and errors == 0
            row[label] = statistics.median(r["rps"] for r in runs)
            p99 = statistics.median(r["p99_ms"] for r in runs)
            print(f"  {endpoint:8} {label:8} {row[label]:8.0f} req/s  p99 {p99:7.1f} ms  errors {errors}")
        ratio = "invalid (unexpected answers)" if not valid else f"{row['aiclone'] / row['peer']:.2f}x"
        print(f"  {endpoint:8} aiclone / peer: {ratio}")
    if not valid:
        print("ERROR: some answers were not the expected status; those ratios are not figures")
    return 0 if valid else 1


def serve(argv: list[str]) -> int:
    sys.path.insert(0, str(BENCH_DIR))
    from aiclone.serving import run_server  # noqa: PLC0415

    port = int(argv[argv.index("--port") + 1])
    return run_server(
        "peer:create_peer_app", server="uvicorn", host="127.0.0.1", port=port, workers=1, log_level="warning"
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        sys.exit(serve(sys.argv[2:]))
    sys.exit(main())
