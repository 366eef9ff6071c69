import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from panel.demo import (
    DEMO_LOGINS,
    DEMO_PROVIDER_PORT,
    DEMO_PROVIDERS,
    demo_orphans_cancel,
    demo_simulator_first_ids,
)
from providers.models import Provider
from providers.simulator import SimulatorServer

# The demo moves quickly: orders are swept, polled and drip-fed every 10 seconds, alerts checked every minute.
DEMO_INTERVALS = {"ORDER_POLL_INTERVAL": "10", "ORDER_PLACE_SWEEP_INTERVAL": "10", "ALERT_CHECK_INTERVAL": "60"}


class Command(BaseCommand):
    help = (
        "Run the demo until Ctrl-C: web server, Celery worker and beat, and the simulated providers "
        "(served in this process, on --provider-port and the ports after it)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--provider-port", type=int, default=DEMO_PROVIDER_PORT)

    def handle(self, *args, port, provider_port, **options):
        with ExitStack() as servers:
            for spec in DEMO_PROVIDERS:
                provider = Provider.objects.filter(name=spec.name).first()
                first_ids = demo_simulator_first_ids(provider=provider) if provider else {}
                server = SimulatorServer(spec.simulator(**first_ids), port=provider_port + spec.port_offset)
                try:
                    servers.enter_context(server)
                except OSError as error:
                    raise CommandError(
                        f"{spec.name} cannot listen on port {provider_port + spec.port_offset}: {error}. "
                        "Choose other ports with --provider-port (and the same for demo_setup)."
                    ) from None
                self.stdout.write(f"{spec.name}: {server.url}")
            # Only now: a port in use may be a demo still running, whose orders are not orphans.
            if cancelled := demo_orphans_cancel():
                self.stdout.write(f"{cancelled} orders the last run left at the simulators: cancelled and refunded.")
            self._run(port=port)

    def _run(self, *, port: int) -> None:
        python = sys.executable
        processes = {
            "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [python, "-m", "celery", "-A", "panel", "worker", "-P", "threads", "-c", "4", "-l", "info"],
            "beat": [python, "-m", "celery", "-A", "panel", "beat", "-l", "info"],
        }
        env = {**os.environ, **DEMO_INTERVALS}
        env.setdefault("PANEL_BASE_URL", f"http://127.0.0.1:{port}")
        running = {name: subprocess.Popen(command, env=env) for name, command in processes.items()}  # noqa: S603
        logins = "\n".join(f"  {login.username} / {login.password}  ({login.role})" for login in DEMO_LOGINS)
        self.stdout.write(
            f"\nPanel:  http://127.0.0.1:{port}/\nAdmin:  http://127.0.0.1:{port}/{settings.ADMIN_URL}\n"
            f"Staff:  http://127.0.0.1:{port}/staff/tickets/\nLogins:\n{logins}\nCtrl-C stops everything.\n"
        )
        stop = False

        def request_stop(signum, frame):
            nonlocal stop
            stop = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        try:
            while not stop:
                for name, process in running.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with code {process.returncode}; stopping the demo.")
                        stop = True
                time.sleep(0.5)
        finally:
            for process in running.values():
                if process.poll() is None:
                    process.terminate()
            for process in running.values():
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
