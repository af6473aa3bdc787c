from megacity.runtime import main
from services.classroom.main import build

main(build)
