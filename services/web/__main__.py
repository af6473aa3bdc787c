from megacity.runtime import main
from services.web.main import build

main(build)
