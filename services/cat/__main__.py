from megacity.runtime import main
from services.cat.main import build

main(build)
