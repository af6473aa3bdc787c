from megacity.runtime import main
from services.kzone.main import build

main(build)
