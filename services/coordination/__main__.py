from libs.runtime import main
from services.coordination.bootstrap import build, settings

main(build, settings())
