import sys

from megacity.runtime import ServiceRuntime, main
from services.inference.main import EXIT_FATAL, build, inference_state

built: list[ServiceRuntime] = []


def _build() -> ServiceRuntime:
    built.append(build(exit_on_fatal=True))
    return built[-1]


main(_build)
if built and inference_state(built[-1].app).fatal:
    sys.exit(EXIT_FATAL)  # a dead model engine: drained, now exit to be restarted
