from libs.runtime import main
from services.community.bootstrap import build, settings

main(build, settings())
