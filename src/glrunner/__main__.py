from glrunner.cli import main

main()
