from megacity.runtime import main
from services.auth.main import build

main(build)
