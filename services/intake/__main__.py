from libs.runtime import main
from services.intake.bootstrap import build, settings

main(build, settings())
