import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand

from panel.management.commands.demo_setup import DEMO_SIMULATOR_KEY, DEMO_SIMULATOR_SEED


class Command(BaseCommand):
    help = "Run the demo: web server, Celery worker and beat, and the simulated provider, until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--provider-port", type=int, default=8001)

    def handle(self, *args, port, provider_port, **options):
        python = sys.executable
        processes = {
            "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [python, "-m", "celery", "-A", "panel", "worker", "-P", "threads", "-c", "4", "-l", "info"],
            "beat": [python, "-m", "celery", "-A", "panel", "beat", "-l", "info"],
        }
        processes["provider"] = [
            python,
            "manage.py",
            "simulate_provider",
            "--port",
            str(provider_port),
            "--key",
            DEMO_SIMULATOR_KEY,
            "--seed",
            str(DEMO_SIMULATOR_SEED),
            "--stage-seconds",
            "20",
        ]
        # The demo moves quickly: orders are swept and polled every 10 seconds.
        env = {**os.environ, "ORDER_POLL_INTERVAL": "10", "ORDER_PLACE_SWEEP_INTERVAL": "10"}
        running = {name: subprocess.Popen(command, env=env) for name, command in processes.items()}  # noqa: S603
        self.stdout.write(
            f"\nPanel:  http://127.0.0.1:{port}/\nAdmin:  http://127.0.0.1:{port}/admin/\n"
            "Logins: admin / admin (staff), demo / demo-password (customer)\nCtrl-C stops everything.\n"
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
