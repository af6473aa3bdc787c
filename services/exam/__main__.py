from megacity.runtime import main
from services.exam.main import build

main(build)
