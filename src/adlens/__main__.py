from adlens.cli import main

main()
