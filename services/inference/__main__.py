from megacity.runtime import main
from services.inference.main import build

main(build)
