from libs.runtime import main
from services.outreach.bootstrap import build, settings

main(build, settings())
