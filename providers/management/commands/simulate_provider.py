import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from core.money import money_arg
from providers.simulator import DIALECTS, SimulatedProvider, SimulatorServer


class Command(BaseCommand):
    help = "Serve a simulated upstream provider (API v2) on localhost until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8001, help="0 picks a free port")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--dialect", choices=DIALECTS, default="standard")
        parser.add_argument("--key", default="sim-key", help="the API key the simulator accepts")
        parser.add_argument("--seed", type=int, default=0, help="same seed, same services and order fates")
        parser.add_argument("--services", type=int, default=20, help="how many services to list")
        parser.add_argument("--balance", default="1000", help="the simulator's own balance, charged by orders")
        parser.add_argument("--stage-seconds", type=float, default=5.0, help="how long an order stays in each stage")
        parser.add_argument("--latency-ms", type=float, default=0, help="delay before every answer")
        parser.add_argument("--fault-rate", type=float, default=0.0, help="share of requests answered with a fault")
        parser.add_argument("--verbose", action="store_true", help="log every request to stderr")

    def handle(self, *args, **options):
        if not 0 <= options["fault_rate"] <= 1:
            raise CommandError("--fault-rate must be between 0 and 1.")
        if options["services"] < 1:
            raise CommandError("--services must be at least 1.")
        provider = SimulatedProvider(
            dialect=options["dialect"],
            key=options["key"],
            seed=options["seed"],
            services=options["services"],
            balance=money_arg("--balance", options["balance"]),
            stage_seconds=options["stage_seconds"],
            latency_ms=options["latency_ms"],
            fault_rate=options["fault_rate"],
        )
        server = SimulatorServer(provider, host=options["host"], port=options["port"], verbose=options["verbose"])
        try:
            url = server.start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {error}") from None
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        self.stdout.write(
            f"Simulated provider (dialect {provider.dialect}, {len(provider.services)} services, "
            f"seed {provider.seed}, balance {provider.balance} {provider.currency})\n"
            f"URL: {url}\nKey: {provider.key}\nCtrl-C stops it."
        )
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
        self.stdout.write("Simulated provider stopped.")
