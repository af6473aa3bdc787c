from megacity.runtime import main
from services.tenant.main import build

main(build)
