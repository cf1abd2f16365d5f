"""`make run`: migrate, load demo data, then run web server, Celery worker and beat together until Ctrl-C."""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.services import database_ensure, localstripe_webhook, services  # noqa: E402

PYTHON = sys.executable


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def start(name: str, argv: list[str], env: dict[str, str]) -> tuple[str, subprocess.Popen[bytes]]:
    # Each child gets its own process group so a Ctrl-C reaches it once, from us, in order.
    return name, subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True)


def stop(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    for _name, process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for _name, process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".state")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    args = parser.parse_args()
    # Set explicitly: a shell starting us in the background hands us SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    url = f"http://{args.host}:{args.port}"

    with services(state_dir=args.state_dir, prefer_local=False) as service_env:
        env = {
            **os.environ,
            **service_env,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "marketplace.settings.local"),
            "SITE_URL": os.environ.get("SITE_URL", url),
            "PYTHONUNBUFFERED": "1",
        }
        database_ensure(env["DATABASE_URL"])
        manage("migrate", "--noinput", "-v0", env=env)
        manage("collectstatic", "--noinput", "-v0", env=env)
        manage("demo_data", env=env)
        manage("demo_auctions", env=env)
        localstripe_webhook(env, env["SITE_URL"])
        bin_dir = Path(PYTHON).parent
        processes = [
            start(
                "web",
                [
                    str(bin_dir / "uvicorn"),
                    "marketplace.asgi:application",
                    "--host",
                    args.host,
                    "--port",
                    str(args.port),
                    "--workers",
                    str(args.workers),
                    "--no-access-log",
                    "--ws",
                    "websockets-sansio",
                ],
                env,
            ),
            start("worker", [str(bin_dir / "celery"), "-A", "marketplace", "worker", "-l", "warning", "-c", "2"], env),
            start(
                "beat",
                [
                    str(bin_dir / "celery"),
                    "-A",
                    "marketplace",
                    "beat",
                    "-l",
                    "warning",
                    "--schedule",
                    str(args.state_dir / "celerybeat-schedule"),
                ],
                env,
            ),
        ]
        password = os.environ.get("DEMO_PASSWORD", "demo-pass-2026")
        print(
            f"\n  Debt auction marketplace: {url}\n"
            f"  Admin: {url}/admin/   API docs: {url}/api/docs/   Health: {url}/healthz\n"
            f"  Demo logins (password {password}):\n"
            "    admin@example.com (staff)            seller@jade-amc.example.com (AMC)\n"
            "    seller@lakeside-bank.example.com     buyer@pearl-bay.example.com (institution)\n"
            "    li.wei@example.com, zhang.min@example.com (retail)\n"
            "  Press Ctrl-C to stop.\n",
            flush=True,
        )
        try:
            while all(process.poll() is None for _name, process in processes):
                time.sleep(0.5)
            failed = [name for name, process in processes if process.poll() is not None]
            print(f"Stopping: {', '.join(failed)} exited.", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nStopping…", file=sys.stderr)
            return 0
        finally:
            stop(processes)


if __name__ == "__main__":
    sys.exit(main())
