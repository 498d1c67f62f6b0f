from libs.runtime import main
from services.participation.bootstrap import build, settings

main(build, settings())
