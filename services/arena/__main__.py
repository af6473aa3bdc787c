from megacity.runtime import main
from services.arena.main import build

main(build)
