from tests.upstream import Upstream

__all__ = ["Upstream"]
