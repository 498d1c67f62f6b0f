from libs.runtime import main
from services.directory.bootstrap import build, settings

main(build, settings())
